// The directory: the department tree and tags, a department's or tag's
// members, and a member's card. Routes: /contacts, /contacts/d/<dept>,
// /contacts/t/<tag>, /contacts/m/<member>.

import { h, icon, replace } from "./dom.js";
import { t } from "../i18n/i18n.js";
import { navigate } from "./router.js";
import { avatar } from "./format.js";
import { errorText, toast } from "./overlay.js";

export class ContactsScreen {
  constructor(el, ctx, params) {
    this.ctx = ctx;
    this.open = new Set(["1"]);
    this.dept = "1";
    this.tag = null;
    this.member = null;
    this.tree = h("div", { class: "tree", attrs: { role: "tree" } });
    this.tagsBox = h("div", { class: "tag-list" });
    this.people = h("ul", { class: "people" });
    this.card = h("div", { class: "card-pane" });
    this.search = h("input", { type: "search", class: "search", placeholder: t("contacts.search"), attrs: { "aria-label": t("contacts.search") },
      oninput: () => { clearTimeout(this.timer); this.timer = setTimeout(() => this.loadPeople(), 200); } });
    this.heading = h("h2", { class: "people-title" });
    this.root = h("div", { class: "split3 contacts-screen" },
      h("section", { class: "list-pane" }, h("div", { class: "list-head" }, h("h2", { text: t("nav.contacts") })),
        h("div", { class: "scroll" }, h("h3", { class: "section-title", text: t("contacts.departments") }), this.tree,
          h("h3", { class: "section-title", text: t("contacts.tags") }), this.tagsBox)),
      h("section", { class: "mid-pane" },
        h("div", { class: "list-head" }, h("button", { class: "icon-btn back", attrs: { "aria-label": t("back") }, onclick: () => navigate("/contacts") }, icon("back")), this.heading),
        h("div", { class: "list-head" }, this.search), this.people),
      h("section", { class: "pane" }, this.card));
    el.append(this.root);
    this.update(params);
  }

  async update(params) {
    const [kind, id] = params;
    this.root.dataset.depth = kind === "m" ? "2" : kind ? "1" : "0";
    if (kind === "d") { this.dept = id; this.tag = null; }
    if (kind === "t") { this.tag = id; this.dept = null; }
    if (kind === "m") this.member = id;
    await this.renderTree();
    if (kind !== "m" || !this.loaded) this.loadPeople();
    this.renderCard();
  }

  async renderTree() {
    let depts, tags;
    try { [depts, tags] = await Promise.all([this.ctx.directory.departments(), this.ctx.directory.tags()]); } catch (err) { toast(errorText(err), { kind: "error" }); return; }
    this.depts = depts;
    const children = new Map();
    for (const d of depts) {
      if (!children.has(d.parent_id)) children.set(d.parent_id, []);
      children.get(d.parent_id).push(d);
    }
    // Open the path down to the selected department.
    const byId = new Map(depts.map((d) => [d.id, d]));
    for (let d = byId.get(this.dept); d; d = byId.get(d.parent_id)) this.open.add(d.parent_id);
    const node = (d, depth) => {
      const kids = children.get(d.id) || [];
      const isOpen = this.open.has(d.id);
      const item = h("div", { class: "tree-item" + (this.dept === d.id ? " active" : ""), attrs: { role: "treeitem", "aria-expanded": kids.length ? String(isOpen) : null }, dataset: { dept: d.id } },
        h("button", { class: "tree-toggle" + (kids.length ? "" : " leaf") + (isOpen ? " open" : ""), attrs: { "aria-label": t("contacts.expand") }, onclick: (e) => {
          e.stopPropagation();
          if (isOpen) this.open.delete(d.id); else this.open.add(d.id);
          this.renderTree();
        } }, kids.length ? icon("chevron", "icon xs") : null),
        h("button", { class: "tree-label", text: d.name, onclick: () => navigate("/contacts/d/" + encodeURIComponent(d.id)) }));
      item.style.paddingLeft = 8 + depth * 14 + "px";
      return [item, isOpen ? kids.map((k) => node(k, depth + 1)) : null];
    };
    replace(this.tree, (children.get("") || []).map((d) => node(d, 0)));
    replace(this.tagsBox, tags.length ? tags.map((tg) => h("button", { class: "chip" + (this.tag === tg.id ? " active" : ""), text: tg.name,
      onclick: () => navigate("/contacts/t/" + encodeURIComponent(tg.id)) })) : h("p", { class: "muted small", text: t("contacts.noTags") }));
  }

  async loadPeople() {
    const q = this.search.value.trim();
    const query = { status: "active", limit: 200, q };
    if (this.tag) query.tag = this.tag;
    else if (this.dept) { query.department = this.dept; query.recursive = "true"; }
    const d = this.depts?.find((x) => x.id === this.dept);
    this.heading.textContent = this.tag ? (this.ctx.directory.tagList?.find((x) => x.id === this.tag)?.name || "") : d?.name || "";
    const mine = (this.seq = (this.seq || 0) + 1);
    let page;
    try { page = await this.ctx.directory.list(query); } catch (err) { toast(errorText(err), { kind: "error" }); return; }
    if (mine !== this.seq) return;
    this.loaded = true;
    replace(this.people, page.members.length ? page.members.map((m) => h("li", { class: "person" + (m.id === this.member ? " active" : ""), dataset: { member: m.id },
      attrs: { role: "button", tabindex: "0" }, onclick: () => navigate("/contacts/m/" + encodeURIComponent(m.id)) },
      avatar(m, "avatar sm"), h("div", { class: "person-text" }, h("span", { class: "person-name", text: m.name }), h("span", { class: "muted small", text: m.position || m.id }))))
      : h("li", { class: "muted pad", text: t("contacts.empty") }));
  }

  async renderCard() {
    if (!this.member) { replace(this.card, h("div", { class: "empty-pane" }, icon("contacts", "icon huge"), h("p", { text: t("contacts.pick") }))); return; }
    let m;
    try { m = await this.ctx.rest.get("/members/" + encodeURIComponent(this.member)); } catch (err) { replace(this.card, h("p", { class: "pad", text: errorText(err) })); return; }
    this.ctx.directory.remember([m]);
    const depts = (m.departments || []).map((id) => this.depts?.find((d) => d.id === id)?.name || id);
    const tags = (m.tags || []).map((id) => this.ctx.directory.tagList?.find((x) => x.id === id)?.name || id);
    const field = (label, value) => value ? h("div", { class: "card-row" }, h("span", { class: "muted", text: label }), h("span", { text: value })) : null;
    replace(this.card, h("div", { class: "member-card" },
      h("button", { class: "icon-btn back", attrs: { "aria-label": t("back") }, onclick: () => history.back() }, icon("back")),
      h("div", { class: "card-top" }, avatar(m, "avatar xl"), h("div", null, h("h2", { text: m.name }), h("p", { class: "muted", text: m.position || "" }),
        m.status === "disabled" ? h("span", { class: "tag danger", text: t("admin.disabled") }) : null)),
      field(t("member.id"), m.id), field(t("member.departments"), depts.join(t("list.sep"))), field(t("member.mobile"), m.mobile),
      field(t("member.email"), m.email), field(t("member.gender"), m.gender ? t("gender." + m.gender) : ""),
      tags.length ? h("div", { class: "card-row" }, h("span", { class: "muted", text: t("contacts.tags") }), h("span", { class: "chips" }, tags.map((x) => h("span", { class: "chip", text: x })))) : null,
      field(t("member.nickname"), m.external_profile?.nickname), field(t("member.title"), m.external_profile?.title), field(t("member.bio"), m.external_profile?.bio),
      m.id !== this.ctx.me.id && m.status === "active" ? h("button", { class: "btn primary", text: t("contacts.message"), onclick: async () => {
        try { const s = await this.ctx.chat.openDirect(m.id); navigate("/chat/" + encodeURIComponent(s.conversation.id)); } catch (err) { toast(errorText(err), { kind: "error" }); }
      } }) : null));
  }

  destroy() { this.root.remove(); }
}
