// Admin: roles. Lists the administrators and sets a member's role.

import { h, replace } from "../dom.js";
import { t } from "../../i18n/i18n.js";
import { errorText, form, toast } from "../overlay.js";
import { pickMembers } from "../picker.js";
import { table } from "./admin.js";

const SCAN_PAGES = 10; // members are listed by id; administrators are found among the first 10,000

export class RolesTab {
  constructor(el, ctx) {
    this.ctx = ctx;
    this.list = h("div");
    el.append(h("div", { class: "toolbar-row" }, h("p", { class: "muted grow", text: t("admin.rolesHint") }),
      h("button", { class: "btn primary", text: t("admin.setRole"), onclick: () => this.pick() })), this.list);
    this.load();
  }

  async load() {
    const admins = [];
    try {
      let after = "";
      for (let i = 0; i < SCAN_PAGES; i++) {
        const page = await this.ctx.directory.list({ limit: 1000, after });
        admins.push(...page.members.filter((m) => m.role !== "member"));
        if (!page.next) break;
        after = page.next;
      }
      this.depts = await this.ctx.directory.departments();
    } catch (err) { replace(this.list, h("p", { class: "form-error", text: errorText(err) })); return; }
    const name = (id) => this.depts.find((d) => d.id === id)?.name || id;
    replace(this.list, table([
      { label: t("member.name"), cell: (m) => m.name },
      { label: t("member.id"), cell: (m) => m.id },
      { label: t("admin.role"), cell: (m) => h("span", { class: "tag " + m.role, text: t("role." + m.role) }) },
      { label: t("admin.adminDepartments"), cell: (m) => (m.admin_departments || []).map(name).join(t("list.sep")) || "—" },
      { label: "", cell: (m) => h("button", { class: "link", text: t("edit"), onclick: () => this.edit(m) }) },
    ], admins));
  }

  async pick() {
    const ids = await pickMembers(this.ctx, { title: t("admin.setRole"), single: true });
    if (ids?.length) this.edit(await this.ctx.rest.get("/members/" + encodeURIComponent(ids[0])));
  }

  async edit(m) {
    const depts = this.depts || (await this.ctx.directory.departments());
    await form(t("admin.setRoleOf", { name: m.name }), [
      { name: "role", label: t("admin.role"), type: "select", value: m.role, options: ["member", "dept_admin", "super_admin"].map((r) => ({ value: r, label: t("role." + r) })) },
      { name: "dept", label: t("admin.adminDepartments"), type: "select", value: m.admin_departments?.[0] || "1", options: depts.map((d) => ({ value: d.id, label: d.name })), hint: t("admin.adminDeptHint") },
    ], {
      submit: async (v) => {
        const body = { role: v.role };
        if (v.role === "dept_admin") body.admin_departments = [v.dept];
        await this.ctx.rest.put("/members/" + encodeURIComponent(m.id) + "/role", body);
        toast(t("admin.saved"));
      },
    });
    this.load();
  }
}
