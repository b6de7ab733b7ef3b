// The one WebSocket of a device (PROTOCOL.md section 6): the JSON envelope,
// requests matched to replies by id, pushes by type, and staying connected:
// reconnect with backoff and jitter, refresh on 4001, stop on 4003,
// reconnect at once on 4008, keep the socket's token fresh with
// auth.refresh, and detect a dead socket with the ping message.
//
// Feature modules (chat, meetings, live) sit on top: they
// call request()/send() and subscribe to pushes with on(type, fn), and they
// resync when the "open" event fires after every (re)connect.

const BACKOFF_START_MS = 1000;
const BACKOFF_MAX_MS = 30_000;
const REQUEST_TIMEOUT_MS = 15_000;
const QUIET_PING_MS = 25_000;
const PONG_TIMEOUT_MS = 5000;
const REFRESH_BEFORE_MS = 60_000;

/** A WebSocket error reply, or a request that could not complete. */
export class WsError extends Error {
  constructor(code, message) {
    super(message || code);
    this.name = "WsError";
    this.code = code;
  }
}

/** States a Connection goes through; "signedout" is final. */
export const State = Object.freeze({
  idle: "idle", connecting: "connecting", open: "open", waiting: "waiting", signedout: "signedout",
});

/**
 * Connection keeps one WebSocket to the server open.
 * Events: "state" (detail: {state}), "open" (detail: {reconnect}),
 * "signedout" (detail: {reason}).
 */
export class Connection extends EventTarget {
  /** rest: a RestClient; url: the WebSocket URL (default: /ws on the REST base or page origin). */
  constructor({ rest, url } = {}) {
    super();
    this.rest = rest;
    this.url = url || wsURL(rest.baseURL);
    this.state = State.idle;
    this.ws = null;
    this.nextId = 1;
    this.pending = new Map();
    this.handlers = new Map();
    this.attempt = 0;
    this.opened = 0;
    this.timers = {};
    this.stopped = true;
    this.onTokens = (ev) => this.sendToken(ev.detail.access_token);
    rest.addEventListener("tokens", this.onTokens);
    rest.addEventListener("signedout", (ev) => this.finish(ev.detail.reason));
  }

  /** Connects, and stays connected until stop() or sign-out. */
  start() {
    if (!this.stopped) return;
    this.stopped = false;
    if (typeof window !== "undefined") {
      this.onOnline = () => { if (this.state === State.waiting) this.connectNow(); };
      window.addEventListener("online", this.onOnline);
    }
    this.connectNow();
  }

  /** Closes the socket and stops reconnecting. */
  stop() {
    this.stopped = true;
    for (const t of Object.values(this.timers)) clearTimeout(t);
    if (this.onOnline) window.removeEventListener("online", this.onOnline);
    if (this.ws) this.ws.close(1000, "bye");
    this.setState(State.idle);
  }

  /** Subscribes fn to pushed messages of one type; returns the unsubscribe. */
  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type)?.delete(fn);
  }

  /** Sends a message that has no reply (chat.typing). False if not connected. */
  send(type, data) {
    if (this.state !== State.open) return false;
    this.ws.send(JSON.stringify({ type, data }));
    return true;
  }

  /**
   * Sends a request and resolves with the reply's data. Rejects with
   * WsError: the server's error code, "timeout", or "disconnected".
   * For requests with several replies (chat.sync) pass final(type) telling
   * which reply ends it and onReply(envelope) for the others.
   */
  request(type, data, { timeout = REQUEST_TIMEOUT_MS, final, onReply } = {}) {
    if (this.state !== State.open) return Promise.reject(new WsError("disconnected", "not connected"));
    const id = String(this.nextId++);
    return new Promise((resolve, reject) => {
      const p = { resolve, reject, final, onReply, timer: 0 };
      const arm = () => {
        clearTimeout(p.timer);
        p.timer = setTimeout(() => { this.pending.delete(id); reject(new WsError("timeout", type + " timed out")); }, timeout);
      };
      p.arm = arm;
      arm();
      this.pending.set(id, p);
      this.ws.send(JSON.stringify({ type, id, data }));
    });
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state } }));
  }

  async connectNow() {
    clearTimeout(this.timers.retry);
    if (this.stopped || this.state === State.connecting || this.state === State.open) return;
    this.setState(State.connecting);
    let token;
    try {
      if (this.attempt >= 2) await this.rest.request("GET", "/me"); // tells a revoked token from a dead network
      token = await this.rest.accessToken();
    } catch (err) {
      if (this.state !== State.signedout) this.retryLater();
      return;
    }
    if (this.stopped) return;
    const ws = new WebSocket(this.url + "?access_token=" + encodeURIComponent(token));
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.setState(State.open);
      this.touch();
      this.scheduleRefresh();
      this.dispatchEvent(new CustomEvent("open", { detail: { reconnect: this.opened++ > 0 } }));
    };
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onclose = (ev) => { if (this.ws === ws) this.closed(ev.code); };
  }

  closed(code) {
    this.ws = null;
    clearTimeout(this.timers.ping);
    clearTimeout(this.timers.pong);
    clearTimeout(this.timers.refresh);
    for (const [id, p] of this.pending) { clearTimeout(p.timer); p.reject(new WsError("disconnected", "connection closed")); this.pending.delete(id); }
    if (this.stopped || this.state === State.signedout) return;
    this.setState(State.waiting);
    if (code === 4003) { this.finish("member_disabled"); return; }
    if (code === 4001) {
      // A refresh refused signs out; one lost to the network is retried.
      this.rest.refresh().then(() => this.connectNow(), () => { if (this.state !== State.signedout) this.retryLater(); });
      return;
    }
    if (code === 4008) { this.connectNow(); return; }
    this.retryLater();
  }

  retryLater() {
    this.setState(State.waiting);
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** this.attempt);
    this.attempt++;
    const delay = base / 2 + Math.random() * base / 2;
    this.timers.retry = setTimeout(() => this.connectNow(), delay);
  }

  finish(reason) {
    if (this.state === State.signedout) return;
    this.stopped = true;
    for (const t of Object.values(this.timers)) clearTimeout(t);
    if (this.ws) { const ws = this.ws; this.ws = null; ws.close(1000, "signed out"); }
    this.setState(State.signedout);
    this.dispatchEvent(new CustomEvent("signedout", { detail: { reason } }));
  }

  receive(raw) {
    this.touch();
    let env;
    try { env = JSON.parse(raw); } catch { return; }
    if (!env || typeof env.type !== "string") return;
    if (env.id && this.pending.has(env.id)) {
      const p = this.pending.get(env.id);
      if (env.type === "error") {
        this.pending.delete(env.id); clearTimeout(p.timer);
        p.reject(new WsError(env.data?.code || "error", env.data?.message));
        return;
      }
      if (p.final && !p.final(env.type)) { p.arm(); p.onReply?.(env); return; }
      this.pending.delete(env.id); clearTimeout(p.timer);
      p.resolve(env.data ?? {});
      return;
    }
    if (env.id) return; // a reply to a request that timed out
    for (const fn of this.handlers.get(env.type) || []) {
      try { fn(env.data ?? {}); } catch (err) { console.error("parley: handler for", env.type, err); }
    }
  }

  // touch notes traffic; after a quiet spell the socket is checked with ping.
  touch() {
    clearTimeout(this.timers.ping);
    clearTimeout(this.timers.pong);
    this.timers.ping = setTimeout(() => {
      if (this.state !== State.open) return;
      const ws = this.ws;
      this.timers.pong = setTimeout(() => { if (this.ws === ws) ws.close(4000, "no pong"); }, PONG_TIMEOUT_MS);
      this.request("ping", {}).catch(() => {});
    }, QUIET_PING_MS);
  }

  // scheduleRefresh refreshes the access token before it runs out; the
  // "tokens" event then hands the new one to the socket.
  scheduleRefresh() {
    clearTimeout(this.timers.refresh);
    const tok = this.rest.tokenStore.get();
    if (!tok?.refresh_token) return;
    const wait = Math.max(5000, tok.expires_at - Date.now() - REFRESH_BEFORE_MS);
    this.timers.refresh = setTimeout(() => { this.rest.refresh().catch(() => {}); }, wait);
  }

  sendToken(token) {
    if (this.state !== State.open) return;
    this.request("auth.refresh", { access_token: token }).catch(() => {});
    this.scheduleRefresh();
  }
}

/**
 * wsURL is the WebSocket URL of path (default /ws: members; /ws/meeting
 * and /ws/live take guests' and viewers' tokens) on the REST base, or on
 * the page's origin when base is empty.
 */
export function wsURL(base, path = "/ws") {
  const u = new URL(base || globalThis.location.origin, globalThis.location?.href);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.pathname = u.pathname.replace(/\/$/, "") + path;
  u.search = "";
  return u.toString();
}
