// Admin: the audit log, newest first, filtered and paged.

import { h, replace } from "../dom.js";
import { t } from "../../i18n/i18n.js";
import { longTime } from "../format.js";
import { errorText, modal } from "../overlay.js";
import { table } from "./admin.js";

const PAGE = 50;

export class AuditTab {
  constructor(el, ctx) {
    this.ctx = ctx;
    this.cursor = "";
    this.history = [];
    const reload = () => { this.cursor = ""; this.history = []; this.load(); };
    this.actor = h("input", { type: "search", placeholder: t("audit.actor"), attrs: { "aria-label": t("audit.actor") }, onchange: reload });
    this.action = h("input", { type: "search", placeholder: t("audit.action"), attrs: { "aria-label": t("audit.action") }, onchange: reload });
    this.target = h("input", { type: "search", placeholder: t("audit.target"), attrs: { "aria-label": t("audit.target") }, onchange: reload });
    this.list = h("div");
    this.pager = h("div", { class: "pager" });
    el.append(h("div", { class: "toolbar-row" }, this.actor, this.action, this.target), this.list, this.pager);
    this.load();
  }

  async load() {
    let page;
    try {
      page = await this.ctx.rest.get("/audit", { actor: this.actor.value.trim(), action: this.action.value.trim(), target_id: this.target.value.trim(), cursor: this.cursor, limit: PAGE });
    } catch (err) { replace(this.list, h("p", { class: "form-error", text: errorText(err) })); return; }
    replace(this.list, table([
      { label: t("audit.time"), cell: (e) => longTime(e.time) },
      { label: t("audit.actor"), cell: (e) => e.actor },
      { label: t("audit.action"), cell: (e) => h("code", { text: e.action }) },
      { label: t("audit.target"), cell: (e) => e.target_type + " " + e.target_id },
      { label: t("audit.ip"), cell: (e) => e.actor_ip || "" },
      { label: "", cell: (e) => h("button", { class: "link", text: t("audit.details"), onclick: () => this.details(e) }) },
    ], page.entries));
    replace(this.pager,
      h("button", { class: "btn", text: t("admin.prev"), disabled: !this.history.length, onclick: () => { this.cursor = this.history.pop(); this.load(); } }),
      h("button", { class: "btn", text: t("admin.next"), disabled: !page.next, onclick: () => { this.history.push(this.cursor); this.cursor = page.next; this.load(); } }));
  }

  details(e) {
    const pre = (label, v) => v ? h("div", null, h("h3", { text: label }), h("pre", { class: "json", text: JSON.stringify(v, null, 2) })) : null;
    modal(e.action, h("div", { class: "audit-detail" }, pre(t("audit.before"), e.before), pre(t("audit.after"), e.after)), { wide: true });
  }
}
