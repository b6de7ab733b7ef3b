// The admin console: tabs for members, departments, tags, roles and the
// audit log. Department admins see what their role allows (members and
// departments of their subtrees); tags, roles and the audit log are for
// super admins.

import { h, replace } from "../dom.js";
import { t } from "../../i18n/i18n.js";
import { navigate } from "../router.js";
import { MembersTab } from "./members.js";
import { DepartmentsTab } from "./departments.js";
import { TagsTab } from "./tags.js";
import { RolesTab } from "./roles.js";
import { AuditTab } from "./audit.js";

const TABS = [
  { key: "members", tab: MembersTab, superOnly: false },
  { key: "departments", tab: DepartmentsTab, superOnly: false },
  { key: "tags", tab: TagsTab, superOnly: true },
  { key: "roles", tab: RolesTab, superOnly: true },
  { key: "audit", tab: AuditTab, superOnly: true },
];

export class AdminScreen {
  constructor(el, ctx, params) {
    this.ctx = ctx;
    this.tabs = TABS.filter((x) => !x.superOnly || ctx.isSuper);
    this.nav = h("nav", { class: "tabs", attrs: { role: "tablist" } });
    this.body = h("div", { class: "admin-body" });
    this.root = h("div", { class: "admin" }, h("header", { class: "admin-head" }, h("h2", { text: t("nav.admin") }), this.nav), this.body);
    el.append(this.root);
    this.update(params);
  }

  update(params) {
    const key = this.tabs.some((x) => x.key === params[0]) ? params[0] : "members";
    replace(this.nav, this.tabs.map((x) => h("button", { class: "tab" + (x.key === key ? " active" : ""), attrs: { role: "tab", "aria-selected": String(x.key === key) },
      text: t("admin.tab." + x.key), onclick: () => navigate("/admin/" + x.key) })));
    if (this.key === key) return;
    this.key = key;
    this.current?.destroy?.();
    replace(this.body);
    this.current = new (this.tabs.find((x) => x.key === key).tab)(this.body, this.ctx);
  }

  destroy() { this.current?.destroy?.(); this.root.remove(); }
}

/** table builds a simple data table. columns: [{label, cell(row) -> node|string}]. */
export function table(columns, rows, { empty } = {}) {
  return h("div", { class: "table-wrap" }, h("table", { class: "table" },
    h("thead", null, h("tr", null, columns.map((c) => h("th", { text: c.label })))),
    h("tbody", null, rows.length ? rows.map((r) => h("tr", null, columns.map((c) => h("td", null, c.cell(r))))) :
      h("tr", null, h("td", { class: "muted center", attrs: { colspan: columns.length }, text: empty || t("admin.none") })))));
}

/** deptOptions lists departments as select options, indented by depth. */
export function deptOptions(depts) {
  const depth = new Map();
  return depts.map((d) => {
    const n = d.parent_id ? (depth.get(d.parent_id) ?? 0) + 1 : 0;
    depth.set(d.id, n);
    return { value: d.id, label: "\u00a0\u00a0".repeat(n) + d.name };
  });
}
