// ChatClient is chat on top of a Connection (PROTOCOL.md section 7): it
// syncs after every (re)connect, keeps each conversation's log in order
// and without gaps, resends unacknowledged messages with the same
// client_msg_id, moves the delivery and read cursors, and tracks receipts
// of the member's own messages.

import { WsError } from "./connection.js";
import { ConversationLog } from "./log.js";
import { uuid } from "./ids.js";
import { directPeer, membersFromLog } from "./members.js";

const PULL_LIMIT = 200;
const DELIVERED_DELAY_MS = 300;
const RATE_LIMIT_RETRY_MS = 1000;
const SYSTEM_REFRESH_DELAY_MS = 200;
const ACK_ENTRY_WAIT_MS = 2000;

// Errors after which resending the same message cannot succeed.
const FINAL_SEND_ERRORS = new Set(["not_member", "forbidden", "dissolved", "invalid_argument", "too_large", "limit_reached"]);

/**
 * ChatClient events (all CustomEvent):
 * "conversations" – the list or a summary changed;
 * "entries" {conversationId} – a conversation's log or outbox changed;
 * "receipt" {conversationId, seqs} – read counts of own messages changed;
 * "typing" {conversationId, memberId};
 * "urgent" {conversation_id, seq, sender_id, repeat, of};
 * "synced" – a sync after (re)connecting finished.
 */
export class ChatClient extends EventTarget {
  /** connection: a Connection; rest: its RestClient; memberId: the signed-in member. */
  constructor({ connection, rest, memberId }) {
    super();
    this.conn = connection;
    this.rest = rest;
    this.me = memberId;
    this.summaries = new Map();
    this.logs = new Map();
    this.outbox = new Map(); // conversation id -> [pending message]
    this.receipts = new Map(); // conversation id -> Map seq -> receipt counts
    this.pulling = new Map();
    this.rosters = new Map(); // conversation id -> {members, seq} from REST, for members who joined late
    this.deliveredSent = new Map();
    this.timers = new Map();
    this.synced = false;
    this.peers = new Map(); // direct conversation id -> the other member

    connection.addEventListener("open", () => this.resync());
    connection.on("chat.message", (e) => this.addEntries(e.conversation_id, [e]));
    connection.on("chat.conversation", (s) => { this.setSummary(s); this.pullFrom(s.conversation.id, s.joined_seq); });
    connection.on("chat.removed", (d) => {
      const s = this.summaries.get(d.conversation_id);
      if (s) { s.removed = true; this.emit("conversations"); }
    });
    connection.on("chat.read", (d) => this.applyRead(d.conversation_id, d.read_seq));
    connection.on("chat.receipt", (d) => this.applyReceipts(d.conversation_id, d.counts));
    connection.on("chat.typing", (d) => {
      if (d.member_id !== this.me) this.emit("typing", { conversationId: d.conversation_id, memberId: d.member_id });
    });
    connection.on("chat.urgent", (d) => this.emit("urgent", d));
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  log(id) {
    if (!this.logs.has(id)) this.logs.set(id, new ConversationLog(id));
    return this.logs.get(id);
  }

  /** The member's conversations, most recently active first. */
  conversations() {
    return [...this.summaries.values()].sort((a, b) => lastActive(b, this) - lastActive(a, this));
  }

  summary(id) { return this.summaries.get(id); }

  /** The log entries held for a conversation, oldest first. */
  entries(id) { return this.log(id).entries(); }

  /** Messages sent from this device that have no ack yet, or failed. */
  pending(id) { return this.outbox.get(id) || []; }

  isRecalled(id, seq) { return this.log(id).isRecalled(seq); }

  /** Known read counts of one of the member's own messages, or undefined. */
  receipt(id, seq) { return this.receipts.get(id)?.get(seq); }

  /**
   * The other member of a direct conversation if known now; otherwise
   * starts finding out (an "entries" event follows) and returns null.
   */
  peer(id) {
    if (this.peers.has(id)) return this.peers.get(id);
    const named = this.summaries.get(id)?.peer_id; // servers since peer_id name it in the summary
    if (named) { this.peers.set(id, named); return named; }
    const p = directPeer(this.entries(id), this.me);
    if (p) { this.peers.set(id, p); return p; }
    if (!this.peers.has("?" + id) && this.summaries.get(id)?.conversation.kind === "direct") {
      this.peers.set("?" + id, true);
      // The created entry names both members; fetch it without adding it
      // to the log, where it would sit apart from the newest page.
      this.conn.request("chat.pull", { conversation_id: id, from_seq: 1, limit: 1 }).then((page) => {
        const found = directPeer(page.entries, this.me);
        if (found) { this.peers.set(id, found); this.emit("conversations"); this.emit("entries", { conversationId: id }); }
      }, () => this.peers.delete("?" + id));
    }
    return null;
  }

  /**
   * Who is in a conversation: from its log when that is held from the
   * start, else from the REST roster (fetched once; an "entries" event
   * follows) plus the log since. See members.js.
   */
  members(id) {
    const summary = this.summaries.get(id);
    const fromLog = membersFromLog(this.entries(id), summary);
    if (fromLog.complete) return fromLog;
    const roster = this.rosters.get(id);
    if (roster?.members) return membersFromLog(this.entries(id), summary, roster);
    if (!roster) this.fetchRoster(id);
    return fromLog;
  }

  fetchRoster(id) {
    const seq = this.summaries.get(id)?.last_seq || 0; // entries up to here are in the answer
    this.rosters.set(id, { pending: true });
    this.rest.get(convPath(id) + "/members").then((r) => {
      const members = new Map((r.members || []).map((m) => [m.member_id, { id: m.member_id, role: m.role, muted: !!m.muted }]));
      this.rosters.set(id, { members, seq });
      this.emit("entries", { conversationId: id });
    }, () => this.rosters.delete(id)); // asked again on the next look
  }

  // ---- sync -------------------------------------------------------------

  /** Sync after connecting (client rule 3), then resend the outbox. */
  async resync() {
    const cursors = {};
    for (const [id, log] of this.logs) if (!log.empty) cursors[id] = log.held;
    let done;
    try {
      done = await this.conn.request("chat.sync", { cursors }, {
        final: (type) => type === "chat.sync.done",
        onReply: (env) => { if (env.type === "chat.sync.page") this.addEntries(env.data.conversation_id, env.data.entries); },
      });
    } catch (err) {
      if (err instanceof WsError && err.code !== "disconnected") console.warn("parley: sync failed", err);
      return;
    }
    const listed = new Set();
    for (const s of done.conversations || []) {
      listed.add(s.conversation.id);
      this.setSummary(s, true);
      if (s.has_more) this.pullFrom(s.conversation.id, s.next_seq);
      else if (this.log(s.conversation.id).held < s.last_seq && !this.log(s.conversation.id).empty) this.pullFrom(s.conversation.id, this.log(s.conversation.id).held + 1);
    }
    for (const id of [...this.summaries.keys()]) if (!listed.has(id)) this.summaries.delete(id);
    this.synced = true;
    this.emit("conversations");
    this.emit("synced");
    for (const [id, list] of this.outbox) for (const m of list) if (m.status === "sending") this.transmit(id, m);
  }

  setSummary(s, quiet) {
    const id = s.conversation.id;
    const old = this.summaries.get(id);
    const merged = { ...s };
    if (old) {
      merged.read_seq = Math.max(old.read_seq, s.read_seq);
      merged.last_seq = Math.max(old.last_seq, s.last_seq);
    }
    delete merged.has_more; delete merged.next_seq;
    // The server's unread count holds for the stretch it was taken over;
    // recount starts from it when the log does not hold that stretch.
    merged.counted = typeof s.unread === "number" ? { read: s.read_seq, last: s.last_seq, unread: s.unread } : old?.counted;
    this.summaries.set(id, merged);
    this.recount(id);
    if (!quiet) this.emit("conversations");
  }

  recount(id) {
    const s = this.summaries.get(id);
    if (!s) return;
    const log = this.logs.get(id);
    if (log) s.last_seq = Math.max(s.last_seq, log.top);
    let unread = Math.max(0, s.last_seq - s.read_seq);
    // Unread is what a person calls unread: other members' messages, not
    // system lines, recalls or recalled messages. The log counts it when
    // it holds the whole stretch after read_seq; otherwise the server's
    // count (which follows the same rule) stands, plus whatever arrived
    // after the server counted.
    const c = s.counted;
    if (c && c.read === s.read_seq && s.last_seq >= c.last) unread = c.unread + (s.last_seq - c.last);
    if (unread && log && log.floor && log.floor <= s.read_seq + 1 && log.held >= s.last_seq) {
      unread = 0;
      for (let q = s.read_seq + 1; q <= s.last_seq; q++) {
        const e = log.get(q);
        if (e && e.sender_id !== this.me && e.type !== "system" && e.type !== "recall" && !log.isRecalled(q)) unread++;
      }
    }
    s.unread = unread;
  }

  /** Stores entries (rule 1), fills gaps (rule 2), reports delivery (rule 6). */
  addEntries(id, entries) {
    if (!entries?.length) return;
    const log = this.log(id);
    if (!log.add(entries)) return;
    for (const e of entries) {
      if (e.sender_id === this.me) this.settle(id, e.client_msg_id);
      if (e.type === "system") this.systemChanged(id, e);
    }
    if (log.gapped) this.pullFrom(id, log.held + 1);
    this.recount(id);
    this.scheduleDelivered(id);
    this.emit("entries", { conversationId: id });
    this.emit("conversations");
  }

  /** Pulls a conversation's log from seq on until caught up. One pull per conversation at a time. */
  pullFrom(id, fromSeq) {
    if (this.pulling.has(id)) return this.pulling.get(id);
    const run = (async () => {
      let from = fromSeq;
      for (;;) {
        const page = await this.conn.request("chat.pull", { conversation_id: id, from_seq: from, limit: PULL_LIMIT });
        this.addEntries(id, page.entries);
        const log = this.log(id);
        if (page.entries.length < PULL_LIMIT && !log.gapped) return;
        if (!page.entries.length) return;
        from = log.held + 1;
      }
    })().catch((err) => {
      if (err.code === "not_member") this.markRemoved(id);
    }).finally(() => this.pulling.delete(id));
    this.pulling.set(id, run);
    return run;
  }

  /** Loads one page of older entries; resolves false when there are none. */
  async loadHistory(id, limit = 50) {
    const log = this.log(id);
    const s = this.summaries.get(id);
    const floorSeq = s?.joined_seq || 1;
    if (!log.empty && log.floor <= floorSeq) return false;
    const page = await this.conn.request("chat.history", { conversation_id: id, before_seq: log.empty ? 0 : log.floor, limit });
    this.addEntries(id, page.entries);
    return page.entries.length > 0;
  }

  markRemoved(id) {
    const s = this.summaries.get(id);
    if (s && !s.removed) { s.removed = true; this.emit("conversations"); }
  }

  // A system entry changed the conversation: refetch its summary (a
  // membership, a role, a setting), debounced, and note removal of self.
  systemChanged(id, e) {
    const b = e.body || {};
    if ((b.event === "left" || b.event === "removed") && b.members?.includes(this.me)) { this.markRemoved(id); return; }
    clearTimeout(this.timers.get("sys:" + id));
    this.timers.set("sys:" + id, setTimeout(() => this.refreshSummary(id), SYSTEM_REFRESH_DELAY_MS));
  }

  async refreshSummary(id) {
    try { this.setSummary(await this.rest.get("/conversations/" + encodeURIComponent(id))); } catch { /* a later sync corrects it */ }
  }

  // ---- cursors -----------------------------------------------------------

  scheduleDelivered(id) {
    const key = "del:" + id;
    if (this.timers.get(key)) return;
    this.timers.set(key, setTimeout(() => {
      this.timers.delete(key);
      const held = this.log(id).held;
      const s = this.summaries.get(id);
      if (!held || held <= (this.deliveredSent.get(id) || 0) || s?.removed) return;
      if (s && held <= Math.max(s.delivered_seq || 0, s.read_seq)) return;
      this.deliveredSent.set(id, held);
      this.conn.request("chat.delivered", { conversation_id: id, seq: held }).catch(() => this.deliveredSent.delete(id));
    }, DELIVERED_DELAY_MS));
  }

  /** Marks a conversation read up to the highest seq held (what the user sees). */
  async markRead(id) {
    const s = this.summaries.get(id);
    const held = this.log(id).held;
    if (!s || s.removed || !held || held <= s.read_seq) return;
    this.applyRead(id, held);
    try {
      const c = await this.conn.request("chat.read", { conversation_id: id, seq: held });
      this.applyRead(id, c.read_seq);
    } catch { /* the next markRead retries */ s.read_seq = Math.min(s.read_seq, held - 1); }
  }

  applyRead(id, seq) {
    const s = this.summaries.get(id);
    if (!s || seq <= s.read_seq) return;
    s.read_seq = seq;
    this.recount(id);
    this.emit("conversations");
  }

  applyReceipts(id, counts) {
    if (!this.receipts.has(id)) this.receipts.set(id, new Map());
    const m = this.receipts.get(id);
    const seqs = [];
    for (const c of counts || []) {
      const old = m.get(c.seq);
      // Counts only grow; a stale answer must not undo a newer push.
      if (old && old.read_count > c.read_count) continue;
      m.set(c.seq, { ...old, ...c, readers: c.readers ?? (old?.read_count === c.read_count ? old?.readers : undefined), unreaders: c.unreaders ?? (old?.read_count === c.read_count ? old?.unreaders : undefined) });
      seqs.push(c.seq);
    }
    if (seqs.length) this.emit("receipt", { conversationId: id, seqs });
  }

  /** Fetches who has read one of the member's own messages (readers and unreaders). */
  async fetchReceipt(id, seq) {
    const r = await this.conn.request("chat.receipts", { conversation_id: id, seq });
    this.applyReceipts(id, [r]);
    return this.receipt(id, seq);
  }

  // ---- sending -----------------------------------------------------------

  /**
   * Sends a message. msg: {type, body, confidential?, urgent?}. Returns the
   * pending record at once; it stays in the outbox until acked and is
   * resent with the same client_msg_id after a reconnect (rule 5).
   */
  send(id, msg) {
    const m = { conversation_id: id, client_msg_id: uuid(), sender_id: this.me, type: msg.type, body: msg.body,
      confidential: !!msg.confidential, urgent: msg.urgent || null, created_at: new Date().toISOString(), status: "sending", local: true };
    if (!this.outbox.has(id)) this.outbox.set(id, []);
    this.outbox.get(id).push(m);
    this.emit("entries", { conversationId: id });
    this.transmit(id, m);
    return m;
  }

  async transmit(id, m) {
    if (m.inflight) return;
    m.inflight = true;
    const data = { conversation_id: id, client_msg_id: m.client_msg_id, type: m.type, body: m.body };
    if (m.confidential) data.confidential = true;
    if (m.urgent) data.urgent = m.urgent;
    try {
      const ack = await this.conn.request("chat.send", data);
      m.inflight = false;
      if (this.log(id).get(ack.seq)) { this.settle(id, m.client_msg_id); return; }
      // The sending device gets the entry as chat.message too, usually
      // around the ack; until then it shows as sent. Pull if it got lost.
      m.status = "sent"; m.seq = ack.seq;
      this.emit("entries", { conversationId: id });
      setTimeout(() => { if (!this.log(id).get(ack.seq)) this.pullFrom(id, this.log(id).empty ? ack.seq : this.log(id).held + 1); }, ACK_ENTRY_WAIT_MS);
    } catch (err) {
      m.inflight = false;
      if (err.code === "rate_limited") { setTimeout(() => this.transmit(id, m), RATE_LIMIT_RETRY_MS); return; }
      if (FINAL_SEND_ERRORS.has(err.code)) {
        m.status = "failed"; m.error = err.code;
        this.emit("entries", { conversationId: id });
      }
      // disconnected or timeout: stays "sending"; resync resends it.
    }
  }

  /** Resends a failed message with its original client_msg_id. */
  retry(id, clientMsgId) {
    const m = this.pending(id).find((x) => x.client_msg_id === clientMsgId);
    if (!m) return;
    m.status = "sending"; m.error = undefined;
    this.emit("entries", { conversationId: id });
    this.transmit(id, m);
  }

  /** Drops a failed message from the outbox. */
  discard(id, clientMsgId) {
    this.settle(id, clientMsgId);
  }

  settle(id, clientMsgId) {
    const list = this.outbox.get(id);
    if (!list || !clientMsgId) return;
    const i = list.findIndex((x) => x.client_msg_id === clientMsgId);
    if (i < 0) return;
    list.splice(i, 1);
    this.emit("entries", { conversationId: id });
  }

  /** Uploads a file to the conversation and sends it as a file or image message. */
  async sendFile(id, file, { caption, confidential, urgent } = {}) {
    const up = await this.rest.request("POST", "/conversations/" + encodeURIComponent(id) + "/files", { query: { name: file.name }, raw: file });
    const type = up.content_type?.startsWith("image/") ? "image" : "file";
    const body = { file_id: up.id };
    if (caption) body.caption = caption;
    const m = this.send(id, { type, body, confidential, urgent });
    m.upload = up;
    return m;
  }

  /** Tells the conversation the member is typing; the caller throttles. */
  typing(id) { this.conn.send("chat.typing", { conversation_id: id }); }

  /** Recalls a message; the recall entry arrives as chat.message. */
  async recall(id, seq) {
    const ack = await this.conn.request("chat.recall", { conversation_id: id, seq });
    if (!this.log(id).get(ack.seq)) this.pullFrom(id, this.log(id).held + 1);
    return ack;
  }

  // ---- conversations over REST ---------------------------------------------

  async openDirect(peerId) {
    const s = await this.rest.post("/conversations/direct", { peer_id: peerId });
    this.setSummary(s);
    if (this.log(s.conversation.id).empty) this.loadHistory(s.conversation.id).catch(() => {});
    return s;
  }

  async createGroup(spec) {
    const s = await this.rest.post("/conversations", spec);
    this.setSummary(s);
    return s;
  }

  updateGroup(id, patch) { return this.rest.patch(convPath(id), patch); }
  addMembers(id, members) { return this.rest.post(convPath(id) + "/members", { members }); }
  removeMember(id, member) { return this.rest.del(convPath(id) + "/members/" + encodeURIComponent(member)); }
  setRole(id, member, role) { return this.rest.put(convPath(id) + "/members/" + encodeURIComponent(member) + "/role", { role }); }
  setMuted(id, member, muted) { return this.rest.put(convPath(id) + "/members/" + encodeURIComponent(member) + "/mute", { muted }); }
  transferOwner(id, member) { return this.rest.post(convPath(id) + "/owner", { member_id: member }); }
  dissolve(id) { return this.rest.post(convPath(id) + "/dissolve"); }

  /** Downloads a file of a conversation as a Blob (for previews and saving). */
  download(fileId) { return this.rest.request("GET", "/files/" + encodeURIComponent(fileId), { as: "blob" }); }
}

function convPath(id) { return "/conversations/" + encodeURIComponent(id); }

function lastActive(s, chat) {
  const entries = chat.logs.get(s.conversation.id)?.entries();
  const last = entries?.length ? entries[entries.length - 1].created_at : s.conversation.updated_at;
  return Date.parse(last) || 0;
}
