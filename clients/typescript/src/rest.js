// @ts-check
// The agent's REST calls (API.md A2, A6), tried against each server URL in
// turn: a URL that cannot be reached or answers 503 passes the call to the
// next one, and the one that answered is tried first next time.
import { randomUUID } from 'node:crypto';

/** An answer of the server that is not 2xx, or no answer at all (status 0). */
export class NodError extends Error {
  /**
   * @param {string} message
   * @param {{status?: number, detail?: string, retryAfter?: number, code?: string}} [info]
   */
  constructor(message, info = {}) {
    super(message);
    this.name = 'NodError';
    this.status = info.status ?? 0;
    this.detail = info.detail ?? message;
    this.retryAfter = info.retryAfter;
    this.code = info.code;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class RestClient {
  /**
   * @param {{urls: string[], agentId: string, secret: string, timeoutMs?: number}} options
   */
  constructor({ urls, agentId, secret, timeoutMs = 30000 }) {
    if (!urls?.length) throw new Error('RestClient: at least one server URL is needed');
    this.urls = urls.map((u) => u.replace(/\/+$/, ''));
    this.agentId = agentId;
    this.secret = secret;
    this.timeoutMs = timeoutMs;
    this.current = 0;
  }

  /**
   * One call. `wait` (seconds) extends the timeout for long polls.
   * @returns {Promise<any>}
   */
  async request(method, path, { body, headers = {}, wait = 0, signal } = {}) {
    let lastError;
    for (let i = 0; i < this.urls.length; i++) {
      const index = (this.current + i) % this.urls.length;
      const url = this.urls[index] + path;
      let res;
      try {
        res = await fetch(url, {
          method,
          headers: {
            'X-Nod-Agent-Id': this.agentId,
            'X-Nod-Secret': this.secret,
            ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
            ...headers,
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          redirect: 'manual',
          signal: signal
            ? AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs + wait * 1000)])
            : AbortSignal.timeout(this.timeoutMs + wait * 1000),
        });
      } catch (err) {
        if (signal?.aborted) throw err;
        lastError = new NodError(`${method} ${url}: ${err.cause?.code || err.message}`, { code: 'unreachable' });
        continue;
      }
      const text = await res.text();
      if (res.status === 503) {
        lastError = errorOf(method, url, res, text);
        continue;
      }
      this.current = index;
      if (!res.ok) throw errorOf(method, url, res, text);
      try {
        return text ? JSON.parse(text) : null;
      } catch {
        throw new NodError(`${method} ${url}: the answer is not JSON`, { status: res.status });
      }
    }
    throw lastError;
  }

  /**
   * Sends an A2 event. An Idempotency-Key (made here when not given) makes
   * a retry after a lost answer safe: the server answers it once.
   */
  sendEvent(event, { idempotencyKey = randomUUID() } = {}) {
    return this.request('POST', '/api/agent/events', { body: event, headers: { 'Idempotency-Key': idempotencyKey } });
  }

  /** Pending events after `after`, holding up to `wait` s for one (A6). */
  inbox({ after = 0, limit = 100, wait = 0, signal } = {}) {
    return this.request('GET', `/api/agent/inbox?after=${after}&limit=${limit}&wait=${wait}`, { wait, signal });
  }

  /** Marks every pending event up to `seq` delivered. */
  ackInbox(seq) {
    return this.request('POST', '/api/agent/inbox/ack', { body: { seq } });
  }

  /** The decision; with `wait`, held until it is resolved or `wait` s pass. */
  decision(id, { wait = 0 } = {}) {
    return this.request('GET', `/api/agent/decisions/${encodeURIComponent(id)}?wait=${wait}`, { wait });
  }

  /**
   * Waits until the decision is no longer pending, or `timeoutMs` passes
   * (then resolves to the pending decision). Survives server restarts and
   * failover: each long poll is a fresh request.
   */
  async waitDecision(id, { timeoutMs = 600000, signal } = {}) {
    const deadline = Date.now() + timeoutMs;
    let backoff = 500;
    for (;;) {
      signal?.throwIfAborted();
      const left = deadline - Date.now();
      try {
        const decision = await this.decision(id, { wait: Math.max(0, Math.min(60, Math.floor(left / 1000))) });
        backoff = 500;
        if (decision.status !== 'pending' || Date.now() >= deadline) return decision;
      } catch (err) {
        if (!(err instanceof NodError) || (err.status !== 0 && err.status !== 429 && err.status < 500)) throw err;
        if (Date.now() + backoff >= deadline) throw err;
        await sleep(err.retryAfter ? err.retryAfter * 1000 : backoff);
        backoff = Math.min(backoff * 2, 10000);
      }
    }
  }

  me() {
    return this.request('GET', '/api/agent/me');
  }
}

function errorOf(method, url, res, text) {
  let detail = text;
  try {
    detail = JSON.parse(text).detail ?? text;
  } catch {
    // not JSON: keep the text
  }
  const retryAfter = Number(res.headers.get('retry-after')) || undefined;
  return new NodError(`${method} ${url}: ${res.status} ${detail}`, { status: res.status, detail, retryAfter });
}
