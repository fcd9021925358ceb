// @ts-check
// An agent's connection to Nod server (API.md A3, A6): a WebSocket with
// acks and resume, or a long-poll loop over REST, handing each event to
// one handler in `seq` order and acknowledging it only once the handler
// has returned. The last handled seq is kept in a small state file, so a
// restarted agent resumes where it stopped: nothing handled twice, nothing
// skipped.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { readJson, writeJsonAtomic } from './config.js';
import { NodError, RestClient } from './rest.js';

// Close codes after which reconnecting cannot help (docs/agent-api.md).
const FATAL_CLOSE = new Map([
  [4001, 'the server refused the auth frame'],
  [4003, 'wrong agent secret (rotated?)'],
  [4004, 'unknown agent (deleted?)'],
]);

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });

/**
 * Events: `connected` (the auth_ok frame), `disconnected` ({code, reason}),
 * `event` (each new event, before the handler), `error` (a fatal error:
 * wrong credentials; the client stops), `handlerError` (event, error).
 */
export class AgentClient extends EventEmitter {
  /**
   * @param {import('../types/index').AgentClientOptions} options
   */
  constructor(options) {
    super();
    const urls = options.urls ?? (options.url ? [options.url] : []);
    this.rest = new RestClient({ urls, agentId: options.agentId, secret: options.secret });
    this.urls = this.rest.urls;
    this.agentId = options.agentId;
    this.secret = options.secret;
    this.transport = options.transport ?? 'websocket';
    this.acks = options.acks ?? true;
    this.onEvent = options.onEvent ?? (async () => {});
    this.stateFile = options.stateFile;
    this.pingIntervalMs = options.pingIntervalMs ?? 20000;
    this.pongTimeoutMs = options.pongTimeoutMs ?? 10000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30000;
    this.backoffInitialMs = options.backoffInitialMs ?? 250;
    this.backoffMaxMs = options.backoffMaxMs ?? 30000;
    this.pollWait = options.pollWait ?? 30;
    this.lastSeq = Number(readJson(this.stateFile ?? '', {}).last_seq ?? options.resumeFrom ?? 0);
    this.savedSeq = this.lastSeq;
    /** @type {WebSocket | null} */
    this.ws = null;
    this.connected = false;
    this.urlIndex = 0;
    this.pending = new Map(); // request_id → {resolve, reject, timer}
    this.queue = []; // events waiting for the handler
    this.handling = false;
    this.stopped = new AbortController();
  }

  /** Connects; resolves on the first auth_ok (or the first poll), rejects on wrong credentials. */
  start() {
    if (this.started) return this.started;
    this.started = new Promise((resolve, reject) => {
      this.once('connected', resolve);
      this.once('fatal', reject);
    });
    this.started.catch(() => {}); // the caller sees it; a loop must not crash on it
    this.loopDone = this.transport === 'poll' ? this.pollLoop() : this.socketLoop();
    return this.started;
  }

  /** Closes the socket (1000) or ends the poll loop; waits for the handler to finish its event. */
  async stop() {
    this.stopped.abort();
    for (const [, p] of this.pending) p.reject(new NodError('the client stopped', { code: 'stopped' }));
    this.pending.clear();
    if (this.ws) {
      const ws = this.ws;
      const closed = new Promise((r) => ws.once('close', r));
      ws.close(1000);
      await Promise.race([closed, sleep(2000)]);
      ws.terminate();
    }
    // The poll loop acks what its handler finished before it ends.
    await Promise.race([this.loopDone, sleep(5000)]);
    while (this.handling) await sleep(10);
    this.saveState();
  }

  /**
   * Sends an A2 event; resolves to the server's reply (`{status, …ids}`).
   * Over the socket while it is up, else over REST with an Idempotency-Key.
   * A socket that drops before the reply rejects with code `disconnected`:
   * the event may or may not have been stored.
   */
  send(event) {
    if (this.connected && this.ws && this.ws.readyState === WebSocket.OPEN) return this.sendFrame(event);
    return this.rest.sendEvent(event);
  }

  /**
   * Posts a decision and waits for the person's answer; resolves to the
   * decision (its `status` still `pending` when `timeoutMs` passed).
   */
  async ask(decision, { timeoutMs = 600000 } = {}) {
    const { decision_id } = await this.send({ type: 'decision', ...decision });
    return this.rest.waitDecision(decision_id, { timeoutMs, signal: this.stopped.signal });
  }

  // -- the socket -----------------------------------------------------------------

  sendFrame(event) {
    const request_id = randomUUID();
    const ws = /** @type {WebSocket} */ (this.ws);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(request_id);
        reject(new NodError(`${event.type}: no reply in ${this.requestTimeoutMs} ms`, { code: 'timeout' }));
      }, this.requestTimeoutMs);
      this.pending.set(request_id, { resolve, reject, timer });
      ws.send(JSON.stringify({ ...event, request_id }), (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.pending.delete(request_id);
        reject(new NodError(`${event.type}: ${err.message}`, { code: 'disconnected' }));
      });
    });
  }

  async socketLoop() {
    let attempt = 0;
    while (!this.stopped.signal.aborted) {
      const url = this.urls[this.urlIndex % this.urls.length];
      const outcome = await this.runSocket(url);
      if (this.stopped.signal.aborted) break;
      if (outcome.fatal) {
        this.fail(new NodError(`${url}: ${outcome.fatal} (close ${outcome.code})`, { code: 'auth' }));
        break;
      }
      if (outcome.authed) attempt = 0;
      else this.urlIndex++; // this server did not take us: try the next one
      // Full jitter: a fleet of agents reconnecting after a restart spreads out.
      const ceiling = Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** attempt);
      const delay = outcome.retryAfterMs ?? Math.random() * ceiling;
      attempt = Math.min(attempt + 1, 30);
      await sleep(delay, this.stopped.signal);
    }
  }

  /** One socket from connect to close; resolves to how it ended. */
  runSocket(base) {
    return new Promise((resolve) => {
      const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/ws/agent/${this.agentId}`, {
        handshakeTimeout: this.requestTimeoutMs,
        maxPayload: 8 << 20,
      });
      this.ws = ws;
      let authed = false;
      let lastFrameAt = Date.now();
      const pinger = setInterval(() => {
        if (!authed) return;
        if (Date.now() - lastFrameAt > this.pingIntervalMs + this.pongTimeoutMs) {
          ws.terminate(); // the server or the path went silent
          return;
        }
        ws.send('{"type":"ping"}', () => {});
      }, this.pingIntervalMs);
      ws.on('open', () => {
        const auth = { type: 'auth', agent_id: this.agentId, secret: this.secret, acks: this.acks };
        if (this.lastSeq > 0) auth.resume_from = this.lastSeq;
        ws.send(JSON.stringify(auth));
      });
      ws.on('message', (data, isBinary) => {
        lastFrameAt = Date.now();
        if (isBinary) return;
        let frame;
        try {
          frame = JSON.parse(String(data));
        } catch {
          return;
        }
        if (frame.type === 'auth_ok') {
          authed = true;
          this.connected = true;
          this.emit('connected', frame);
          return;
        }
        const waiter = frame.request_id != null ? this.pending.get(String(frame.request_id)) : undefined;
        if (waiter && (frame.type === 'result' || frame.type === 'error')) {
          clearTimeout(waiter.timer);
          this.pending.delete(String(frame.request_id));
          if (frame.type === 'result') {
            const { type: _type, request_id: _id, ...reply } = frame;
            waiter.resolve(reply);
          } else {
            waiter.reject(new NodError(frame.detail, { status: 400, detail: frame.detail }));
          }
          return;
        }
        if (typeof frame.seq === 'number' && frame.event_id) this.receive(frame, ws);
      });
      ws.on('error', () => {}); // 'close' follows and says the rest
      ws.on('close', (code, reasonBuffer) => {
        clearInterval(pinger);
        const reason = String(reasonBuffer);
        if (this.ws === ws) this.ws = null;
        const wasConnected = this.connected;
        this.connected = false;
        for (const [, p] of this.pending) {
          clearTimeout(p.timer);
          p.reject(new NodError(`the socket closed (${code}) before the reply`, { code: 'disconnected' }));
        }
        this.pending.clear();
        if (wasConnected) this.emit('disconnected', { code, reason });
        let retryAfterMs;
        const wait = /try again in (\d+) s/.exec(reason);
        if (code === 1013 && wait) retryAfterMs = Number(wait[1]) * 1000;
        resolve({ authed, code, fatal: FATAL_CLOSE.get(code), retryAfterMs });
      });
    });
  }

  // -- polling --------------------------------------------------------------------

  async pollLoop() {
    let backoff = this.backoffInitialMs;
    let first = true;
    while (!this.stopped.signal.aborted) {
      try {
        const events = await this.rest.inbox({
          after: this.lastSeq,
          limit: 100,
          wait: first ? 0 : this.pollWait,
          signal: this.stopped.signal,
        });
        if (first) {
          first = false;
          this.connected = true;
          this.emit('connected', { type: 'poll', pending: events.length });
        }
        backoff = this.backoffInitialMs;
        for (const event of events) {
          if (this.stopped.signal.aborted) break;
          await this.handle(event);
        }
        if (events.length) await this.rest.ackInbox(this.lastSeq);
      } catch (err) {
        if (this.stopped.signal.aborted) return;
        if (err instanceof NodError && (err.status === 401 || err.status === 403)) {
          this.fail(err);
          return;
        }
        const delay = err.retryAfter ? err.retryAfter * 1000 : Math.random() * backoff;
        backoff = Math.min(backoff * 2, this.backoffMaxMs);
        await sleep(delay, this.stopped.signal);
      }
    }
  }

  // -- events ---------------------------------------------------------------------

  receive(event, ws) {
    this.queue.push({ event, ws });
    if (!this.handling) this.drain();
  }

  async drain() {
    this.handling = true;
    try {
      while (this.queue.length && !this.stopped.signal.aborted) {
        const { event, ws } = this.queue.shift();
        await this.handle(event);
        // Cumulative acks: one for a run of events handled back to back.
        if (this.acks && (this.queue.length === 0 || event.seq % 100 === 0) && ws.readyState === WebSocket.OPEN)
          ws.send(JSON.stringify({ type: 'ack', seq: this.lastSeq }), () => {});
      }
    } finally {
      this.handling = false;
    }
  }

  /** Hands one event to the handler unless it was handled before. */
  async handle(event) {
    if (event.seq <= this.lastSeq) return; // replayed: already handled
    this.emit('event', event);
    try {
      await this.onEvent(event);
    } catch (err) {
      // The event counts as handled either way: later acks would confirm it anyway.
      if (this.listenerCount('handlerError')) this.emit('handlerError', event, err);
      else console.error(`nod-client: the handler failed on ${event.type} seq ${event.seq}: ${err?.stack || err}`);
    }
    this.lastSeq = event.seq;
    this.saveState();
  }

  // After every event: a restart must not hand an event to the handler twice.
  saveState() {
    if (!this.stateFile || this.savedSeq === this.lastSeq) return;
    writeJsonAtomic(this.stateFile, { agent_id: this.agentId, last_seq: this.lastSeq });
    this.savedSeq = this.lastSeq;
  }

  fail(err) {
    this.stopped.abort();
    this.emit('fatal', err);
    if (this.listenerCount('error')) this.emit('error', err);
  }
}
