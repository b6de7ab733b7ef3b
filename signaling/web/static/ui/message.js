// Rendering of one log entry (or one pending message) in the chat pane.

import { h, icon } from "./dom.js";
import { t } from "../i18n/i18n.js";
import { avatar, shortTime, size } from "./format.js";
import { recallText, systemText, who } from "./describe.js";
import { modal, toast, errorText } from "./overlay.js";

const blobURLs = new Map(); // file id -> Promise of an object URL, kept for the page's life
const WATERMARK_REPEAT = 6;

/** fileURL downloads a conversation file once and returns an object URL for it. */
export function fileURL(ctx, fileId) {
  if (!blobURLs.has(fileId)) {
    const p = ctx.chat.download(fileId).then((blob) => URL.createObjectURL(blob));
    p.catch(() => blobURLs.delete(fileId));
    blobURLs.set(fileId, p);
  }
  return blobURLs.get(fileId);
}

/** saveFile downloads a file and hands it to the browser as a download. */
export async function saveFile(ctx, body) {
  try {
    const url = await fileURL(ctx, body.file_id);
    const a = h("a", { href: url, download: body.name || "file" });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (err) {
    toast(errorText(err), { kind: "error" });
  }
}

/**
 * renderEntry builds the row for one entry. view supplies: ctx, summary,
 * group (bool), log lookups (get(seq), isRecalled(seq), recallOf(seq)),
 * receipt(seq), and actions onReply(entry), onRecall(entry),
 * onReceipts(entry), onRetry(m), onDiscard(m).
 */
export function renderEntry(view, e) {
  const { ctx } = view;
  if (e.type === "recall") return null; // shown in place of the entry it recalls
  if (e.type === "system") return h("div", { class: "sys-line", dataset: { seq: e.seq } }, h("span", { text: systemText(ctx, e) }));
  if (!e.local && view.isRecalled(e.seq)) return h("div", { class: "sys-line", dataset: { seq: e.seq } }, h("span", { text: recallText(ctx, view.recallOf(e.seq)) }));

  const mine = e.sender_id === ctx.me.id;
  const b = e.body || {};
  const bubble = h("div", { class: "bubble" + (b.confidential || e.confidential ? " confidential" : "") + (b.urgent || e.urgent ? " urgent" : "") });
  const marks = [];
  if (b.urgent || e.urgent) marks.push(h("span", { class: "mark urgent" }, icon("bell", "icon xs"), t("msg.urgent")));
  if (b.confidential || e.confidential) marks.push(h("span", { class: "mark confidential" }, icon("lock", "icon xs"), t("msg.confidential")));
  if (marks.length) bubble.append(h("div", { class: "marks" }, marks));
  if (b.reply_to) bubble.append(quote(view, b.reply_to));
  bubble.append(content(view, e));
  if (b.confidential || e.confidential) {
    bubble.append(watermark(ctx));
    bubble.addEventListener("copy", (ev) => ev.preventDefault());
    bubble.addEventListener("contextmenu", (ev) => ev.preventDefault());
  }

  const meta = h("div", { class: "msg-meta" }, h("span", { class: "msg-time", text: shortTime(e.created_at) }));
  if (mine) meta.append(readState(view, e));
  const actions = e.local ? null : h("div", { class: "msg-actions" },
    h("button", { class: "icon-btn sm", title: t("msg.reply"), attrs: { "aria-label": t("msg.reply") }, onclick: () => view.onReply(e) }, icon("reply")),
    mine || view.summary?.role === "owner" || view.summary?.role === "admin"
      ? h("button", { class: "icon-btn sm", title: t("msg.recall"), attrs: { "aria-label": t("msg.recall") }, onclick: () => view.onRecall(e) }, icon("recall")) : null);
  const sender = ctx.directory.members.get(e.sender_id);
  return h("div", { class: "msg" + (mine ? " mine" : ""), dataset: { seq: e.seq ?? "", cmid: e.client_msg_id ?? "" } },
    mine ? null : avatar(sender && !(sender instanceof Promise) ? sender : { id: e.sender_id, name: who(ctx, e.sender_id) }, "avatar sm"),
    h("div", { class: "msg-col" },
      !mine && view.group ? h("div", { class: "msg-name", text: who(ctx, e.sender_id) }) : null,
      h("div", { class: "msg-line" }, bubble, actions),
      meta));
}

function content(view, e) {
  const b = e.body || {};
  switch (e.type) {
    case "text": return h("div", { class: "text" }, mentionText(view, b.text || "", b.mentions));
    case "image": return image(view, b, e);
    case "file": return h("button", { class: "file-card", onclick: () => saveFile(view.ctx, b) },
      icon("file", "icon lg"), h("span", { class: "file-info" }, h("span", { class: "file-name", text: b.name || t("preview.file") }), h("span", { class: "muted", text: size(b.size) })),
      b.caption ? h("span", { class: "caption", text: b.caption }) : null);
    case "link": return h("a", { class: "link-card", href: safeURL(b.url), target: "_blank", rel: "noopener noreferrer" },
      h("strong", { text: b.title || b.url }), b.description ? h("span", { text: b.description }) : null, h("span", { class: "muted", text: b.url }));
    case "forward": return h("div", { class: "forward" }, h("div", { class: "muted", text: t("msg.forwarded") }),
      (b.items || []).map((it) => h("div", { class: "fwd-item" }, h("strong", { text: who(view.ctx, it.sender_id) + ": " }),
        it.type === "text" ? it.body?.text : t("preview." + (it.type === "image" ? "image" : it.type === "file" ? "file" : "unsupported")))));
    default: return h("div", { class: "muted", text: t("preview.unsupported") });
  }
}

function image(view, b, e) {
  const img = h("img", { class: "thumb", alt: b.caption || b.name || "" });
  if (b.width && b.height) {
    const scale = Math.min(1, 240 / b.width, 240 / b.height);
    img.width = Math.round(b.width * scale);
    img.height = Math.round(b.height * scale);
  }
  if (b.file_id) fileURL(view.ctx, b.file_id).then((url) => { img.src = url; }, () => img.classList.add("broken"));
  const open = () => {
    const big = h("img", { class: "preview-img", src: img.src, alt: b.name || "" });
    modal(b.name || t("preview.image"), h("div", { class: "preview" }, big,
      h("button", { class: "btn", text: t("msg.download"), onclick: () => saveFile(view.ctx, b) })), { wide: true });
  };
  return h("div", { class: "image-msg" }, h("button", { class: "thumb-btn", onclick: open, attrs: { "aria-label": t("msg.preview") } }, img),
    b.caption ? h("div", { class: "caption", text: b.caption }) : null);
}

// mentionText renders text with each @mention of the message highlighted.
function mentionText(view, text, mentions) {
  if (!mentions?.length) return text;
  const labels = mentions.map((id) => "@" + (id === "@all" ? t("mention.all") : view.ctx.directory.nameOf(id)));
  labels.push("@all");
  labels.sort((a, b) => b.length - a.length);
  const re = new RegExp("(" + labels.map(escapeRe).join("|") + ")", "g");
  return text.split(re).map((part, i) => (i % 2 ? h("span", { class: "mention", text: part }) : part));
}

function escapeRe(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

function safeURL(u) { return /^https?:\/\//i.test(u || "") ? u : "#"; }

function quote(view, seq) {
  const q = view.get(seq);
  let text = "#" + seq;
  if (q) {
    if (view.isRecalled(seq)) text = t("recall.quoted");
    else if (q.body?.confidential) text = t("preview.confidential");
    else text = q.type === "text" ? q.body.text : t("preview." + (q.type === "image" ? "image" : q.type === "file" ? "file" : "unsupported"));
  }
  return h("div", { class: "quote" }, q ? h("strong", { text: who(view.ctx, q.sender_id) + ": " }) : null, h("span", { text }));
}

/**
 * watermark overlays the viewer's name and id, repeated, on a confidential
 * message (and, from the chat pane, over the whole conversation), so a
 * photo of the screen names who took it.
 */
export function watermark(ctx, repeat = WATERMARK_REPEAT, cls = "watermark") {
  const label = ctx.me.name + " " + ctx.me.id;
  const wm = h("div", { class: cls, attrs: { "aria-hidden": "true" } });
  for (let i = 0; i < repeat; i++) wm.append(h("span", { text: label }));
  return wm;
}

// readState is the line under one's own message: sending, failed, or
// who has read it (已读/未读, or "2/3 read" in a group, which opens the
// lists of readers and non-readers).
function readState(view, e) {
  if (e.local) {
    if (e.status === "failed") {
      return h("span", { class: "state failed" }, t("msg.failed", { code: e.error }), " ",
        h("button", { class: "link", text: t("msg.retry"), onclick: () => view.onRetry(e) }),
        h("button", { class: "link", text: t("msg.discard"), onclick: () => view.onDiscard(e) }));
    }
    return h("span", { class: "state sending", text: e.status === "sent" ? t("msg.sent") : t("msg.sending") });
  }
  const r = view.receipt(e.seq);
  if (!r) return h("span", { class: "state" });
  const total = r.read_count + r.unread_count;
  if (!view.group) {
    return h("span", { class: "state " + (r.read_count > 0 ? "read" : "unread"), dataset: { state: r.read_count > 0 ? "read" : "unread" }, text: r.read_count > 0 ? t("msg.read") : t("msg.unread") });
  }
  if (total === 0) return h("span", { class: "state" });
  const all = r.unread_count === 0;
  return h("button", { class: "state link " + (all ? "read" : "unread"), dataset: { state: all ? "read" : "partial" },
    text: all ? t("msg.allRead") : t("msg.readCount", { read: r.read_count, total }), onclick: () => view.onReceipts(e) });
}
