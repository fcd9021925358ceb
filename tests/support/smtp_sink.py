#!/usr/bin/python3
"""A local SMTP server for the email tests (Debian's python3-aiosmtpd):
STARTTLS required with a throwaway self-signed certificate, AUTH PLAIN
required (user `nod`, password `smtp-pw`) over TLS. Prints "listening
PORT", then one JSON line per message received."""

import json
import warnings
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        print(json.dumps({
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "auth": bool(session.authenticated),
            "data": envelope.original_content.decode("utf-8", "replace"),
        }), flush=True)
        return "250 OK queued"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"nod" and auth_data.password == b"smtp-pw"
    return AuthResult(success=ok, handled=False)


def main():
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # aiosmtpd 1.4 about itself
    tmp = tempfile.mkdtemp(prefix="nod-smtp-")
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=localhost"], check=True, capture_output=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=True,
                            authenticator=authenticator, auth_require_tls=True)
    controller.start()
    print(f"listening {port}", flush=True)
    try:
        while sys.stdin.read(1):
            pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
