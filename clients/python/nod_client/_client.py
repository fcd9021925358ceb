"""An agent's connection to Nod server (API.md A3, A6), as in the
TypeScript client: a WebSocket with acks and resume, or REST long polls;
each event handed to one handler in seq order and acknowledged only once
the handler has returned; the last handled seq kept in a state file so a
restarted agent neither repeats nor skips an event."""

import asyncio
import inspect
import json
import logging
import random
import re
import time
import uuid

import websockets

from ._config import read_last_seq, write_last_seq
from ._rest import NodError, RestClient

log = logging.getLogger("nod_client")

# Close codes after which reconnecting cannot help (docs/agent-api.md).
FATAL_CLOSE = {
    4001: "the server refused the auth frame",
    4003: "wrong agent secret (rotated?)",
    4004: "unknown agent (deleted?)",
}


class AsyncAgentClient:
    """
    client = AsyncAgentClient("http://127.0.0.1:8000", agent_id, secret,
                              on_event=handle, state_file="nod-state.json")
    await client.start()          # first auth_ok; NodError on wrong credentials
    await client.send({"type": "message", "text": "hi"})
    await client.stop()

    `on_event(event)` may be a function or a coroutine function.
    """

    def __init__(self, url=None, agent_id=None, secret=None, *, urls=None, on_event=None, acks=True,
                 state_file=None, transport="websocket", ping_interval=20.0, request_timeout=30.0,
                 backoff_initial=0.25, backoff_max=30.0, poll_wait=30):
        urls = urls or ([url] if url else [])
        self.rest = RestClient(urls, agent_id, secret)
        self.urls = self.rest.urls
        self.agent_id = agent_id
        self.secret = secret
        self.on_event = on_event or (lambda event: None)
        self.acks = acks
        self.state_file = state_file
        self.transport = transport
        self.ping_interval = ping_interval
        self.request_timeout = request_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.poll_wait = poll_wait
        self.last_seq = read_last_seq(state_file)
        self.connected = False
        self._ws = None
        self._pending = {}  # request_id -> future
        self._queue = None
        self._tasks = []
        self._ready = None
        self._stopping = False
        self._handling = False
        self._handler_task = None
        self._url_index = 0

    # -- life --------------------------------------------------------------------

    async def start(self):
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self._queue = asyncio.Queue()
        run = self._poll_loop() if self.transport == "poll" else self._socket_loop()
        self._tasks = [asyncio.ensure_future(run)]
        if self.transport == "poll":
            self._handler_task = self._tasks[0]  # the poll loop hands events over itself
        else:
            self._handler_task = asyncio.ensure_future(self._handle_loop())
            self._tasks.append(self._handler_task)
        await self._ready

    async def stop(self):
        """Closes the socket (1000) or ends the polls, after the handler
        has finished the event it is on."""
        self._stopping = True
        if self._ws is not None:
            await self._ws.close(1000)
        for task in self._tasks:
            # A handler in the middle of an event finishes it (its loop ends then).
            if task is not self._handler_task or not self._handling:
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._fail_pending(NodError("the client stopped", code="stopped"))

    async def send(self, event):
        """Sends an A2 event; returns the server's reply. Over the socket
        while it is up, else over REST with an Idempotency-Key. A socket
        that drops before the reply raises NodError(code='disconnected'):
        the event may or may not have been stored."""
        ws = self._ws
        if not (self.connected and ws is not None):
            return await asyncio.to_thread(self.rest.send_event, event)
        request_id = str(uuid.uuid4())
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await ws.send(json.dumps({**event, "request_id": request_id}))
            return await asyncio.wait_for(future, self.request_timeout)
        except websockets.ConnectionClosed:
            raise NodError("the socket closed before the reply", code="disconnected") from None
        except asyncio.TimeoutError:
            raise NodError(f"no reply in {self.request_timeout} s", code="timeout") from None
        finally:
            self._pending.pop(request_id, None)

    async def ask(self, decision, timeout=600.0):
        """Posts a decision and waits for the person; returns the decision
        (status still 'pending' when `timeout` seconds passed)."""
        reply = await self.send({"type": "decision", **decision})
        return await asyncio.to_thread(self.rest.wait_decision, reply["decision_id"], timeout)

    # -- the socket --------------------------------------------------------------

    async def _socket_loop(self):
        attempt = 0
        while not self._stopping:
            base = self.urls[self._url_index % len(self.urls)]
            authed, code, reason = await self._run_socket(base)
            if self._stopping:
                return
            if code in FATAL_CLOSE:
                self._fatal(NodError(f"{base}: {FATAL_CLOSE[code]} (close {code})", code="auth"))
                return
            if authed:
                attempt = 0
            else:
                self._url_index += 1
            ceiling = min(self.backoff_max, self.backoff_initial * 2 ** attempt)
            delay = random.uniform(0, ceiling)  # full jitter
            m = re.search(r"try again in (\d+) s", reason or "")
            if code == 1013 and m:
                delay = int(m.group(1))
            attempt = min(attempt + 1, 30)
            await asyncio.sleep(delay)

    async def _run_socket(self, base):
        uri = re.sub(r"^http", "ws", base) + f"/ws/agent/{self.agent_id}"
        authed = False
        try:
            async with websockets.connect(uri, max_size=8 << 20, open_timeout=self.request_timeout,
                                          ping_interval=self.ping_interval,
                                          ping_timeout=self.ping_interval) as ws:
                self._ws = ws
                auth = {"type": "auth", "agent_id": self.agent_id, "secret": self.secret, "acks": self.acks}
                if self.last_seq > 0:
                    auth["resume_from"] = self.last_seq
                await ws.send(json.dumps(auth))
                async for data in ws:
                    if isinstance(data, bytes):
                        continue
                    try:
                        frame = json.loads(data)
                    except ValueError:
                        continue
                    kind = frame.get("type")
                    if kind == "auth_ok":
                        authed = True
                        self.connected = True
                        if not self._ready.done():
                            self._ready.set_result(frame)
                        continue
                    request_id = frame.get("request_id")
                    future = self._pending.get(str(request_id)) if request_id is not None else None
                    if future is not None and kind in ("result", "error"):
                        if future.done():
                            continue
                        if kind == "result":
                            future.set_result({k: v for k, v in frame.items() if k not in ("type", "request_id")})
                        else:
                            future.set_exception(NodError(frame.get("detail", ""), 400, frame.get("detail")))
                        continue
                    if isinstance(frame.get("seq"), int) and frame.get("event_id"):
                        self._queue.put_nowait((frame, ws))
            return authed, ws.close_code, ws.close_reason
        except websockets.ConnectionClosed as e:
            return authed, e.rcvd.code if e.rcvd else None, e.rcvd.reason if e.rcvd else ""
        except (OSError, asyncio.TimeoutError, websockets.InvalidHandshake) as e:
            log.debug("nod: cannot connect to %s: %s", uri, e)
            return authed, None, ""
        finally:
            self._ws = None
            self.connected = False
            self._fail_pending(NodError("the socket closed before the reply", code="disconnected"))

    async def _handle_loop(self):
        while not self._stopping:
            event, ws = await self._queue.get()
            await self._handle(event)
            # Cumulative acks: one for a run of events handled back to back.
            if self.acks and (self._queue.empty() or event["seq"] % 100 == 0):
                try:
                    await ws.send(json.dumps({"type": "ack", "seq": self.last_seq}))
                except websockets.ConnectionClosed:
                    pass  # resume_from on the next auth confirms it

    # -- polling -----------------------------------------------------------------

    async def _poll_loop(self):
        backoff = self.backoff_initial
        first = True
        while not self._stopping:
            try:
                wait = 0 if first else self.poll_wait
                events = await asyncio.to_thread(self.rest.inbox, self.last_seq, 100, wait)
                if first:
                    first = False
                    self.connected = True
                    self._ready.set_result({"type": "poll", "pending": len(events)})
                backoff = self.backoff_initial
                for event in events:
                    if self._stopping:
                        break
                    await self._handle(event)
                if events:
                    await asyncio.to_thread(self.rest.ack_inbox, self.last_seq)
            except NodError as e:
                if e.status in (401, 403):
                    self._fatal(e)
                    return
                await asyncio.sleep(e.retry_after or random.uniform(0, backoff))
                backoff = min(backoff * 2, self.backoff_max)

    # -- events ------------------------------------------------------------------

    async def _handle(self, event):
        if event["seq"] <= self.last_seq:
            return  # replayed: already handled
        self._handling = True
        try:
            result = self.on_event(event)
            if inspect.isawaitable(result):
                await result
        except Exception:  # the event counts as handled: later acks would confirm it anyway
            log.exception("nod: the handler failed on %s seq %s", event.get("type"), event["seq"])
        finally:
            self._handling = False
        self.last_seq = event["seq"]
        if self.state_file:
            write_last_seq(self.state_file, self.agent_id, self.last_seq)

    def _fail_pending(self, error):
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)

    def _fatal(self, error):
        self._stopping = True
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(error)
        else:
            log.error("nod: %s", error)


class AgentClient:
    """The synchronous side, over REST: send events, ask and wait, and
    iterate over events (long polls; an event is acknowledged when the loop
    asks for the next one, so one that was being handled when the process
    died comes again).

        client = AgentClient("http://127.0.0.1:8000", agent_id, secret, state_file="state.json")
        for event in client.events():
            client.send({"type": "message", "text": "got " + event["type"]})
    """

    def __init__(self, url=None, agent_id=None, secret=None, *, urls=None, state_file=None):
        self.rest = RestClient(urls or [url], agent_id, secret)
        self.agent_id = agent_id
        self.state_file = state_file
        self.last_seq = read_last_seq(state_file)

    def send(self, event, idempotency_key=None):
        return self.rest.send_event(event, idempotency_key)

    def ask(self, decision, timeout=600.0):
        reply = self.send({"type": "decision", **decision})
        return self.rest.wait_decision(reply["decision_id"], timeout)

    def events(self, wait=30, stop_after=None):
        """Yields events in seq order until `stop_after` seconds pass
        (forever by default)."""
        deadline = None if stop_after is None else time.monotonic() + stop_after
        backoff = 0.25
        while deadline is None or time.monotonic() < deadline:
            left = wait if deadline is None else max(0, min(wait, int(deadline - time.monotonic())))
            try:
                batch = self.rest.inbox(self.last_seq, 100, left)
            except NodError as e:
                if e.status in (401, 403):
                    raise
                time.sleep(e.retry_after or random.uniform(0, backoff))
                backoff = min(backoff * 2, 30)
                continue
            backoff = 0.25
            for event in batch:
                if event["seq"] <= self.last_seq:
                    continue
                yield event
                self.last_seq = event["seq"]
                if self.state_file:
                    write_last_seq(self.state_file, self.agent_id, self.last_seq)
            if batch:
                self.rest.ack_inbox(self.last_seq)
