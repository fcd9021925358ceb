"""The agent's REST calls (API.md A2, A6), tried against each server URL in
turn: one that cannot be reached or answers 503 passes the call on."""

import time
import uuid

import requests


class NodError(Exception):
    """A non-2xx answer (status), or none at all (status 0)."""

    def __init__(self, message, status=0, detail=None, retry_after=None, code=None):
        super().__init__(message)
        self.status = status
        self.detail = detail if detail is not None else message
        self.retry_after = retry_after
        self.code = code


def _error(method, url, res):
    try:
        detail = res.json().get("detail", res.text)
    except ValueError:
        detail = res.text
    try:
        retry_after = int(res.headers.get("Retry-After", ""))
    except ValueError:
        retry_after = None
    return NodError(f"{method} {url}: {res.status_code} {detail}", res.status_code, detail, retry_after)


class RestClient:
    def __init__(self, urls, agent_id, secret, timeout=30.0):
        if not urls:
            raise ValueError("at least one server URL is needed")
        self.urls = [u.rstrip("/") for u in urls]
        self.agent_id = agent_id
        self.secret = secret
        self.timeout = timeout
        self._current = 0

    def request(self, method, path, body=None, headers=None, wait=0):
        last = None
        for i in range(len(self.urls)):
            index = (self._current + i) % len(self.urls)
            url = self.urls[index] + path
            h = {"X-Nod-Agent-Id": self.agent_id, "X-Nod-Secret": self.secret}
            h.update(headers or {})
            try:
                res = requests.request(method, url, json=body, headers=h, timeout=self.timeout + wait,
                                       allow_redirects=False)
            except requests.RequestException as e:
                last = NodError(f"{method} {url}: {e}", code="unreachable")
                continue
            if res.status_code == 503:
                last = _error(method, url, res)
                continue
            self._current = index
            if not res.ok:
                raise _error(method, url, res)
            return res.json() if res.content else None
        raise last

    def send_event(self, event, idempotency_key=None):
        """Sends an A2 event. The Idempotency-Key (made here unless given)
        makes a retry after a lost answer safe."""
        key = idempotency_key or str(uuid.uuid4())
        return self.request("POST", "/api/agent/events", event, {"Idempotency-Key": key})

    def inbox(self, after=0, limit=100, wait=0):
        return self.request("GET", f"/api/agent/inbox?after={after}&limit={limit}&wait={wait}", wait=wait)

    def ack_inbox(self, seq):
        return self.request("POST", "/api/agent/inbox/ack", {"seq": seq})

    def decision(self, decision_id, wait=0):
        return self.request("GET", f"/api/agent/decisions/{decision_id}?wait={wait}", wait=wait)

    def wait_decision(self, decision_id, timeout=600.0):
        """The decision once it is no longer pending, or as it is when
        `timeout` seconds have passed. Each long poll is a new request, so
        a server restart or a failover in between does not matter."""
        deadline = time.monotonic() + timeout
        backoff = 0.5
        while True:
            left = deadline - time.monotonic()
            try:
                d = self.decision(decision_id, wait=max(0, min(60, int(left))))
                backoff = 0.5
                if d.get("status") != "pending" or time.monotonic() >= deadline:
                    return d
            except NodError as e:
                if e.status not in (0, 429) and e.status < 500:
                    raise
                if time.monotonic() + backoff >= deadline:
                    raise
                time.sleep(e.retry_after or backoff)
                backoff = min(backoff * 2, 10)
