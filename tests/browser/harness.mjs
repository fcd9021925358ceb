// What the browser tests stand on: the real nod-server on a fresh data
// directory and a free port (as tests/e2e/server_fixture.hpp does in
// C++), the app API as admin, a test agent on a real WebSocket (API.md
// A3), and pages in headless Chromium that fail on any console error,
// CSP violation or uncaught exception.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir, constants } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

let chromium;
let WebSocket;
try {
  ({ chromium } = await import('playwright-core'));
  ({ default: WebSocket } = await import('ws'));
} catch (err) {
  throw new Error(`tests/browser needs its npm packages: run "npm ci" in tests/browser (scripts/test.sh does). ${err.message}`);
}

export const ADMIN_PASSWORD = 'admin-Pw-0123456789';
const WAIT_MS = 10000;

/** Resolves when `fn()` returns a truthy value; retries every 50 ms. */
export async function eventually(fn, { timeout = WAIT_MS, what = 'a condition' } = {}) {
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
    await new Promise((r) => setTimeout(r, 50));
  }
}

// -- the server ----------------------------------------------------------------

/** Starts NOD_SERVER_BINARY with `env` added; resolves to {base, stop, restart, output, dataDir}. */
export async function startServer(env = {}) {
  const binary = process.env.NOD_SERVER_BINARY;
  if (!binary) throw new Error('NOD_SERVER_BINARY is not set (CTest sets it to the built nod-server)');
  const dir = mkdtempSync(join(tmpdir(), 'nod-browser-'));
  const dataDir = join(dir, 'data');
  let run = await launch(binary, { NOD_DATA_DIR: dataDir, ...env }).catch((err) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  const server = {
    base: run.base,
    dataDir,
    output: () => run.output(),
    /** SIGTERM; resolves to the exit code. */
    async stop() {
      const code = await run.stop();
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
    /** SIGTERM, then a new server on the same data directory (a new port). */
    async restart() {
      const code = await run.stop();
      if (code !== 0) throw new Error(`nod-server exited with ${code} on SIGTERM:\n${run.output()}`);
      run = await launch(binary, { NOD_DATA_DIR: dataDir, ...env });
      server.base = run.base;
    },
  };
  return server;
}

async function launch(binary, env) {
  const child = spawn(binary, [], {
    env: {
      ...process.env,
      NOD_LISTEN: '127.0.0.1:0',
      NOD_ADMIN_PASSWORD: ADMIN_PASSWORD,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? 128 + (constants.signals[signal] || 0))));
  // Never leave a server behind, whatever happens to the tests.
  const kill = () => child.kill('SIGKILL');
  process.on('exit', kill);
  exited.then(() => process.off('exit', kill));
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nod-server did not say where it listens:\n${output}`)), 20000);
    const onData = (chunk) => {
      output += chunk;
      const m = /listening on (http:\/\/[^\s]+:\d+)/.exec(output);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    exited.then((code) => { clearTimeout(timer); reject(new Error(`nod-server exited with ${code}:\n${output}`)); });
  }).catch((err) => {
    kill();
    throw err;
  });
  return {
    base,
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      let timer;
      const code = await Promise.race([exited, new Promise((r) => { timer = setTimeout(() => r('timeout'), 20000); })]);
      clearTimeout(timer);
      if (code === 'timeout') kill();
      return code;
    },
  };
}

/** A local port that nothing listens on (for a failing webhook). */
export async function closedPort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** The app API as one user: api(method, path, body) → parsed JSON. */
export async function appClient(base, password = ADMIN_PASSWORD) {
  const call = async (method, path, body, token) => {
    const res = await fetch(base + path, {
      method,
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  const { token } = await call('POST', '/api/auth/login', { username: 'admin', password });
  return (method, path, body) => call(method, path, body, token);
}

// -- a test agent ----------------------------------------------------------------

/** An agent's WebSocket (API.md A3): send events, see what it is sent. */
export class TestAgent {
  static async connect(base, id, secret, auth = {}) {
    const agent = new TestAgent(new WebSocket(`${base.replace(/^http/, 'ws')}/ws/agent/${id}`));
    await new Promise((resolve, reject) => {
      agent.ws.once('open', resolve);
      agent.ws.once('error', reject);
    });
    agent.ws.send(JSON.stringify({ type: 'auth', agent_id: id, secret, ...auth }));
    agent.authOk = await agent.next((f) => f.type === 'auth_ok' || f.type === 'error');
    if (agent.authOk.type !== 'auth_ok') throw new Error(`agent auth failed: ${JSON.stringify(agent.authOk)}`);
    return agent;
  }

  constructor(ws) {
    this.ws = ws;
    this.frames = [];
    this.waiters = new Set();
    this.requests = 0;
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
    ws.on('message', (data) => {
      let frame;
      try { frame = JSON.parse(String(data)); } catch { return; }
      this.frames.push(frame);
      for (const w of [...this.waiters]) if (w.pick(frame)) { this.waiters.delete(w); w.resolve(frame); }
    });
  }

  /** The first frame, received or to come, that `pick` accepts. */
  next(pick, timeout = WAIT_MS) {
    const seen = this.frames.find(pick);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`the agent got no matching frame in ${timeout} ms; it got: ${JSON.stringify(this.frames)}`));
      }, timeout);
      const w = { pick, resolve: (frame) => { clearTimeout(timer); resolve(frame); } };
      this.waiters.add(w);
    });
  }

  /** Sends an A2 event as a frame; resolves to its `result` frame. */
  async send(event) {
    const request_id = String(++this.requests);
    this.ws.send(JSON.stringify({ ...event, request_id }));
    const reply = await this.next((f) => f.request_id === request_id && (f.type === 'result' || f.type === 'error'));
    if (reply.type !== 'result') throw new Error(`${event.type}: ${JSON.stringify(reply)}`);
    return reply;
  }

  async close() {
    this.ws.close(1000);
    return this.closed;
  }
}

// -- the browser ------------------------------------------------------------------

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.NOD_CHROMIUM || '/usr/bin/chromium',
    // The tests run as root, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

// Resources that are expected to fail and that Chromium reports as console
// errors: /api/me before sign-in and a wrong password both answer 401.
const EXPECTED = [/Failed to load resource: the server responded with a status of 401/];

/**
 * Runs `fn(page)` in a fresh browser context (no cookies) of `viewport`,
 * then fails on any console error (CSP violations included) or uncaught
 * page error that happened meanwhile.
 */
export async function withPage(browser, viewport, fn) {
  const context = await browser.newContext({
    viewport: { width: viewport.width, height: viewport.height },
    isMobile: !!viewport.mobile,
    hasTouch: !!viewport.mobile,
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  context.setDefaultTimeout(WAIT_MS);
  // Report every CSP violation, whether or not Chromium logs it.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}`);
    });
  });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if (!EXPECTED.some((re) => re.test(text))) problems.push(`console error: ${text}`);
  });
  page.on('pageerror', (err) => problems.push(`uncaught page error: ${err.message}`));
  try {
    await fn(page);
  } finally {
    await context.close();
  }
  if (problems.length) throw new Error(`the page reported problems:\n${problems.join('\n')}`);
}
