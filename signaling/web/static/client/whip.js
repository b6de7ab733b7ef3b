// WHIP publishing and WHEP playing from a browser (PROTOCOL.md "WHIP and
// WHEP", RFC 9725): the client offers over HTTP POST, gets the answer
// with every server candidate, trickles its own candidates with PATCH
// and restarts ICE with PATCH "If-Match: *" when the network changes.
// DELETE ends the session; for WHIP that ends the live.

const TRICKLE_DELAY_MS = 100;
const RESTART_AFTER_MS = 3000;
const NOT_ON_AIR_RETRY_MS = 5000;
const SDP_TYPE = "application/sdp";
const FRAG_TYPE = "application/trickle-ice-sdpfrag";

/** An HTTP error of a WHIP or WHEP endpoint: status, code, message, retryAfter (s). */
export class MediaHttpError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message || code);
    this.name = "MediaHttpError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/**
 * MediaSession is one WHIP or WHEP session: an RTCPeerConnection the
 * client offers on, and its HTTP resource. Events: "state" {state} with
 * the connection's state; "ended" when the connection closed or failed
 * for good.
 */
class MediaSession extends EventTarget {
  // url: the endpoint; token: a bearer token, or an async function
  // returning one (a member's access token is refreshed).
  constructor({ url, token, iceServers = [] }) {
    super();
    this.url = url;
    this.token = token;
    this.pc = new RTCPeerConnection({ iceServers, bundlePolicy: "max-bundle" });
    this.resource = "";
    this.etag = "";
    this.pending = [];
    this.closed = false;
    this.pc.onicecandidate = (e) => this.queueCandidate(e.candidate);
    this.pc.onconnectionstatechange = () => this.watchState();
  }

  async bearer() { return typeof this.token === "function" ? this.token() : this.token; }

  async fetch(method, url, { body, type, headers = {} } = {}) {
    const h = { ...headers };
    const tok = await this.bearer();
    if (tok) h.Authorization = "Bearer " + tok;
    if (type) h["Content-Type"] = type;
    let resp;
    try {
      resp = await fetch(url, { method, headers: h, body });
    } catch (err) {
      throw new MediaHttpError(0, "network", err.message);
    }
    if (!resp.ok) {
      let code = "http_" + resp.status, message = resp.statusText;
      try { const e = (await resp.json()).error; code = e.code; message = e.message; } catch { /* not JSON */ }
      throw new MediaHttpError(resp.status, code, message, Number(resp.headers.get("Retry-After")) || 0);
    }
    return resp;
  }

  // negotiate posts the local offer and applies the answer.
  async negotiate() {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    const resp = await this.fetch("POST", this.url, { body: this.pc.localDescription.sdp, type: SDP_TYPE });
    this.resource = new URL(resp.headers.get("Location"), new URL(this.url, location.href)).toString();
    this.etag = resp.headers.get("ETag") || "";
    const servers = parseLinks(resp.headers.get("Link"));
    if (servers.length) this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers: servers });
    await this.pc.setRemoteDescription({ type: "answer", sdp: await resp.text() });
    this.flushSoon();
  }

  queueCandidate(c) {
    this.pending.push(c ? c.candidate : null);
    this.flushSoon();
  }

  flushSoon() {
    if (!this.resource || !this.pending.length || this.flushTimer) return;
    this.flushTimer = setTimeout(() => { this.flushTimer = 0; this.flush(); }, TRICKLE_DELAY_MS);
  }

  // flush trickles the candidates gathered so far in one PATCH. A stale
  // entity tag (412, an ICE restart since) drops them: the restart's own
  // candidates follow.
  async flush() {
    const cands = this.pending.splice(0);
    if (!cands.length || this.closed) return;
    const lines = fragmentHead(this.pc.localDescription.sdp);
    for (const c of cands) lines.push(c ? "a=" + c : "a=end-of-candidates");
    try {
      await this.fetch("PATCH", this.resource, { body: lines.join("\r\n") + "\r\n", type: FRAG_TYPE, headers: { "If-Match": this.etag } });
    } catch { /* the server learns the address from the checks anyway */ }
  }

  watchState() {
    const st = this.pc.connectionState;
    this.dispatchEvent(new CustomEvent("state", { detail: { state: st } }));
    clearTimeout(this.restartTimer);
    if (st === "disconnected" || st === "failed") {
      this.restartTimer = setTimeout(() => this.restartIce().catch(() => this.end()), RESTART_AFTER_MS);
    }
    if (st === "closed") this.end();
  }

  /**
   * restartIce gets new ICE credentials for both sides (PATCH with
   * If-Match: *), so media finds the new network path. A session the
   * server no longer has (404) ends.
   */
  async restartIce() {
    if (this.closed || !this.resource) return;
    await this.pc.setLocalDescription(await this.pc.createOffer({ iceRestart: true }));
    const frag = fragmentHead(this.pc.localDescription.sdp).join("\r\n") + "\r\n";
    let resp;
    try {
      resp = await this.fetch("PATCH", this.resource, { body: frag, type: FRAG_TYPE, headers: { "If-Match": "*" } });
    } catch (err) {
      await this.pc.setLocalDescription({ type: "rollback" }).catch(() => {});
      throw err;
    }
    this.etag = resp.headers.get("ETag") || this.etag;
    const answer = restartedAnswer(this.pc.remoteDescription.sdp, await resp.text());
    await this.pc.setRemoteDescription({ type: "answer", sdp: answer });
    this.flushSoon();
  }

  end() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.flushTimer);
    this.pc.close();
    this.dispatchEvent(new CustomEvent("ended"));
  }

  /** Ends the session: DELETE on the resource, then the connection closes. */
  async stop() {
    const res = this.resource;
    this.end();
    if (res) await this.fetch("DELETE", res).catch(() => {});
  }
}

/**
 * WhipPublisher publishes a MediaStream (one audio and one video track at
 * most) to a live. From a browser, url is the live's whip_url with
 * ?live=<live id>, and token the host's member access token (or a
 * function returning it). Stopping it ends the live.
 */
export class WhipPublisher extends MediaSession {
  /** start sends stream's tracks; simulcast sends video in 3 layers. */
  async start(stream, { simulcast = false } = {}) {
    for (const track of stream.getTracks()) {
      const init = { direction: "sendonly", streams: [stream] };
      if (simulcast && track.kind === "video") {
        init.sendEncodings = [
          { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
          { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 600_000 },
          { rid: "f", maxBitrate: 2_000_000 },
        ];
      }
      this.pc.addTransceiver(track, init);
    }
    await this.negotiate();
  }

  /** Replaces the track of one kind (switching camera, or to a screen). */
  async replaceTrack(track) {
    const tr = this.pc.getTransceivers().find((t) => t.sender.track?.kind === track.kind || t.receiver.track?.kind === track.kind);
    if (tr) await tr.sender.replaceTrack(track);
  }
}

/**
 * WhepPlayer plays a live from its whep_url. token is a member's access
 * token (or a function returning one), a viewer token, or the viewer
 * link's token. start() resolves with the MediaStream the tracks arrive
 * on; while the live is not on air it retries (event "waiting").
 */
export class WhepPlayer extends MediaSession {
  async start() {
    this.stream = new MediaStream();
    this.pc.addTransceiver("audio", { direction: "recvonly" });
    this.pc.addTransceiver("video", { direction: "recvonly" });
    this.pc.ontrack = (e) => { this.stream.addTrack(e.track); this.dispatchEvent(new CustomEvent("track", { detail: { track: e.track } })); };
    for (;;) {
      try {
        await this.negotiate();
        return this.stream;
      } catch (err) {
        if (err.code !== "not_on_air" || this.closed) throw err;
        await this.pc.setLocalDescription({ type: "rollback" }).catch(() => {});
        this.dispatchEvent(new CustomEvent("waiting", { detail: { retryAfter: err.retryAfter } }));
        await new Promise((r) => setTimeout(r, (err.retryAfter * 1000) || NOT_ON_AIR_RETRY_MS));
        if (this.closed) throw err;
      }
    }
  }
}

// fragmentHead is the start of a trickle fragment (RFC 8840) for the
// local description: its ICE credentials and first media section, which
// carries every candidate under max-bundle.
function fragmentHead(sdp) {
  const lines = sdp.split(/\r?\n/);
  const ufrag = lines.find((l) => l.startsWith("a=ice-ufrag:"));
  const pwd = lines.find((l) => l.startsWith("a=ice-pwd:"));
  const m = lines.find((l) => l.startsWith("m="));
  const mid = lines.find((l) => l.startsWith("a=mid:"));
  return [ufrag, pwd, m && m.replace(/^(m=\w+) \d+ (\S+) .*$/, "$1 9 $2 0"), mid].filter(Boolean);
}

// restartedAnswer is the old answer with the server's new ICE
// credentials and candidates from an ICE-restart fragment.
function restartedAnswer(old, frag) {
  const f = frag.split(/\r?\n/);
  const ufrag = f.find((l) => l.startsWith("a=ice-ufrag:"));
  const pwd = f.find((l) => l.startsWith("a=ice-pwd:"));
  const cands = f.filter((l) => l.startsWith("a=candidate:"));
  const out = [];
  let firstMedia = true;
  for (const l of old.split(/\r?\n/)) {
    if (!l || l.startsWith("a=candidate:") || l === "a=end-of-candidates") continue;
    if (l.startsWith("a=ice-ufrag:") && ufrag) { out.push(ufrag); continue; }
    if (l.startsWith("a=ice-pwd:") && pwd) { out.push(pwd); continue; }
    out.push(l);
    if (l.startsWith("a=mid:") && firstMedia) {
      firstMedia = false;
      out.push(...cands, "a=end-of-candidates");
    }
  }
  return out.join("\r\n") + "\r\n";
}

// parseLinks reads the Link headers' ICE servers (rel="ice-server").
function parseLinks(header) {
  if (!header) return [];
  const out = [];
  for (const part of header.split(/,\s*(?=<)/)) {
    const m = part.match(/^<([^>]+)>(.*)$/);
    if (!m || !/rel="?ice-server"?/.test(m[2])) continue;
    const server = { urls: m[1] };
    for (const [, k, v] of m[2].matchAll(/;\s*([\w-]+)="?([^";]*)"?/g)) {
      if (k === "username") server.username = v;
      if (k === "credential") server.credential = v;
    }
    out.push(server);
  }
  return out;
}
