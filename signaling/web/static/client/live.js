// LiveRoom is one live's room on top of a Connection (PROTOCOL.md "Live
// interactions over the WebSocket"): comments, likes, questions and
// answers, polls, the lottery and announcements, kept as the live's log
// (gapless seqs, like a conversation's), and the like, vote and viewer
// tallies. It also watches the live over the same socket (live.watch,
// members only; others play it with WhepPlayer). After a reconnect it
// joins again, pulls what it missed and watches again.

import { ConversationLog } from "./log.js";
import { uuid } from "./ids.js";

const LIKE_FLUSH_MS = 300;
const MAX_LIKES_PER_REQUEST = 100;
const PAGE = 100;

// The pushed entry types; each push's data is an entry of the live's log.
const ENTRY_TYPES = ["live.comment", "live.question", "live.answer", "live.announcement", "live.delete", "live.mute", "live.poll", "live.poll.closed", "live.lottery"];

// Entry types that are changes to others, never shown as lines.
const HIDDEN_TYPES = new Set(["live.delete", "live.mute", "live.poll.closed", "live.answer"]);

/**
 * LiveRoom events (CustomEvent): "joined" (the live.joined data);
 * "entries" – the log changed; "likes" {total}; "viewers" {count};
 * "polls" – a poll opened, closed or was tallied; "lottery" (a draw's
 * entry, for draws made while in the room); "muted" {muted} – the host
 * muted or let the viewer again; "watch" {stream} – a watch started;
 * "watchended" {reason}.
 */
export class LiveRoom extends EventTarget {
  /** connection: a Connection (/ws for members, /ws/live for viewers); liveId: the live. */
  constructor({ connection, liveId }) {
    super();
    this.conn = connection;
    this.liveId = liveId;
    this.conversationId = "live:" + liveId;
    this.log = new ConversationLog(this.conversationId);
    this.deleted = new Set();
    this.answers = new Map(); // question seq -> [answer entries]
    this.polls = new Map(); // poll id -> {poll_id, question, options, open, counts, votes}
    this.voted = new Map(); // poll id -> option chosen here
    this.likes = 0; // shown: the server's total and this client's taps since
    this.serverLikes = 0;
    this.sentLikes = 0;
    this.pendingLikes = 0;
    this.viewers = 0;
    this.info = null; // the live.joined data
    this.joinedSeq = 0;
    this.watching = null; // the options of the watch to keep up
    const mine = (d) => d.live_id === liveId;
    this.offs = [
      ...ENTRY_TYPES.map((type) => connection.on(type, (e) => { if (e.conversation_id === this.conversationId) this.addEntries([e]); })),
      connection.on("live.likes", (d) => { if (mine(d)) this.setLikes(d.total); }),
      connection.on("live.viewers", (d) => { if (mine(d)) { this.viewers = d.count; this.emit("viewers", { count: d.count }); } }),
      connection.on("live.poll.tally", (d) => { if (mine(d)) this.tally(d.poll_id, d.counts, d.votes); }),
      connection.on("live.watch.ended", (d) => { if (mine(d)) this.watchEnded(d.reason); }),
    ];
    this.onOpen = (ev) => { if (this.info && ev.detail.reconnect) this.rejoin(); };
    connection.addEventListener("open", this.onOpen);
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  get role() { return this.info?.role || ""; }
  get viewerId() { return this.info?.viewer_id || ""; }
  get status() { return this.info?.status || ""; }
  get muted() { return !!this.info?.muted; }
  /** Whether the socket may moderate: the host or a guest presenter. */
  get isPresenter() { return this.role === "host" || this.role === "guest"; }

  /** join enters the room and loads the newest page of its log. */
  async join() {
    const info = await this.conn.request("live.join", { live_id: this.liveId });
    this.applyJoined(info);
    if (this.log.empty) await this.loadHistory();
    return info;
  }

  applyJoined(info) {
    this.info = info;
    this.joinedSeq = info.last_seq;
    this.setLikes(info.likes);
    this.viewers = info.viewers;
    for (const p of info.polls || []) this.polls.set(p.poll_id, { ...this.polls.get(p.poll_id), ...p });
    this.emit("joined", info);
    this.emit("viewers", { count: this.viewers });
    this.emit("polls");
  }

  async rejoin() {
    try {
      const info = await this.conn.request("live.join", { live_id: this.liveId });
      this.applyJoined(info);
      if (this.log.empty) await this.loadHistory();
      else if (info.last_seq > this.log.held) await this.pull(this.log.held + 1);
      if (this.watching) await this.watch(this.watching);
    } catch { /* the next reconnect tries again */ }
  }

  /** Leaves the room and stops watching; the room object is done. */
  async leave() {
    this.unwatchLocal();
    for (const off of this.offs) off();
    this.conn.removeEventListener("open", this.onOpen);
    clearTimeout(this.likeTimer);
    if (this.info) await this.conn.request("live.leave", { live_id: this.liveId }).catch(() => {});
    this.info = null;
  }

  // ---- the log -------------------------------------------------------------

  addEntries(entries) {
    if (!entries?.length || !this.log.add(entries)) return;
    for (const e of entries) this.index(e);
    if (this.log.gapped) this.pull(this.log.held + 1);
    this.emit("entries");
  }

  index(e) {
    const b = e.body || {};
    switch (e.type) {
      case "live.delete": this.deleted.add(b.seq); break;
      case "live.answer": {
        const list = this.answers.get(b.question_seq) || [];
        if (!list.some((a) => a.seq === e.seq)) list.push(e);
        this.answers.set(b.question_seq, list);
        break;
      }
      case "live.mute":
        if (b.viewer_id === this.viewerId && this.info) { this.info.muted = b.muted; this.emit("muted", { muted: b.muted }); }
        break;
      case "live.poll": {
        const old = this.polls.get(e.seq);
        this.polls.set(e.seq, { poll_id: e.seq, question: b.question, options: b.options, open: true, counts: b.options.map(() => 0), votes: 0, ...old });
        this.emit("polls");
        break;
      }
      case "live.poll.closed": {
        const p = this.polls.get(b.poll_id);
        if (p) Object.assign(p, { open: false, counts: b.counts, votes: b.votes });
        this.emit("polls");
        break;
      }
      case "live.lottery":
        if (e.seq > this.joinedSeq) this.emit("lottery", e);
        break;
    }
  }

  /** The entries shown as lines, oldest first: no deleted ones, no bookkeeping. */
  entries() { return this.log.entries().filter((e) => !this.deleted.has(e.seq) && !HIDDEN_TYPES.has(e.type)); }

  /** The answers to question seq, oldest first. */
  answersTo(seq) { return this.answers.get(seq) || []; }

  /** Loads one page of older entries; resolves false when there are none. */
  async loadHistory() {
    if (!this.log.empty && this.log.floor <= 1) return false;
    const page = await this.conn.request("live.history", { live_id: this.liveId, before_seq: this.log.empty ? 0 : this.log.floor, limit: PAGE });
    this.addEntries(page.entries);
    return page.entries.length > 0;
  }

  async pull(from) {
    if (this.pulling) return;
    this.pulling = true;
    try {
      for (;;) {
        const page = await this.conn.request("live.pull", { live_id: this.liveId, from_seq: from, limit: PAGE });
        this.addEntries(page.entries);
        if (page.entries.length < PAGE && !this.log.gapped) return;
        if (!page.entries.length) return;
        from = this.log.held + 1;
      }
    } catch { /* the next push or reconnect pulls again */ } finally { this.pulling = false; }
  }

  // post sends a request that stores an entry, then makes sure the entry
  // is held (its push may be lost).
  async post(type, data) {
    const ack = await this.conn.request(type, { live_id: this.liveId, client_msg_id: uuid(), ...data });
    if (!this.log.get(ack.seq)) this.pull(this.log.empty ? ack.seq : this.log.held + 1);
    return ack;
  }

  // ---- viewers' actions ------------------------------------------------------

  comment(text) { return this.post("live.comment", { text }); }
  ask(text) { return this.post("live.ask", { text }); }

  /**
   * like counts taps at once and sends them together, at most every
   * 300 ms and 100 to a request, as the server's rate limit wants. The
   * total shown counts them at once; the next tally corrects it.
   */
  like(count = 1) {
    this.pendingLikes += count;
    this.showLikes();
    if (!this.likeTimer) this.likeTimer = setTimeout(() => this.flushLikes(), LIKE_FLUSH_MS);
  }

  async flushLikes() {
    this.likeTimer = 0;
    const n = Math.min(this.pendingLikes, MAX_LIKES_PER_REQUEST);
    if (!n) return;
    this.pendingLikes -= n;
    this.sentLikes += n;
    try {
      await this.conn.request("live.like", { live_id: this.liveId, count: n });
    } catch {
      this.sentLikes -= n; // rate limited or offline: these taps are dropped
      this.showLikes();
    }
    if (this.pendingLikes) this.likeTimer = setTimeout(() => this.flushLikes(), LIKE_FLUSH_MS);
  }

  // setLikes takes the server's total, which counts what was sent before it.
  setLikes(total) {
    this.serverLikes = total;
    this.sentLikes = 0;
    this.showLikes();
  }

  showLikes() {
    this.likes = this.serverLikes + this.sentLikes + this.pendingLikes;
    this.emit("likes", { total: this.likes });
  }

  /** Votes for option (0-based) of poll pollId. */
  async vote(pollId, option) {
    try {
      await this.conn.request("live.vote", { live_id: this.liveId, poll_id: pollId, option });
    } catch (err) {
      if (err.code !== "already_voted") throw err;
    }
    this.voted.set(pollId, option);
    this.emit("polls");
  }

  tally(pollId, counts, votes) {
    const p = this.polls.get(pollId);
    if (!p) return;
    Object.assign(p, { counts, votes });
    this.emit("polls");
  }

  /** Every draw of the live, oldest first. */
  async draws() { return (await this.conn.request("live.lottery.list", { live_id: this.liveId })).draws || []; }

  // ---- presenters' actions ---------------------------------------------------

  /** Answers question seq; without text it is only marked answered. */
  answer(questionSeq, text) { return this.post("live.answer", { question_seq: questionSeq, text: text || undefined }); }
  announce(text) { return this.post("live.announce", { text }); }
  /** Deletes a comment or question. */
  remove(seq) { return this.conn.request("live.delete", { live_id: this.liveId, seq }); }
  muteViewer(viewerId, muted) { return this.post("live.mute", { viewer_id: viewerId, muted }); }

  async openPoll(question, options) {
    const p = await this.conn.request("live.poll.open", { live_id: this.liveId, client_msg_id: uuid(), question, options });
    this.polls.set(p.poll_id, { ...this.polls.get(p.poll_id), ...p });
    this.emit("polls");
    return p;
  }

  async closePoll(pollId) {
    const p = await this.conn.request("live.poll.close", { live_id: this.liveId, poll_id: pollId });
    this.polls.set(p.poll_id, { ...this.polls.get(p.poll_id), ...p });
    this.emit("polls");
    return p;
  }

  /**
   * draw draws winners: {count, condition ("comment", "question",
   * "like", "watch", "vote"), pollId, title, excludePreviousWinners}.
   */
  draw({ count, condition, pollId, title, excludePreviousWinners } = {}) {
    return this.conn.request("live.lottery.draw", {
      live_id: this.liveId, client_msg_id: uuid(), count, condition, poll_id: pollId, title, exclude_previous_winners: !!excludePreviousWinners,
    });
  }

  // ---- watching over the socket (members) ------------------------------------

  /**
   * watch plays the live over the WebSocket, the server offering: it
   * resolves with the MediaStream the tracks arrive on. maxWidth and
   * maxHeight cap the simulcast layer sent. It is kept up across
   * reconnects until unwatch(). Errors: WsError not_on_air (try again
   * later), not_found, capacity.
   */
  async watch({ maxWidth, maxHeight } = {}) {
    this.unwatchLocal();
    this.watching = { maxWidth, maxHeight };
    const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
    const stream = new MediaStream();
    const early = [];
    let answered = false;
    this.watchPc = pc;
    pc.ontrack = (e) => stream.addTrack(e.track);
    pc.onicecandidate = (e) => {
      if (!e.candidate) return;
      if (!answered) { early.push(e.candidate.toJSON()); return; }
      this.sendCandidate(e.candidate.toJSON());
    };
    try {
      const offer = await this.conn.request("live.watch", { live_id: this.liveId, max_width: maxWidth, max_height: maxHeight });
      await pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await this.conn.request("live.watch.answer", { live_id: this.liveId, sdp: pc.localDescription.sdp });
    } catch (err) {
      if (this.watchPc === pc) { this.watchPc = null; pc.close(); }
      if (err.code !== "disconnected") this.watching = null;
      throw err;
    }
    answered = true;
    for (const c of early) this.sendCandidate(c);
    this.watchStream = stream;
    this.emit("watch", { stream });
    return stream;
  }

  sendCandidate(candidate) {
    this.conn.request("live.watch.candidate", { live_id: this.liveId, candidate }).catch(() => {});
  }

  /** Stops watching. */
  async unwatch() {
    const had = !!this.watchPc;
    this.watching = null;
    this.unwatchLocal();
    if (had) await this.conn.request("live.unwatch", { live_id: this.liveId }).catch(() => {});
  }

  unwatchLocal() {
    this.watchPc?.close();
    this.watchPc = null;
    this.watchStream = null;
  }

  watchEnded(reason) {
    this.unwatchLocal();
    this.watching = null;
    this.emit("watchended", { reason });
  }
}
