"""nod_client against the real nod-server (NOD_SERVER_BINARY, set by CTest)."""

import asyncio
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import requests

from nod_client import (AgentClient, AsyncAgentClient, NodError, WebhookVerificationError, ask_human,
                        verify_webhook)

ADMIN_PASSWORD = "admin-Pw-0123456789"
server = {}


def setUpModule():
    binary = os.environ.get("NOD_SERVER_BINARY")
    if not binary:
        raise unittest.SkipTest("NOD_SERVER_BINARY is not set (CTest sets it)")
    server["dir"] = tempfile.mkdtemp(prefix="nod-py-")
    env = dict(os.environ, NOD_LISTEN="127.0.0.1:0", NOD_DATA_DIR=os.path.join(server["dir"], "data"),
               NOD_ADMIN_PASSWORD=ADMIN_PASSWORD, NOD_WEBHOOK_ALLOWED_HOSTS="loopback")
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    server["proc"] = proc
    output = ""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        output += line
        m = re.search(r"listening on (http://\S+:\d+)", line)
        if m:
            server["base"] = m.group(1)
            break
        if not line and proc.poll() is not None:
            break
    if "base" not in server:
        proc.kill()
        raise RuntimeError("nod-server did not start:\n" + output)
    # Keep draining its log so that it never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    token = requests.post(server["base"] + "/api/auth/login",
                          json={"username": "admin", "password": ADMIN_PASSWORD}).json()["token"]
    server["auth"] = {"Authorization": "Bearer " + token}


def tearDownModule():
    proc = server.get("proc")
    if proc:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
        proc.stdout.close()
    shutil.rmtree(server.get("dir", ""), ignore_errors=True)


def person(method, path, body=None):
    res = requests.request(method, server["base"] + path, json=body, headers=server["auth"])
    res.raise_for_status()
    return res.json() if res.content else None


def new_agent(**fields):
    a = person("POST", "/api/agents", {"name": "py agent", **fields})
    return a["agent_id"], a["secret"], a["webhook_secret"]


def eventually(fn, timeout=10.0, what="a condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)


def pending_decision(agent_id):
    return eventually(lambda: (person("GET", f"/api/decisions?status=pending&agent_id={agent_id}") or [None])[0],
                      what="a pending decision")


def burst(agent_id, count):
    for i in range(1, count + 1):
        person("POST", f"/api/agents/{agent_id}/messages", {"text": f"m{i}"})


class AsyncClientTest(unittest.IsolatedAsyncioTestCase):
    async def test_socket_drops_and_a_restart_during_a_burst_lose_and_repeat_nothing(self):
        agent_id, secret, _ = new_agent()
        state = os.path.join(server["dir"], f"state-{agent_id}.json")
        seen = []

        async def handle(event):
            seen.append(event)
            await asyncio.sleep(0.008 if event["seq"] % 7 == 0 else 0.001)  # slower than the person

        async def wait_for(n):
            deadline = time.monotonic() + 20
            while len(seen) < n:
                if time.monotonic() > deadline:
                    got = {e["seq"] for e in seen}
                    missing = sorted(set(range(1, n + 1)) - got)[:10]
                    records = person("GET", f"/api/agents/{agent_id}/deliveries?limit=200")
                    states = [r for r in records if r["seq"] in missing]
                    self.fail(f"only {len(seen)} of {n} events; missing {missing}; on the server: {states}")
                await asyncio.sleep(0.01)

        def make():
            return AsyncAgentClient(server["base"], agent_id, secret, on_event=handle, state_file=state,
                                    backoff_initial=0.02)

        client = make()
        await client.start()
        sending = asyncio.ensure_future(asyncio.to_thread(burst, agent_id, 200))
        await wait_for(30)
        client._ws.transport.abort()  # the network drops the socket
        await wait_for(90)
        client._ws.transport.abort()
        await wait_for(130)
        await client.stop()  # the agent restarts with the same state file
        client = make()
        await client.start()
        await sending
        await wait_for(200)
        await asyncio.sleep(0.3)
        await client.stop()
        self.assertEqual([e["text"] for e in seen], [f"m{i}" for i in range(1, 201)])
        self.assertEqual([e["seq"] for e in seen], list(range(1, 201)))

    async def test_poll_transport_send_and_ask(self):
        agent_id, secret, _ = new_agent()
        seen = []
        await asyncio.to_thread(burst, agent_id, 5)
        client = AsyncAgentClient(server["base"], agent_id, secret, transport="poll", poll_wait=1,
                                  on_event=seen.append)
        await client.start()
        reply = await client.send({"type": "message", "text": "over REST"})
        self.assertTrue(reply["message_id"].startswith("msg_"))
        asking = asyncio.ensure_future(client.ask({"kind": "approval", "title": "Ship it?"}, timeout=20))
        card = await asyncio.to_thread(pending_decision, agent_id)
        await asyncio.to_thread(person, "POST", f"/api/decisions/{card['id']}/resolve", {"status": "approved"})
        self.assertEqual((await asking)["status"], "approved")
        deadline = time.monotonic() + 10
        while len(seen) < 6:  # five messages, then the resolution
            self.assertLess(time.monotonic(), deadline)
            await asyncio.sleep(0.02)
        await client.stop()
        self.assertEqual([e["type"] for e in seen], ["user_message"] * 5 + ["decision_resolved"])

    async def test_socket_send_errors_and_wrong_secret(self):
        agent_id, secret, _ = new_agent()
        client = AsyncAgentClient(server["base"], agent_id, secret)
        await client.start()
        reply = await client.send({"type": "message", "text": "over the socket"})
        self.assertTrue(reply["message_id"].startswith("msg_"))
        with self.assertRaises(NodError) as e:
            await client.send({"type": "message"})
        self.assertIn("text", e.exception.detail)
        await client.stop()
        wrong = AsyncAgentClient(server["base"], agent_id, "nod_" + "0" * 40)
        with self.assertRaisesRegex(NodError, "wrong agent secret"):
            await wrong.start()


class SyncClientTest(unittest.TestCase):
    def test_events_loop_and_state_file(self):
        agent_id, secret, _ = new_agent()
        state = os.path.join(server["dir"], f"sync-{agent_id}.json")
        burst(agent_id, 3)
        client = AgentClient(server["base"], agent_id, secret, state_file=state)
        got = [e["text"] for e in client.events(wait=1, stop_after=2)]
        self.assertEqual(got, ["m1", "m2", "m3"])
        burst(agent_id, 1)
        again = AgentClient(server["base"], agent_id, secret, state_file=state)
        self.assertEqual([e["seq"] for e in again.events(wait=1, stop_after=2)], [4])

    def test_ask_human_returns_the_answer(self):
        agent_id, secret, _ = new_agent()

        def answer():
            card = pending_decision(agent_id)
            self.assertEqual(card["kind"], "choice")
            person("POST", f"/api/decisions/{card['id']}/resolve", {"status": "responded", "note": "blue"})

        t = threading.Thread(target=answer)
        t.start()
        result = ask_human("Which colour?", options=["red", "blue"], timeout=20,
                           url=server["base"], agent_id=agent_id, secret=secret)
        t.join()
        self.assertEqual(result, "blue")
        self.assertIn("No answer", ask_human("Anyone?", timeout=1, url=server["base"], agent_id=agent_id,
                                             secret=secret))
        self.assertIn("Could not reach", ask_human("Down?", url="http://127.0.0.1:1", agent_id=agent_id,
                                                   secret=secret))


class ExampleTest(unittest.TestCase):
    def test_the_example_agent_answers_and_asks_before_deploying(self):
        agent_id, secret, _ = new_agent()
        root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
        env = dict(os.environ, NOD_URL=server["base"], NOD_AGENT_ID=agent_id, NOD_AGENT_SECRET=secret,
                   NOD_STATE_FILE=os.path.join(server["dir"], f"example-{agent_id}.json"),
                   PYTHONPATH=os.path.join(root, "clients", "python"))
        proc = subprocess.Popen(["/usr/bin/python3", "-u", os.path.join(root, "examples", "python_agent.py")],
                                env=env, stdout=subprocess.PIPE, text=True)
        try:
            self.assertIn("connected", proc.stdout.readline())
            conv = f"/api/conversations/conv_{agent_id[4:]}/messages"
            person("POST", f"/api/agents/{agent_id}/messages", {"text": "hello"})
            eventually(lambda: any(m["text"] == "You said: hello" for m in person("GET", conv)),
                       what="the echo")
            person("POST", f"/api/agents/{agent_id}/messages", {"text": "deploy v2"})
            card = pending_decision(agent_id)
            self.assertEqual(card["title"], "Go ahead: deploy v2?")
            person("POST", f"/api/decisions/{card['id']}/resolve", {"status": "approved"})
            eventually(lambda: any(m["text"] == "Deploying, as approved." for m in person("GET", conv)),
                       what="the deploy reply")
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(10), 0)
            proc.stdout.close()


class WebhookTest(unittest.TestCase):
    def test_real_webhooks_verify_and_altered_or_stale_ones_do_not(self):
        received = []

        class Receiver(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            agent_id, _, whsec = new_agent(webhook_url=f"http://127.0.0.1:{httpd.server_port}/hook")
            person("POST", f"/api/agents/{agent_id}/messages", {"text": "by webhook"})
            headers, body = eventually(lambda: received and received[0], what="a webhook")
            event = verify_webhook(headers, body, whsec)
            self.assertEqual(event["text"], "by webhook")
            nod_only = {k: v for k, v in headers.items() if k.lower() != "webhook-signature"}
            self.assertEqual(verify_webhook(nod_only, body, whsec)["event_id"], event["event_id"])
            altered = body.replace(b"by webhook", b"by webhooK")
            with self.assertRaises(WebhookVerificationError):
                verify_webhook(headers, altered, whsec)
            with self.assertRaisesRegex(WebhookVerificationError, "X-Nod-Signature does not match"):
                verify_webhook(nod_only, altered, whsec)
            later = int(headers["webhook-timestamp"]) + 600
            with self.assertRaisesRegex(WebhookVerificationError, "replay"):
                verify_webhook(headers, body, whsec, now=later)
            with self.assertRaisesRegex(WebhookVerificationError, "no signature"):
                verify_webhook({"Content-Type": "application/json"}, body, whsec)
            self.assertEqual(json.loads(body)["seq"], event["seq"])
        finally:
            httpd.shutdown()


if __name__ == "__main__":
    unittest.main()
