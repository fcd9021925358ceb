#!/usr/bin/env python3
"""Memory under a flood of request bodies (issue #17, part 4).

Starts nod-server (the binary given) on a fresh data directory, logs in,
then opens 60 connections that each POST a 6 MiB body to /api/agents with a
valid session and sends as much of it as the socket takes, and prints the
server's RSS before and after and what the connections were answered so far
(bodies over max-body-memory get 503 before they are read).

    /usr/bin/python3 bench/body_flood.py build/app/nod-server
"""
import json, os, socket, subprocess, sys, time, re, urllib.request
binary = sys.argv[1]
data = "/tmp/nod-body-flood"; subprocess.run(["rm", "-rf", data])
env = dict(os.environ, NOD_LISTEN="127.0.0.1:0", NOD_DATA_DIR=data, NOD_ADMIN_PASSWORD="admin-Pw-0123456789", NOD_LOG_LEVEL="info")
p = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
port = None
for line in p.stdout:
    m = re.search(r"listening on https?://[^:]+:(\d+)", line)
    if m: port = int(m.group(1)); break
def rss():
    for l in open(f"/proc/{p.pid}/status"):
        if l.startswith("VmRSS"): return int(l.split()[1]) // 1024
req = urllib.request.Request(f"http://127.0.0.1:{port}/api/auth/login", data=json.dumps({"username":"admin","password":"admin-Pw-0123456789"}).encode(), headers={"Content-Type":"application/json"})
token = json.load(urllib.request.urlopen(req))["token"]
time.sleep(0.5)
base = rss()
size = 6 * 1024 * 1024 - 1
socks, statuses = [], {}
chunk = b"x" * 65536
for i in range(60):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall((f"POST /api/agents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n").encode())
    socks.append(s)
time.sleep(0.5)
for s in socks:
    s.setblocking(False)
    sent = 0
    try:
        while sent < size - 1024:
            sent += s.send(chunk)
    except (BlockingIOError, BrokenPipeError, ConnectionResetError):
        pass
time.sleep(2)
peak = rss()
for s in socks:
    try:
        d = s.recv(100)
        st = d.split(b" ")[1].decode() if d else "none"
    except Exception:
        st = "pending"
    statuses[st] = statuses.get(st, 0) + 1
print(f"RSS before {base} MiB, with 60 connections each sending a 6 MiB body: {peak} MiB; answers so far: {statuses}")
p.terminate(); p.wait()
