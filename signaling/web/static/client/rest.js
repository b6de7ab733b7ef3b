// REST calls to a Parley server, with the access/refresh token dance of
// PROTOCOL.md section 2: refresh a minute before expiry, refresh once and
// retry on 401, and refresh from one place at a time (refresh tokens rotate,
// so two concurrent refreshes would sign the user out).

const API = "/api/v1";
const REFRESH_MARGIN_MS = 60_000;

/** An error answer of the REST API: status, stable code, human message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/** Keeps tokens in memory only: a reload signs the user out. */
export class MemoryTokenStore {
  constructor() { this.tokens = null; }
  get() { return this.tokens; }
  set(tokens) { this.tokens = tokens; }
  clear() { this.tokens = null; }
}

/** Keeps tokens in localStorage under one key, so a reload stays signed in. */
export class LocalTokenStore {
  constructor(key = "parley.tokens") { this.key = key; }
  get() {
    try { return JSON.parse(localStorage.getItem(this.key)); } catch { return null; }
  }
  set(tokens) { localStorage.setItem(this.key, JSON.stringify(tokens)); }
  clear() { localStorage.removeItem(this.key); }
}

/**
 * RestClient calls /api/v1 as the signed-in member.
 * Events: "tokens" (a new access token; detail: tokens), "signedout"
 * (detail: {reason}) when the session cannot go on.
 */
export class RestClient extends EventTarget {
  constructor({ baseURL = "", tokenStore = new MemoryTokenStore(), fetch: fetchFn } = {}) {
    super();
    this.baseURL = baseURL.replace(/\/$/, "");
    this.tokenStore = tokenStore;
    this.fetch = fetchFn || globalThis.fetch.bind(globalThis);
    this.refreshing = null;
  }

  /** Whether a token pair is held (it may still turn out to be revoked). */
  get signedIn() { return !!this.tokenStore.get(); }

  async login(username, password) {
    const tok = await this.call("POST", "/auth/login", { body: { username, password }, auth: false });
    this.keep(tok);
    return tok;
  }

  /** Signs out: revokes the refresh token and forgets both tokens. */
  async logout() {
    const tok = this.tokenStore.get();
    this.tokenStore.clear();
    if (tok?.refresh_token) {
      try { await this.call("POST", "/auth/logout", { body: { refresh_token: tok.refresh_token }, auth: false }); } catch { /* signed out anyway */ }
    }
    this.dispatchEvent(new CustomEvent("signedout", { detail: { reason: "logout" } }));
  }

  keep(tok) {
    const stored = {
      access_token: tok.access_token,
      refresh_token: tok.refresh_token ?? this.tokenStore.get()?.refresh_token,
      expires_at: Date.now() + tok.expires_in * 1000,
    };
    this.tokenStore.set(stored);
    this.dispatchEvent(new CustomEvent("tokens", { detail: stored }));
  }

  /** Trades the refresh token for a new pair; concurrent callers share one request. */
  refresh() {
    if (!this.refreshing) {
      this.refreshing = (async () => {
        const tok = this.tokenStore.get();
        if (!tok?.refresh_token) throw this.signOut("no_session");
        try {
          this.keep(await this.call("POST", "/auth/refresh", { body: { refresh_token: tok.refresh_token }, auth: false }));
        } catch (err) {
          if (err instanceof ApiError && (err.status === 401 || err.status === 403)) throw this.signOut(err.code);
          throw err;
        }
      })().finally(() => { this.refreshing = null; });
    }
    return this.refreshing;
  }

  signOut(reason) {
    this.tokenStore.clear();
    this.dispatchEvent(new CustomEvent("signedout", { detail: { reason } }));
    return new ApiError(401, reason, "signed out: " + reason);
  }

  /** A valid access token, refreshed first when it is about to expire. */
  async accessToken() {
    let tok = this.tokenStore.get();
    if (!tok) throw new ApiError(401, "unauthenticated", "not signed in");
    if (tok.expires_at - Date.now() < REFRESH_MARGIN_MS && tok.refresh_token) {
      await this.refresh();
      tok = this.tokenStore.get();
    }
    return tok.access_token;
  }

  /**
   * request calls an /api/v1 route as the member and returns the decoded
   * JSON (null for 204). opts: body (JSON), query (object), raw (a Blob or
   * ArrayBuffer sent as is), as ("json" | "blob").
   */
  async request(method, path, opts = {}) {
    try {
      return await this.call(method, path, opts);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401 || err.code === "member_disabled") {
        if (err instanceof ApiError && err.code === "member_disabled") this.signOut("member_disabled");
        throw err;
      }
      await this.refresh();
      return this.call(method, path, opts);
    }
  }

  async call(method, path, { body, query, raw, as = "json", auth = true, headers = {} } = {}) {
    let url = this.baseURL + API + path;
    if (query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
      const qs = q.toString();
      if (qs) url += "?" + qs;
    }
    const h = { ...headers };
    if (auth) h.Authorization = "Bearer " + (await this.accessToken());
    let payload;
    if (raw !== undefined) payload = raw;
    else if (body !== undefined) { h["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
    let resp;
    try {
      resp = await this.fetch(url, { method, headers: h, body: payload });
    } catch (err) {
      throw new ApiError(0, "network", err.message);
    }
    if (!resp.ok) {
      let code = "http_" + resp.status, message = resp.statusText;
      try { const e = (await resp.json()).error; code = e.code; message = e.message; } catch { /* not JSON */ }
      const err = new ApiError(resp.status, code, message);
      const retry = resp.headers.get("Retry-After");
      if (retry) err.retryAfter = Number(retry);
      throw err;
    }
    if (as === "blob") return resp.blob();
    if (resp.status === 204) return null;
    return resp.json();
  }

  // Convenience wrappers for the routes the web client uses most.
  get(path, query) { return this.request("GET", path, { query }); }
  post(path, body) { return this.request("POST", path, { body }); }
  patch(path, body) { return this.request("PATCH", path, { body }); }
  put(path, body) { return this.request("PUT", path, { body }); }
  del(path) { return this.request("DELETE", path); }
}
