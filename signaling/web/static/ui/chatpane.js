// One open conversation: header, announcement, messages, typing line and
// composer. It marks the conversation read while it is on screen and asks
// for the read state of the member's own messages.

import { h, icon, replace } from "./dom.js";
import { t } from "../i18n/i18n.js";
import { navigate } from "./router.js";
import { longTime } from "./format.js";
import { title, who } from "./describe.js";
import { renderEntry, watermark } from "./message.js";
import { Composer } from "./composer.js";
import { showGroupInfo } from "./groupinfo.js";
import { confirm, errorText, modal, toast } from "./overlay.js";

const TYPING_SHOW_MS = 4000;
const RECEIPT_WINDOW = 50; // own messages among the newest this many get their read state fetched
const TIME_DIVIDER_MS = 5 * 60_000;
const PANE_WATERMARK_REPEAT = 60;

export class ChatPane {
  constructor(el, ctx, id) {
    this.ctx = ctx;
    this.id = id;
    this.typers = new Map();
    this.asked = new Set();
    this.title = h("h2", { class: "chat-title" });
    this.sub = h("div", { class: "chat-sub muted" });
    this.announce = h("button", { class: "announcement", hidden: true, onclick: () => this.openInfo() });
    this.list = h("div", { class: "messages", attrs: { role: "log", "aria-live": "polite" }, onscroll: () => this.scrolled() });
    this.typing = h("div", { class: "typing-line muted" });
    this.paneMark = watermark(ctx, PANE_WATERMARK_REPEAT, "pane-watermark");
    this.paneMark.hidden = true;
    this.composer = new Composer(this);
    this.infoBtn = h("button", { class: "icon-btn", title: t("group.info"), attrs: { "aria-label": t("group.info") }, onclick: () => this.openInfo() }, icon("more"));
    this.root = h("div", { class: "chat-pane", dataset: { conversation: id } },
      h("header", { class: "chat-head" },
        h("button", { class: "icon-btn back", title: t("back"), attrs: { "aria-label": t("back") }, onclick: () => navigate("/chat") }, icon("back")),
        h("div", { class: "chat-titles" }, this.title, this.sub), this.infoBtn),
      this.announce, h("div", { class: "messages-wrap" }, this.list, this.paneMark), this.typing, this.composer.box);
    el.append(this.root);

    const chat = ctx.chat;
    this.on(chat, "entries", (ev) => {
      if (ev.detail.conversationId !== id) return;
      const last = chat.entries(id).at(-1);
      if (last && this.typers.has(last.sender_id)) { clearTimeout(this.typers.get(last.sender_id)); this.typers.delete(last.sender_id); this.updateTyping(); }
      this.render();
    });
    this.on(chat, "receipt", (ev) => { if (ev.detail.conversationId === id) this.render(); });
    this.on(chat, "conversations", () => this.header());
    this.on(chat, "synced", () => this.render());
    this.on(chat, "typing", (ev) => { if (ev.detail.conversationId === id) this.showTyping(ev.detail.memberId); });
    this.on(ctx.directory, "member", () => this.render());
    this.on(document, "visibilitychange", () => this.markRead());
    this.stick = true;
    this.render();
    if (chat.entries(id).length < 20) this.older();
  }

  on(target, type, fn) {
    target.addEventListener(type, fn);
    (this.offs ||= []).push(() => target.removeEventListener(type, fn));
  }

  summary() { return this.ctx.chat.summary(this.id); }
  members() { return this.ctx.chat.members(this.id).members; }

  replyText(e) {
    if (e.body?.confidential) return t("preview.confidential");
    if (e.type === "text") return e.body.text;
    return t("preview." + (e.type === "image" ? "image" : e.type === "file" ? "file" : "unsupported"));
  }

  header() {
    const s = this.summary();
    if (!s) { this.title.textContent = "…"; return; }
    const group = s.conversation.kind === "group";
    this.title.textContent = title(this.ctx, s);
    this.infoBtn.hidden = !group;
    let sub = group ? t("group.memberCount", { n: s.conversation.member_count }) : "";
    if (s.conversation.dissolved) sub = t("group.dissolved");
    if (!this.typers.size) this.sub.textContent = sub;
    this.announce.hidden = !(group && s.conversation.announcement);
    if (s.conversation.announcement) replace(this.announce, icon("bell", "icon xs"), h("span", { text: s.conversation.announcement }));
    this.composer.refresh();
  }

  render() {
    const chat = this.ctx.chat;
    const s = this.summary();
    this.header();
    const log = chat.log(this.id);
    const view = {
      ctx: this.ctx, summary: s, group: s?.conversation.kind === "group",
      get: (seq) => log.get(seq), isRecalled: (seq) => log.isRecalled(seq), recallOf: (seq) => log.recalled.get(seq),
      receipt: (seq) => chat.receipt(this.id, seq),
      onReply: (e) => this.composer.setReply(e),
      onRecall: (e) => this.recall(e),
      onReceipts: (e) => this.showReceipts(e),
      onRetry: (m) => chat.retry(this.id, m.client_msg_id),
      onDiscard: (m) => chat.discard(this.id, m.client_msg_id),
    };
    const rows = [];
    let prev = 0;
    const entries = chat.entries(this.id);
    if (s && !log.empty && log.floor > (s.joined_seq || 1)) {
      rows.push(h("button", { class: "link older", text: t("chat.older"), onclick: () => this.older() }));
    }
    for (const e of [...entries, ...chat.pending(this.id)]) {
      const at = Date.parse(e.created_at);
      if (at - prev > TIME_DIVIDER_MS) rows.push(h("div", { class: "time-divider", text: longTime(e.created_at) }));
      prev = at;
      const row = renderEntry(view, e);
      if (row) rows.push(row);
    }
    // A conversation showing a confidential message is watermarked whole.
    this.paneMark.hidden = !entries.some((e) => e.body?.confidential && !log.isRecalled(e.seq));
    const atBottom = this.stick;
    const keep = this.list.scrollHeight - this.list.scrollTop;
    replace(this.list, rows);
    if (atBottom) this.list.scrollTop = this.list.scrollHeight;
    else this.list.scrollTop = this.list.scrollHeight - keep;
    this.askReceipts(entries);
    this.markRead();
  }

  scrolled() {
    const l = this.list;
    this.stick = l.scrollHeight - l.scrollTop - l.clientHeight < 40;
    if (this.stick) this.markRead();
  }

  markRead() {
    if (document.visibilityState !== "visible" || !this.stick) return;
    this.ctx.chat.markRead(this.id);
  }

  async older() {
    this.stick = false;
    try { await this.ctx.chat.loadHistory(this.id); } catch { /* offline; the button stays */ }
    if (this.list.scrollHeight <= this.list.clientHeight) this.stick = true;
    this.render();
  }

  // askReceipts fetches the read state of own messages that have none yet;
  // chat.receipt pushes keep them current afterwards.
  async askReceipts(entries) {
    const me = this.ctx.me.id;
    const todo = entries.slice(-RECEIPT_WINDOW).filter((e) => e.sender_id === me && e.type !== "system" && e.type !== "recall"
      && !this.asked.has(e.seq) && !this.ctx.chat.receipt(this.id, e.seq) && !this.ctx.chat.isRecalled(this.id, e.seq));
    for (const e of todo) this.asked.add(e.seq);
    for (const e of todo) {
      try { await this.ctx.chat.fetchReceipt(this.id, e.seq); } catch { this.asked.delete(e.seq); return; }
    }
  }

  async showReceipts(e) {
    let r;
    try { r = await this.ctx.chat.fetchReceipt(this.id, e.seq); } catch (err) { toast(errorText(err), { kind: "error" }); return; }
    const col = (label, ids) => h("div", { class: "receipt-col" }, h("h3", { text: label + " (" + ids.length + ")" }),
      h("ul", { class: "receipt-list" }, ids.map((id) => h("li", { text: who(this.ctx, id) }))));
    modal(t("receipts.title"), h("div", { class: "receipts" }, col(t("receipts.read"), r.readers || []), col(t("receipts.unread"), r.unreaders || [])));
  }

  async recall(e) {
    if (!(await confirm(t("msg.recallConfirm"), { danger: true, ok: t("msg.recall") }))) return;
    try { await this.ctx.chat.recall(this.id, e.seq); } catch (err) { toast(errorText(err), { kind: "error" }); }
  }

  showTyping(memberId) {
    clearTimeout(this.typers.get(memberId));
    this.typers.set(memberId, setTimeout(() => { this.typers.delete(memberId); this.updateTyping(); }, TYPING_SHOW_MS));
    this.updateTyping();
  }

  updateTyping() {
    const names = [...this.typers.keys()].map((id) => who(this.ctx, id));
    this.typing.textContent = names.length ? t("chat.typing", { names: names.join(t("list.sep")) }) : "";
    if (!names.length) this.header();
  }

  openInfo() {
    if (this.summary()?.conversation.kind === "group") showGroupInfo(this.ctx, this.id);
  }

  destroy() {
    for (const off of this.offs || []) off();
    for (const tm of this.typers.values()) clearTimeout(tm);
    this.root.remove();
  }
}
