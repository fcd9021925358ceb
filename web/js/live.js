// The app WebSocket (API.md B3). The session cookie authenticates the
// upgrade, so no auth frame is sent: the server answers auth_ok by itself
// (actors/app_session.cpp). On loss it reconnects with exponential
// backoff (1 s doubling to 30 s, ±20% jitter) and, once authenticated
// again, reports a resync so views refetch what they may have missed.

const PING_MS = 25000;
const MIN_DELAY = 1000;
const MAX_DELAY = 30000;

export class Live {
  /**
   * handlers: onFrame(frame), onState('connecting'|'online'|'offline'),
   * onResync() after a reconnect, onAuthFailed() when the server refuses
   * the session (close 4001/4003).
   */
  constructor(handlers) {
    this.h = handlers;
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.pinger = null;
    this.everOnline = false;
    this.stopped = true;
    this.state = 'offline';
    this.onNetwork = () => { if (!this.stopped && this.state !== 'online') this.connectNow(); };
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener('online', this.onNetwork);
    this.connectNow();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onNetwork);
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close(1000, 'signed out');
      this.ws = null;
    }
    this.everOnline = false;
    this.attempt = 0;
    this.setState('offline');
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.h.onState?.(state);
  }

  connectNow() {
    clearTimeout(this.timer);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close();
    }
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/ws/app`);
    this.ws = ws;
    this.setState('connecting');
    ws.onmessage = (ev) => {
      let frame;
      try { frame = JSON.parse(ev.data); } catch { return; }
      if (frame.type === 'auth_ok') {
        const resync = this.everOnline;
        this.everOnline = true;
        this.attempt = 0;
        this.setState('online');
        clearInterval(this.pinger);
        this.pinger = setInterval(() => this.send({ type: 'ping' }), PING_MS);
        if (resync) this.h.onResync?.();
        return;
      }
      if (frame.type === 'pong' || frame.type === 'error') return;
      this.h.onFrame?.(frame);
    };
    ws.onclose = (ev) => {
      clearInterval(this.pinger);
      this.ws = null;
      if (this.stopped) return;
      if (ev.code === 4001 || ev.code === 4003) {
        // The session is gone (signed out elsewhere, expired).
        this.h.onAuthFailed?.();
      }
      this.setState('offline');
      this.schedule();
    };
  }

  schedule() {
    const base = Math.min(MAX_DELAY, MIN_DELAY * 2 ** this.attempt);
    this.attempt += 1;
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { if (!this.stopped) this.connectNow(); }, delay);
  }

  send(obj) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj));
  }
}
