// MeetingClient is one meeting on top of a Connection (PROTOCOL.md,
// "Meetings over the WebSocket"). It joins, keeps the room as the last
// snapshot plus the pushes since, and runs the two peer connections: the
// publisher, where the client offers its microphone, camera and screen,
// and the subscriber, where the server offers everyone else's tracks. Two
// connections, each negotiated by one side only, never collide.
//
// After the socket drops, the participant stays in the room for the grace
// period: on the next "open" the client resumes with its token, answers
// the server's ICE-restarting subscriber offer and restarts ICE on the
// publisher, so media comes back over the new network path. Past the
// grace period it joins again and publishes what it had.

import { WsError } from "./connection.js";

/** The sources a participant may publish, with the kind of each. */
export const Sources = Object.freeze({ microphone: "audio", camera: "video", screen_share: "video", screen_share_audio: "audio" });

/** The states of a MeetingClient; "left" is final for one join. */
export const MeetingState = Object.freeze({
  idle: "idle", joining: "joining", waiting: "waiting", joined: "joined", reconnecting: "reconnecting", left: "left",
});

// A publisher connection that stays failed this long restarts ICE on its
// own, for a network change that left the socket up.
const PUBLISHER_RESTART_MS = 3000;

// cameraLayers are the simulcast layers a camera track is sent in, lowest
// first, with the rids the server ranks (q < h < f). A small picture gets
// two: encoders drop layers below about 180 lines anyway.
function cameraLayers(track) {
  const height = track.getSettings?.().height || 480;
  if (height >= 540) {
    return [
      { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
      { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
      { rid: "f", maxBitrate: 1_500_000 },
    ];
  }
  return [{ rid: "h", scaleResolutionDownBy: 2, maxBitrate: 200_000 }, { rid: "f", maxBitrate: 800_000 }];
}

/**
 * MeetingClient events (CustomEvent):
 * "state" {state}; "room" – participants, roles, tracks, settings or the
 * waiting room changed; "track" {participantId, trackId, track} – a
 * remote track arrived; "speakers" {speakers}; "muted" (the
 * meeting.muted data); "ended" {reason, by, banned} – the client is out
 * of the meeting (left, removed, denied, meeting_ended, server_shutdown,
 * joined_elsewhere); "error" {error} – a background step failed.
 */
export class MeetingClient extends EventTarget {
  /** connection: a Connection (/ws for members, /ws/meeting for guests). */
  constructor({ connection }) {
    super();
    this.conn = connection;
    this.state = MeetingState.idle;
    this.reset();
    const on = (type, fn) => connection.on("meeting." + type, (d) => { if (this.inRoom) fn(d); });
    on("participant_joined", (p) => { this.participants.set(p.participant_id, p); this.changed(); });
    on("participant_updated", (p) => this.updateParticipant(p));
    on("participant_left", (d) => this.dropParticipant(d.participant_id));
    on("track_published", (tr) => this.trackPublished(tr));
    on("track_unpublished", (d) => this.trackUnpublished(d));
    on("muted", (d) => this.applyMuted(d));
    on("speakers", (d) => { this.speakers = d.speakers || []; this.emit("speakers", { speakers: this.speakers }); });
    on("settings", (s) => { this.settings = s; this.changed(); });
    on("waiting_room", (d) => { this.waiting = d.waiting || []; this.changed(); });
    on("admitted", (snap) => { this.apply(snap); this.setState(MeetingState.joined); });
    on("denied", (d) => this.finish("denied", d));
    on("removed", (d) => this.finish(d.reason || "removed", d));
    on("ended", (d) => this.finish(d.reason || "meeting_ended", d));
    on("subscriber_offer", (d) => this.answerSubscriber(d.sdp));
    on("recording", (d) => { this.recording = d.state === "stopped" ? null : d; this.changed(); });
    connection.addEventListener("state", (ev) => {
      if (ev.detail.state === "waiting" && (this.state === MeetingState.joined || this.state === MeetingState.waiting)) {
        this.stateBeforeDrop = this.state;
        this.setState(MeetingState.reconnecting);
      }
    });
    connection.addEventListener("open", () => { if (this.state === MeetingState.reconnecting) this.resume(); });
  }

  reset() {
    this.meetingId = "";
    this.title = "";
    this.self = null;
    this.resumeToken = "";
    this.settings = {};
    this.participants = new Map(); // participant id -> participant, joining order
    this.waiting = [];
    this.speakers = [];
    this.iceServers = [];
    this.recording = null; // the recording in progress: {recording_id, state, by}
    this.canRecord = false;
    this.local = new Map(); // source -> {track, transceiver, trackId}
    this.remote = new Map(); // track id -> MediaStreamTrack
    this.pub = null;
    this.sub = null;
    this.pubOffered = false; // the server has had a publisher offer
    this.pubCandidates = []; // candidates gathered before it
    this.pubChain = Promise.resolve();
    this.subChain = Promise.resolve();
  }

  get inRoom() { return this.state !== MeetingState.idle && this.state !== MeetingState.left; }

  /** Whether the participant is the host or a co-host. */
  get isHost() { return this.self?.role === "host" || this.self?.role === "cohost"; }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }
  changed() { this.emit("room"); }
  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit("state", { state });
  }

  /**
   * join enters meeting id and resolves with the snapshot. The state is
   * then "joined", or "waiting" in a waiting room until a host admits
   * ("state" follows) or denies ("ended"). autoSubscribe false receives
   * only what subscribe() asks for.
   */
  async join(meetingId, { autoSubscribe = true } = {}) {
    if (this.inRoom) throw new WsError("already_joined", "in a meeting already");
    this.reset();
    this.autoSubscribe = autoSubscribe;
    this.setState(MeetingState.joining);
    let snap;
    try {
      snap = await this.conn.request("meeting.join", { meeting_id: meetingId, auto_subscribe: autoSubscribe });
    } catch (err) {
      this.setState(MeetingState.idle);
      throw err;
    }
    this.apply(snap);
    this.setState(snap.self.state === "waiting" ? MeetingState.waiting : MeetingState.joined);
    return snap;
  }

  /** Leaves the meeting; the socket stays open. Local tracks are stopped. */
  async leave() {
    if (!this.inRoom) return;
    const req = this.conn.request("meeting.leave", {}).catch(() => {});
    this.finish("left", {});
    await req;
  }

  // apply rebuilds the room from a snapshot (join, resume, admission).
  apply(snap) {
    this.meetingId = snap.meeting_id;
    this.title = snap.title;
    this.self = snap.self;
    this.resumeToken = snap.resume_token;
    this.settings = snap.settings || {};
    this.waiting = snap.waiting || [];
    this.iceServers = snap.ice_servers || [];
    this.recording = snap.recording || null;
    // A server that can record says so in the snapshot; without it the
    // client offers no recording.
    this.canRecord = !!snap.recording_available;
    this.participants = new Map((snap.participants || []).map((p) => [p.participant_id, p]));
    for (const id of [...this.remote.keys()]) if (!this.trackInfo(id)) this.remote.delete(id);
    if (!this.pub) this.pub = this.newPublisher();
    if (!this.sub) this.sub = this.newSubscriber();
    for (const [source, l] of this.local) {
      const muted = this.self.muted?.includes(source);
      if (l.track && Sources[source] === "audio") l.track.enabled = !muted;
    }
    this.changed();
  }

  // finish ends the meeting for this client, whatever the reason.
  finish(reason, d) {
    if (!this.inRoom) return;
    for (const l of this.local.values()) l.track?.stop();
    this.pub?.close();
    this.sub?.close();
    this.pub = this.sub = null;
    this.local.clear();
    this.remote.clear();
    this.setState(MeetingState.left);
    this.emit("ended", { reason, by: d?.by, banned: !!d?.banned });
  }

  // ---- the room ----------------------------------------------------------

  /** Everyone joined, the participant first, then in joining order. */
  everyone() { return this.self ? [this.self, ...this.participants.values()] : [...this.participants.values()]; }

  participant(id) { return id === this.self?.participant_id ? this.self : this.participants.get(id); }

  /** The track record (track_id, source, kind, muted, ...) of a published track. */
  trackInfo(trackId) {
    for (const p of this.participants.values()) for (const t of p.tracks || []) if (t.track_id === trackId) return t;
    return null;
  }

  /** The received MediaStreamTrack of participant id's source, if any. */
  remoteTrack(participantId, source) {
    const p = this.participants.get(participantId);
    const info = p?.tracks?.find((t) => t.source === source);
    return info ? this.remote.get(info.track_id) || null : null;
  }

  /** The participant's own published track of source, if any. */
  localTrack(source) { return this.local.get(source)?.track || null; }

  /** Whether participant id's source is muted (published or not). */
  isMuted(participantId, source) { return !!this.participant(participantId)?.muted?.includes(source); }

  updateParticipant(p) {
    if (p.participant_id === this.self?.participant_id) this.self = { ...this.self, ...p };
    else this.participants.set(p.participant_id, { ...this.participants.get(p.participant_id), ...p });
    this.changed();
  }

  dropParticipant(id) {
    const p = this.participants.get(id);
    if (!p) return;
    for (const t of p.tracks || []) this.remote.delete(t.track_id);
    this.participants.delete(id);
    this.changed();
  }

  trackPublished(tr) {
    if (tr.participant_id === this.self?.participant_id) {
      this.self.tracks = [...(this.self.tracks || []).filter((t) => t.track_id !== tr.track_id), tr];
      this.changed();
      return;
    }
    const p = this.participants.get(tr.participant_id);
    if (!p) return;
    p.tracks = [...(p.tracks || []).filter((t) => t.track_id !== tr.track_id), tr];
    this.changed();
    if (this.remote.has(tr.track_id)) this.emit("track", { participantId: tr.participant_id, trackId: tr.track_id, track: this.remote.get(tr.track_id) });
  }

  trackUnpublished(d) {
    const p = this.participant(d.participant_id);
    if (p) p.tracks = (p.tracks || []).filter((t) => t.track_id !== d.track_id);
    this.remote.delete(d.track_id);
    if (d.participant_id === this.self?.participant_id) {
      // A host stopped our screen share (screen_share_disabled).
      for (const [source, l] of this.local) if (l.trackId === d.track_id) this.dropLocal(source);
    }
    this.changed();
  }

  applyMuted(d) {
    const p = this.participant(d.participant_id);
    if (p) {
      const set = new Set(p.muted || []);
      if (d.muted) set.add(d.source); else set.delete(d.source);
      p.muted = [...set];
      for (const t of p.tracks || []) if (t.source === d.source) t.muted = d.muted;
      if (p === this.self) {
        p.unmuteLocked = d.muted && !d.allow_unmute ? [...new Set([...(p.unmuteLocked || []), d.source])] : (p.unmuteLocked || []).filter((s) => s !== d.source);
        // A host's mute stops the server forwarding; stop sending too.
        const l = this.local.get(d.source);
        if (l?.track && d.muted) l.track.enabled = false;
      }
    }
    this.changed();
    this.emit("muted", d);
  }

  // ---- publishing --------------------------------------------------------

  newPublisher() {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: "max-bundle" });
    pc.onicecandidate = (e) => this.trickle("publisher", e.candidate);
    pc.oniceconnectionstatechange = () => {
      clearTimeout(this.pubRestartTimer);
      if (pc.iceConnectionState === "failed" || pc.iceConnectionState === "disconnected") {
        this.pubRestartTimer = setTimeout(() => {
          if (this.pub === pc && this.state === MeetingState.joined && pc.iceConnectionState !== "connected") this.restartPublisher().catch((error) => this.emit("error", { error }));
        }, PUBLISHER_RESTART_MS);
      }
    };
    return pc;
  }

  // trickle sends one of the client's candidates. The server makes its
  // publisher connection with the first offer, so candidates gathered
  // before that offer is on its way wait for it.
  trickle(target, c) {
    const candidate = c ? c.toJSON() : { candidate: "" };
    if (target === "publisher" && !this.pubOffered) { this.pubCandidates.push(candidate); return; }
    this.conn.send("meeting.candidate", { target, candidate });
  }

  offered() {
    this.pubOffered = true;
    for (const candidate of this.pubCandidates.splice(0)) this.conn.send("meeting.candidate", { target: "publisher", candidate });
  }

  // serial runs fn after the publisher's earlier negotiations.
  serial(fn) {
    const run = this.pubChain.then(fn);
    this.pubChain = run.catch(() => {});
    return run;
  }

  /**
   * publish sends local tracks: items [{track, source, simulcast}], one
   * per source (microphone, camera, screen_share, screen_share_audio).
   * One offer carries them all. A refused offer is rolled back, and the
   * error (WsError) thrown. A source published already has its track
   * replaced instead, with no new offer.
   */
  publish(items) {
    return this.serial(async () => {
      if (this.state !== MeetingState.joined) throw new WsError("bad_state", "not joined");
      const pc = this.pub;
      const added = [];
      for (const { track, source, simulcast } of items) {
        if (Sources[source] !== track.kind) throw new WsError("invalid_argument", `${source} takes ${Sources[source]}`);
        const have = this.local.get(source);
        if (have?.trackId) { await have.transceiver.sender.replaceTrack(track); have.track?.stop(); have.track = track; continue; }
        const init = { direction: "sendonly" };
        if (simulcast && track.kind === "video") init.sendEncodings = cameraLayers(track);
        added.push({ track, source, transceiver: pc.addTransceiver(track, init) });
      }
      if (!added.length) { this.changed(); return; }
      await pc.setLocalDescription(await pc.createOffer());
      let reply;
      try {
        const req = this.conn.request("meeting.publish", {
          sdp: pc.localDescription.sdp, tracks: added.map((a) => ({ mid: a.transceiver.mid, source: a.source })),
        });
        this.offered();
        reply = await req;
      } catch (err) {
        await pc.setLocalDescription({ type: "rollback" }).catch(() => {});
        for (const a of added) a.transceiver.stop();
        throw err;
      }
      await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
      for (const a of added) {
        const info = reply.tracks.find((t) => t.source === a.source);
        this.local.set(a.source, { track: a.track, transceiver: a.transceiver, trackId: info?.track_id });
        if (Sources[a.source] === "audio" && this.self.muted?.includes(a.source)) a.track.enabled = false;
        a.track.addEventListener("ended", () => { if (this.local.get(a.source)?.track === a.track && a.source.startsWith("screen")) this.unpublish(a.source).catch(() => {}); });
      }
      this.changed();
    });
  }

  /**
   * unpublish stops one source: the server stops forwarding it at once,
   * then the transceiver is stopped and the publisher renegotiated.
   */
  unpublish(source) {
    return this.serial(async () => {
      const l = this.local.get(source);
      if (!l) return;
      this.dropLocal(source);
      if (l.trackId && this.state === MeetingState.joined) {
        await this.conn.request("meeting.unpublish", { track_id: l.trackId }).catch((err) => { if (err.code !== "not_found") throw err; });
      }
      if (!this.pub) return;
      await this.pub.setLocalDescription(await this.pub.createOffer());
      const reply = await this.conn.request("meeting.offer", { sdp: this.pub.localDescription.sdp });
      await this.pub.setRemoteDescription({ type: "answer", sdp: reply.sdp });
    });
  }

  dropLocal(source) {
    const l = this.local.get(source);
    if (!l) return;
    this.local.delete(source);
    l.track?.stop();
    try { l.transceiver.stop(); } catch { /* the connection is closed */ }
    this.changed();
  }

  /**
   * setMuted mutes or unmutes one of the participant's sources. Muted
   * audio is not sent at all (track.enabled); the server stops forwarding
   * the source at once. Unmuting what a host muted without allowing it is
   * refused (WsError "forbidden").
   */
  async setMuted(source, muted) {
    await this.conn.request("meeting.mute", { source, muted });
    const l = this.local.get(source);
    if (l?.track) l.track.enabled = !muted;
    this.applyMuted({ participant_id: this.self.participant_id, source, muted, allow_unmute: true });
  }

  /**
   * setCamera turns a published camera off (the track is stopped, so the
   * light goes out, and the source muted) or on again with a new track,
   * on the same transceiver: no renegotiation either way.
   */
  async setCamera(track) {
    const l = this.local.get("camera");
    if (!l) { if (track) await this.publish([{ track, source: "camera", simulcast: true }]); return; }
    if (!track) {
      await this.conn.request("meeting.mute", { source: "camera", muted: true });
      await l.transceiver.sender.replaceTrack(null);
      l.track?.stop();
      l.track = null;
      this.applyMuted({ participant_id: this.self.participant_id, source: "camera", muted: true, allow_unmute: true });
      return;
    }
    await l.transceiver.sender.replaceTrack(track);
    l.track = track;
    await this.conn.request("meeting.mute", { source: "camera", muted: false });
    this.applyMuted({ participant_id: this.self.participant_id, source: "camera", muted: false, allow_unmute: true });
  }

  /** Restarts ICE on the publisher: a new offer with new credentials. */
  restartPublisher() {
    return this.serial(async () => {
      const pc = this.pub;
      if (!pc || pc.signalingState === "closed") return;
      await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
      const reply = await this.conn.request("meeting.offer", { sdp: pc.localDescription.sdp });
      await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
    });
  }

  // ---- receiving ---------------------------------------------------------

  newSubscriber() {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: "max-bundle" });
    pc.onicecandidate = (e) => this.trickle("subscriber", e.candidate);
    pc.ontrack = (e) => {
      const participantId = e.streams[0]?.id;
      const trackId = e.track.id;
      this.remote.set(trackId, e.track);
      e.track.addEventListener("ended", () => { if (this.remote.get(trackId) === e.track) this.remote.delete(trackId); });
      this.emit("track", { participantId, trackId, track: e.track });
    };
    return pc;
  }

  // answerSubscriber answers a server offer, one at a time, in order.
  answerSubscriber(sdp) {
    const run = this.subChain.then(async () => {
      if (!this.sub) this.sub = this.newSubscriber();
      const pc = this.sub;
      await pc.setRemoteDescription({ type: "offer", sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await this.conn.request("meeting.subscriber_answer", { sdp: pc.localDescription.sdp });
    });
    this.subChain = run.catch((error) => { if (error.code !== "disconnected") this.emit("error", { error }); });
    return run;
  }

  /**
   * subscribe starts receiving a track, or changes how: layer caps the
   * simulcast layer ("low", "medium", "high"), maxWidth and maxHeight the
   * picture size it is shown at.
   */
  subscribe(trackId, { layer, maxWidth, maxHeight } = {}) {
    return this.conn.request("meeting.subscribe", { track_id: trackId, layer, max_width: maxWidth, max_height: maxHeight });
  }

  unsubscribe(trackId) { return this.conn.request("meeting.unsubscribe", { track_id: trackId }); }

  // ---- resume ------------------------------------------------------------

  // resume gets the participant's place back after the socket dropped,
  // or joins again when the grace period is over.
  async resume() {
    let snap;
    try {
      snap = await this.conn.request("meeting.resume", { meeting_id: this.meetingId, participant_id: this.self.participant_id, resume_token: this.resumeToken });
    } catch (err) {
      if (err.code === "disconnected" || err.code === "timeout") return; // the next "open" tries again
      if (err.code === "resume_failed") { this.rejoin().catch((error) => this.emit("error", { error })); return; }
      this.finish(err.code === "meeting_ended" ? "meeting_ended" : "disconnected", {});
      return;
    }
    this.apply(snap);
    this.setState(snap.self.state === "waiting" ? MeetingState.waiting : MeetingState.joined);
    if (this.state === MeetingState.joined && this.local.size) this.restartPublisher().catch((error) => this.emit("error", { error }));
  }

  // rejoin joins afresh, on new peer connections, and publishes again the
  // tracks the participant had, with their mutes.
  async rejoin() {
    const had = [...this.local.entries()].map(([source, l]) => ({ source, track: l.track, muted: this.self?.muted?.includes(source) }));
    this.pub?.close();
    this.sub?.close();
    const id = this.meetingId;
    this.state = MeetingState.idle;
    for (const l of this.local.values()) try { l.transceiver.stop(); } catch { /* closed */ }
    this.local.clear();
    await this.join(id, { autoSubscribe: this.autoSubscribe });
    const items = had.filter((x) => x.track && x.track.readyState === "live").map((x) => ({ track: x.track, source: x.source, simulcast: x.source === "camera" }));
    if (this.state === MeetingState.joined && items.length) {
      await this.publish(items);
      for (const x of had) if (x.muted) await this.setMuted(x.source, true).catch(() => {});
    }
  }

  // ---- host controls -------------------------------------------------------

  /** Mutes a participant's source; allowUnmute false keeps it muted until a host allows. */
  hostMute(participantId, { source = "microphone", allowUnmute = true } = {}) {
    return this.conn.request("meeting.host.mute", { participant_id: participantId, source, allow_unmute: allowUnmute });
  }

  /** Mutes every microphone but the hosts'; resolves with {muted: count}. */
  muteAll({ allowUnmute = true } = {}) { return this.conn.request("meeting.host.mute_all", { allow_unmute: allowUnmute }); }

  remove(participantId, { ban = false } = {}) { return this.conn.request("meeting.host.remove", { participant_id: participantId, ban }); }
  lock(locked) { return this.conn.request("meeting.host.lock", { locked }); }
  setWaitingRoom(enabled) { return this.conn.request("meeting.host.waiting_room", { enabled }); }
  allowScreenShare(allowed) { return this.conn.request("meeting.host.screen_share", { allowed }); }
  admit(participantId) { return this.conn.request("meeting.host.admit", { participant_id: participantId }); }
  deny(participantId) { return this.conn.request("meeting.host.deny", { participant_id: participantId }); }
  setCohost(participantId, cohost) { return this.conn.request("meeting.host.cohost", { participant_id: participantId, cohost }); }
  transferHost(participantId) { return this.conn.request("meeting.host.transfer", { participant_id: participantId }); }
  /**
   * record starts or stops the meeting's recording (host or co-host);
   * everyone hears "meeting.recording" when it starts and stops.
   */
  async record(on) {
    const info = await this.conn.request("meeting.host.record", { recording: on });
    this.recording = info.state === "stopped" ? null : info;
    this.changed();
    return info;
  }

  /** Ends the meeting for everyone (host only). */
  end() { return this.conn.request("meeting.host.end", {}); }
}
