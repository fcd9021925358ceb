"""Checks that a webhook request came from Nod server (API.md A7): the
Standard Webhooks signature or Nod's X-Nod-Signature, HMAC-SHA256 keyed
with the bytes of the agent's whsec_ secret over the raw body, and a
timestamp close to now (a captured request cannot be replayed later)."""

import base64
import binascii
import hashlib
import hmac
import json
import re
import time


class WebhookVerificationError(Exception):
    pass


def _header(headers, name):
    getter = getattr(headers, "get", None)
    for key in headers.keys():
        if key.lower() == name:
            value = headers[key] if getter is None else getter(key)
            return value[0] if isinstance(value, (list, tuple)) else value
    return None


def _key(secret):
    encoded = secret[len("whsec_"):] if secret.startswith("whsec_") else secret
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        key = b""
    if not key:
        raise WebhookVerificationError("the webhook secret is empty or not base64")
    return key


def _check_timestamp(value, tolerance, now):
    if not re.fullmatch(r"\d{1,12}", value or ""):
        raise WebhookVerificationError("the timestamp is not Unix seconds")
    if abs(now - int(value)) > tolerance:
        raise WebhookVerificationError(f"the timestamp is more than {tolerance} s from now (a replay?)")


def verify_webhook(headers, raw_body, secret, tolerance=300, now=None):
    """Verifies one webhook request and returns its event (parsed JSON).
    `headers`: any mapping (Flask's request.headers, a dict, ...);
    `raw_body`: the bytes exactly as received. Raises
    WebhookVerificationError when a signature is missing or wrong or the
    timestamp is more than `tolerance` seconds away."""
    body = raw_body.encode() if isinstance(raw_body, str) else bytes(raw_body)
    key = _key(secret)
    now = time.time() if now is None else now
    standard = _header(headers, "webhook-signature")
    if standard is not None:
        msg_id = _header(headers, "webhook-id")
        timestamp = _header(headers, "webhook-timestamp")
        if not msg_id or not timestamp:
            raise WebhookVerificationError("webhook-id and webhook-timestamp are required")
        _check_timestamp(timestamp, tolerance, now)
        expected = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
        ok = False
        for part in standard.split(" "):
            if part.startswith("v1,"):
                try:
                    ok |= hmac.compare_digest(base64.b64decode(part[3:]), expected)
                except binascii.Error:
                    pass
        if not ok:
            raise WebhookVerificationError("webhook-signature does not match the body")
    else:
        signature = _header(headers, "x-nod-signature")
        timestamp = _header(headers, "x-nod-timestamp")
        if not signature or not timestamp:
            raise WebhookVerificationError("no signature: neither webhook-signature nor X-Nod-Signature is present")
        _check_timestamp(timestamp, tolerance, now)
        expected = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        given = signature[len("sha256="):] if signature.startswith("sha256=") else ""
        if not hmac.compare_digest(given.lower().encode(), expected.encode()):
            raise WebhookVerificationError("X-Nod-Signature does not match the body")
    try:
        return json.loads(body)
    except ValueError:
        raise WebhookVerificationError("the body is not JSON") from None
