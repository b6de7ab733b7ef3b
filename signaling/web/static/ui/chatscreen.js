// The chat screen: the conversation list beside the open conversation. At
// phone width one of the two shows at a time.

import { h, icon, replace } from "./dom.js";
import { t } from "../i18n/i18n.js";
import { navigate } from "./router.js";
import { avatar, shortTime } from "./format.js";
import { preview, title } from "./describe.js";
import { ChatPane } from "./chatpane.js";
import { pickMembers } from "./picker.js";
import { errorText, form, toast } from "./overlay.js";

export class ChatScreen {
  constructor(el, ctx, params) {
    this.ctx = ctx;
    this.filter = "";
    this.list = h("ul", { class: "conv-list", attrs: { role: "list" } });
    this.paneBox = h("section", { class: "pane" });
    const search = h("input", { class: "search", type: "search", placeholder: t("chat.search"), attrs: { "aria-label": t("chat.search") },
      oninput: () => { this.filter = search.value.trim().toLowerCase(); this.renderList(); } });
    this.root = h("div", { class: "split chat-screen" },
      h("section", { class: "list-pane" },
        h("div", { class: "list-head" }, search,
          h("button", { class: "icon-btn", title: t("chat.newGroup"), attrs: { "aria-label": t("chat.newGroup") }, onclick: () => this.newGroup() }, icon("plus"))),
        this.list),
      this.paneBox);
    el.append(this.root);
    this.onConvs = () => this.renderList();
    ctx.chat.addEventListener("conversations", this.onConvs);
    ctx.directory.addEventListener("member", this.onConvs);
    this.update(params);
  }

  update(params) {
    const id = params[0] || null;
    this.root.classList.toggle("has-selection", !!id);
    if (this.pane?.id !== id) {
      this.pane?.destroy();
      this.pane = null;
      replace(this.paneBox);
      if (id) this.pane = new ChatPane(this.paneBox, this.ctx, id);
      else this.paneBox.append(h("div", { class: "empty-pane" }, icon("chat", "icon huge"), h("p", { text: t("chat.pick") })));
    }
    this.renderList();
  }

  renderList() {
    const ctx = this.ctx;
    const items = [];
    for (const s of ctx.chat.conversations()) {
      const id = s.conversation.id;
      const name = title(ctx, s);
      if (this.filter && !name.toLowerCase().includes(this.filter)) continue;
      const entries = ctx.chat.entries(id);
      const last = entries[entries.length - 1];
      const peer = s.conversation.kind === "direct" ? ctx.chat.peer(id) : null;
      const av = s.conversation.kind === "group"
        ? h("span", { class: "avatar group-avatar" }, icon("group"))
        : avatar(peer ? { id: peer, name, avatar_url: ctx.directory.members.get(peer)?.avatar_url } : { id, name: "?" });
      items.push(h("li", { class: "conv" + (this.pane?.id === id ? " active" : "") + (s.removed || s.conversation.dissolved ? " faded" : ""),
        dataset: { id }, attrs: { role: "button", tabindex: "0", "aria-label": name },
        onclick: () => navigate("/chat/" + encodeURIComponent(id)),
        onkeydown: (e) => { if (e.key === "Enter") navigate("/chat/" + encodeURIComponent(id)); } },
        h("div", { class: "conv-avatar" }, av, s.unread && !s.removed ? h("span", { class: "badge", text: s.unread > 99 ? "99+" : String(s.unread) }) : null),
        h("div", { class: "conv-main" },
          h("div", { class: "conv-top" }, h("span", { class: "conv-name", text: name }), h("span", { class: "conv-time", text: last ? shortTime(last.created_at) : "" })),
          h("div", { class: "conv-preview", text: preview(ctx, last) }))));
    }
    if (!items.length) items.push(h("li", { class: "muted center pad", text: ctx.chat.synced ? t("chat.none") : t("loading") }));
    replace(this.list, items);
  }

  async newGroup() {
    const ids = await pickMembers(this.ctx, { title: t("chat.newGroup"), exclude: [this.ctx.me.id] });
    if (!ids) return;
    if (ids.length === 1) {
      try {
        const s = await this.ctx.chat.openDirect(ids[0]);
        navigate("/chat/" + encodeURIComponent(s.conversation.id));
      } catch (err) { toast(errorText(err), { kind: "error" }); }
      return;
    }
    const names = ids.slice(0, 3).map((id) => this.ctx.directory.nameOf(id));
    await form(t("group.create"), [{ name: "name", label: t("group.name"), value: [this.ctx.me.name, ...names].join(t("list.sep")).slice(0, 64), required: true }], {
      ok: t("create"),
      submit: async (v) => {
        const s = await this.ctx.chat.createGroup({ name: v.name, members: ids });
        navigate("/chat/" + encodeURIComponent(s.conversation.id));
      },
    });
  }

  destroy() {
    this.pane?.destroy();
    this.ctx.chat.removeEventListener("conversations", this.onConvs);
    this.ctx.directory.removeEventListener("member", this.onConvs);
    this.root.remove();
  }
}
