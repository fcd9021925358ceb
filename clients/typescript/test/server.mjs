// The real nod-server for the client tests: NOD_SERVER_BINARY (CTest sets
// it) on a fresh data directory and a free port, and the person's side of
// the API as admin.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ADMIN_PASSWORD = 'admin-Pw-0123456789';

export async function eventually(fn, { timeout = 10000, what = 'a condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Starts the server; resolves to {base, dir, stop(), person(method, path, body)}. */
export async function startServer(env = {}) {
  const binary = process.env.NOD_SERVER_BINARY;
  if (!binary) throw new Error('NOD_SERVER_BINARY is not set (CTest sets it to the built nod-server)');
  const dir = mkdtempSync(join(tmpdir(), 'nod-client-'));
  const child = spawn(binary, [], {
    env: { ...process.env, NOD_LISTEN: '127.0.0.1:0', NOD_DATA_DIR: join(dir, 'data'), NOD_ADMIN_PASSWORD: ADMIN_PASSWORD, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const kill = () => child.kill('SIGKILL');
  process.on('exit', kill);
  const exited = new Promise((r) => child.on('exit', r));
  let output = '';
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nod-server did not start:\n${output}`)), 20000);
    const onData = (chunk) => {
      output += chunk;
      const m = /listening on (http:\/\/[^\s]+:\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    exited.then((code) => reject(new Error(`nod-server exited with ${code}:\n${output}`)));
  });
  const login = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  });
  const { token } = await login.json();
  const person = async (method, path, body) => {
    const res = await fetch(base + path, {
      method,
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  return {
    base,
    dir,
    person,
    /** A new agent: {id, secret, webhookSecret}. */
    async agent(fields = {}) {
      const a = await person('POST', '/api/agents', { name: 'test agent', ...fields });
      return { id: a.agent_id, secret: a.secret, webhookSecret: a.webhook_secret };
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
      process.off('exit', kill);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A local webhook receiver that answers 200 and keeps every request:
 * {url, received: [{headers, body}], close()}.
 */
export async function webhookReceiver() {
  const received = [];
  const http = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200).end();
    });
  });
  await new Promise((r) => http.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${http.address().port}/hook`, received, close: () => http.close() };
}

/** The pending decision of `agentId` that `pick` accepts, once it exists. */
export function pendingDecision(server, agentId, pick = () => true) {
  return eventually(
    async () => (await server.person('GET', `/api/decisions?status=pending&agent_id=${agentId}`)).find(pick),
    { what: 'a pending decision' },
  );
}

/** Messages of the agent's default conversation, oldest first. */
export async function messages(server, agentId) {
  const list = await server.person('GET', `/api/conversations/conv_${agentId.slice(4)}/messages?limit=200`);
  return list.reverse();
}
