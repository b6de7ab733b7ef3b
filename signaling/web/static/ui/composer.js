// The message composer: text with @mentions and emoji, files and images,
// replies, and the urgent and confidential marks.

import { h, icon, replace } from "./dom.js";
import { t } from "../i18n/i18n.js";
import { avatar } from "./format.js";
import { who } from "./describe.js";
import { errorText, toast } from "./overlay.js";

const TYPING_EVERY_MS = 3000;
const EMOJI = "😀 😁 😂 🤣 😊 😍 😘 😎 🤔 😅 😭 😡 👍 👎 👏 🙏 💪 🤝 👌 ✌️ 🎉 🔥 ❤️ 💔 ⭐ ✅ ❌ ⚠️ 📌 📎 ☕ 🍵 🍺 🎂 🌹 🌞 🌙 ⏰ 📅 💡 🚀 🐛 🆗 🆘 😴 🤗 🙈 😱".split(" ");

export class Composer {
  /** pane: the ChatPane (ctx, id, summary(), members(), replyText(entry)). */
  constructor(pane) {
    this.pane = pane;
    this.ctx = pane.ctx;
    this.replyTo = null;
    this.mentions = new Map(); // label ("@Bob Li") -> member id
    this.lastTyping = 0;
    this.flags = { urgent: false, confidential: false };

    this.text = h("textarea", { class: "compose-text", rows: 3, placeholder: t("compose.placeholder"), attrs: { "aria-label": t("compose.placeholder") },
      onkeydown: (e) => this.key(e), oninput: () => this.input() });
    this.replyBar = h("div", { class: "reply-bar", hidden: true });
    this.popup = h("ul", { class: "mention-popup", hidden: true, attrs: { role: "listbox" } });
    this.emojiBox = h("div", { class: "emoji-box", hidden: true }, EMOJI.map((em) => h("button", { class: "emoji", text: em, onclick: () => this.insert(em) })));
    const fileInput = h("input", { type: "file", hidden: true, onchange: () => { this.sendFiles(fileInput.files); fileInput.value = ""; } });
    const imageInput = h("input", { type: "file", accept: "image/*", hidden: true, onchange: () => { this.sendFiles(imageInput.files); imageInput.value = ""; } });
    this.urgentBtn = h("button", { class: "tool toggle", title: t("compose.urgentHint"), onclick: () => this.toggle("urgent") }, icon("bell"), h("span", { text: t("msg.urgent") }));
    this.confBtn = h("button", { class: "tool toggle conf", title: t("compose.confidentialHint"), onclick: () => this.toggle("confidential") }, icon("lock"), h("span", { text: t("msg.confidential") }));
    this.sendBtn = h("button", { class: "btn primary send", onclick: () => this.send() }, t("compose.send"));
    this.notice = h("div", { class: "compose-notice", hidden: true });
    this.box = h("div", { class: "composer" },
      this.replyBar, this.popup, this.emojiBox,
      h("div", { class: "toolbar" },
        h("button", { class: "tool", title: t("compose.emoji"), attrs: { "aria-label": t("compose.emoji") }, onclick: () => { this.emojiBox.hidden = !this.emojiBox.hidden; } }, icon("emoji")),
        h("button", { class: "tool", title: t("compose.image"), attrs: { "aria-label": t("compose.image") }, onclick: () => imageInput.click() }, icon("image")),
        h("button", { class: "tool", title: t("compose.file"), attrs: { "aria-label": t("compose.file") }, onclick: () => fileInput.click() }, icon("attach")),
        this.urgentBtn, this.confBtn, fileInput, imageInput),
      this.text,
      h("div", { class: "compose-foot" }, h("span", { class: "muted small", text: t("compose.hint") }), this.sendBtn),
      this.notice);
    this.refresh();
  }

  /** refresh shows or hides what the member may do here now. */
  refresh() {
    const s = this.pane.summary();
    const group = s?.conversation.kind === "group";
    const manager = s?.role === "owner" || s?.role === "admin";
    this.urgentBtn.hidden = group && !manager;
    let blocked = "";
    if (s?.removed) blocked = t("compose.removed");
    else if (s?.conversation.dissolved) blocked = t("compose.dissolved");
    else if (s?.muted) blocked = t("compose.muted");
    else if (group && s?.conversation.mute_all && !manager) blocked = t("compose.muteAll");
    this.notice.hidden = !blocked;
    this.notice.textContent = blocked;
    this.box.classList.toggle("blocked", !!blocked);
    this.text.disabled = this.sendBtn.disabled = !!blocked;
  }

  toggle(flag) {
    this.flags[flag] = !this.flags[flag];
    (flag === "urgent" ? this.urgentBtn : this.confBtn).classList.toggle("on", this.flags[flag]);
  }

  setReply(entry) {
    this.replyTo = entry;
    this.replyBar.hidden = !entry;
    if (!entry) { replace(this.replyBar); return; }
    replace(this.replyBar, h("span", { class: "muted", text: t("compose.replying", { name: who(this.ctx, entry.sender_id) }) }),
      h("span", { class: "reply-snippet", text: this.pane.replyText(entry) }),
      h("button", { class: "icon-btn sm", title: t("cancel"), onclick: () => this.setReply(null) }, icon("close")));
    this.text.focus();
  }

  insert(str) {
    const el = this.text;
    const start = el.selectionStart, end = el.selectionEnd;
    el.value = el.value.slice(0, start) + str + el.value.slice(end);
    el.selectionStart = el.selectionEnd = start + str.length;
    el.focus();
    this.emojiBox.hidden = true;
  }

  key(e) {
    if (!this.popup.hidden) {
      const items = [...this.popup.children];
      const i = items.findIndex((x) => x.classList.contains("active"));
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        items[i]?.classList.remove("active");
        items[(i + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length]?.classList.add("active");
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") { e.preventDefault(); items[Math.max(0, i)]?.click(); return; }
      if (e.key === "Escape") { this.popup.hidden = true; return; }
    }
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); this.send(); }
  }

  input() {
    const now = Date.now();
    if (this.text.value && now - this.lastTyping > TYPING_EVERY_MS) {
      this.lastTyping = now;
      this.ctx.chat.typing(this.pane.id);
    }
    this.mentionPopup();
  }

  // mentionPopup offers the group's members while an "@word" is typed.
  mentionPopup() {
    const s = this.pane.summary();
    const before = this.text.value.slice(0, this.text.selectionStart);
    const m = /(^|\s)@([^\s@]*)$/.exec(before);
    if (!m || s?.conversation.kind !== "group") { this.popup.hidden = true; return; }
    const q = m[2].toLowerCase();
    const opts = [];
    if (s.role === "owner" || s.role === "admin") opts.push({ id: "@all", name: t("mention.all") });
    for (const mem of this.pane.members().values()) {
      if (mem.id === this.ctx.me.id) continue;
      opts.push({ id: mem.id, name: who(this.ctx, mem.id) });
    }
    const shown = opts.filter((o) => !q || o.name.toLowerCase().includes(q) || o.id.toLowerCase().includes(q)).slice(0, 8);
    if (!shown.length) { this.popup.hidden = true; return; }
    replace(this.popup, shown.map((o, i) => h("li", { class: "mention-opt" + (i === 0 ? " active" : ""), attrs: { role: "option" },
      onmousedown: (e) => e.preventDefault(),
      onclick: () => this.pickMention(o, m[2].length) },
    o.id === "@all" ? null : avatar({ id: o.id, name: o.name }, "avatar xs"), h("span", { text: o.name }))));
    this.popup.hidden = false;
  }

  pickMention(o, typed) {
    const label = "@" + o.name;
    const el = this.text;
    const pos = el.selectionStart;
    el.value = el.value.slice(0, pos - typed - 1) + label + " " + el.value.slice(pos);
    el.selectionStart = el.selectionEnd = pos - typed - 1 + label.length + 1;
    this.mentions.set(label, o.id);
    this.popup.hidden = true;
    el.focus();
  }

  send() {
    const text = this.text.value.replace(/\s+$/, "");
    if (!text.trim()) return;
    const body = { text };
    const mentions = [...this.mentions].filter(([label]) => text.includes(label)).map(([, id]) => id);
    if (mentions.length) body.mentions = [...new Set(mentions)];
    if (this.replyTo) body.reply_to = this.replyTo.seq;
    this.ctx.chat.send(this.pane.id, { type: "text", body, ...this.marks() });
    this.text.value = "";
    this.mentions.clear();
    this.setReply(null);
    this.resetFlags();
  }

  marks() {
    const m = {};
    if (this.flags.confidential) m.confidential = true;
    if (this.flags.urgent) m.urgent = {};
    return m;
  }

  resetFlags() {
    if (this.flags.urgent) this.toggle("urgent");
    if (this.flags.confidential) this.toggle("confidential");
  }

  async sendFiles(files) {
    for (const f of files) {
      try {
        await this.ctx.chat.sendFile(this.pane.id, f, this.marks());
      } catch (err) {
        toast(t("compose.uploadFailed", { name: f.name }) + " " + errorText(err), { kind: "error" });
      }
    }
    this.resetFlags();
  }
}
