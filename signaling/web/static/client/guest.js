// GuestAuth stands in for a RestClient where a Connection needs tokens,
// for people without an account: a meeting's guest (PROTOCOL.md section
// 9, "Guest tokens") or an external live's viewer (section 10, "Viewer
// tokens"). Their tokens are restricted, last 15 minutes and have no
// refresh token: a new one is asked for with the link instead, which is
// what refresh() does. The socket they open is /ws/meeting or /ws/live.

import { Connection, wsURL } from "./connection.js";
import { RestClient } from "./rest.js";

const RENEW_BEFORE_MS = 60_000;

/**
 * GuestAuth holds one restricted token and renews it with fetchToken, an
 * async function that asks the server for a new one (its answer has
 * access_token and expires_in). Events: "token" (detail: the answer),
 * "signedout" (detail: {reason}) when a new token cannot be had.
 */
export class GuestAuth extends EventTarget {
  constructor({ baseURL = "", fetchToken }) {
    super();
    this.baseURL = baseURL.replace(/\/$/, "");
    this.fetchToken = fetchToken;
    this.tokens = null;
    this.renewing = null;
    // Connection reads tokenStore.get().refresh_token to schedule
    // refreshes; a guest has none, so it never schedules one.
    this.tokenStore = { get: () => this.tokens, set: () => {}, clear: () => { this.tokens = null; } };
  }

  /** The answer of the last token request (guest_id, name, ...). */
  get identity() { return this.tokens?.answer || null; }

  /** Asks for a new token; concurrent callers share one request. */
  refresh() {
    if (!this.renewing) {
      this.renewing = (async () => {
        let answer;
        try {
          answer = await this.fetchToken();
        } catch (err) {
          if (err.status === 403 || err.status === 404 || err.status === 409) {
            this.dispatchEvent(new CustomEvent("signedout", { detail: { reason: err.code } }));
          }
          throw err;
        }
        this.tokens = { access_token: answer.access_token, expires_at: Date.now() + answer.expires_in * 1000, answer };
        this.dispatchEvent(new CustomEvent("token", { detail: answer }));
      })().finally(() => { this.renewing = null; });
    }
    return this.renewing;
  }

  /** A token with at least a minute left, asking for a new one when needed. */
  async accessToken() {
    if (!this.tokens || this.tokens.expires_at - Date.now() < RENEW_BEFORE_MS) await this.refresh();
    return this.tokens.access_token;
  }

  /**
   * Connection probes "GET /me" after failed attempts to tell a revoked
   * session from a dead network; a guest has no /me, and a revoked link
   * shows when the next token is refused.
   */
  async request() { return null; }
}

/**
 * meetingGuest trades a meeting's join link for a guest token and returns
 * {auth, connection} on /ws/meeting; start the connection, then join with
 * a MeetingClient. Errors: ApiError 404 (wrong link), 403 (no guests),
 * 409 (ended).
 */
export async function meetingGuest({ baseURL = "", meetingId, linkToken, name }) {
  const rest = new RestClient({ baseURL });
  const auth = new GuestAuth({
    baseURL,
    fetchToken: () => rest.call("POST", "/meetings/" + encodeURIComponent(meetingId) + "/guest-token",
      { body: { link_token: linkToken, name }, auth: false }),
  });
  await auth.refresh();
  return { auth, connection: new Connection({ rest: auth, url: wsURL(baseURL, "/ws/meeting") }) };
}

/**
 * liveViewer trades an external live's viewer link (and its password, if
 * it has one) for a viewer token and returns {auth, connection} on
 * /ws/live. The token's answer (auth.identity) has the live's whep_url.
 * Errors: ApiError 404 (wrong link), 403 (wrong password or an internal
 * live), 429 (too many password attempts).
 */
export async function liveViewer({ baseURL = "", liveId, linkToken, password, name }) {
  const rest = new RestClient({ baseURL });
  const auth = new GuestAuth({
    baseURL,
    fetchToken: () => rest.call("POST", "/lives/" + encodeURIComponent(liveId) + "/viewer-token",
      { body: { link_token: linkToken, password: password || undefined, name }, auth: false }),
  });
  await auth.refresh();
  return { auth, connection: new Connection({ rest: auth, url: wsURL(baseURL, "/ws/live") }) };
}
