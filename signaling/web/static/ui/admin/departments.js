// Admin: departments. Create, rename, move and delete.

import { h, replace } from "../dom.js";
import { t } from "../../i18n/i18n.js";
import { confirm, errorText, form, toast } from "../overlay.js";
import { deptOptions, table } from "./admin.js";

export class DepartmentsTab {
  constructor(el, ctx) {
    this.ctx = ctx;
    this.list = h("div");
    el.append(h("div", { class: "toolbar-row" }, h("span", { class: "grow" }),
      h("button", { class: "btn primary", text: t("admin.newDepartment"), onclick: () => this.create() })), this.list);
    this.load();
  }

  async load() {
    try { this.depts = await this.ctx.directory.departments(true); } catch (err) { replace(this.list, h("p", { class: "form-error", text: errorText(err) })); return; }
    const opts = deptOptions(this.depts);
    const label = new Map(opts.map((o) => [o.value, o.label]));
    replace(this.list, table([
      { label: t("admin.department"), cell: (d) => h("span", { class: "pre", text: label.get(d.id) }) },
      { label: "ID", cell: (d) => d.id },
      { label: t("admin.order"), cell: (d) => String(d.order) },
      { label: "", cell: (d) => h("span", { class: "row-actions" },
        h("button", { class: "link", text: t("edit"), onclick: () => this.edit(d) }),
        d.parent_id ? h("button", { class: "link danger", text: t("delete"), onclick: () => this.remove(d) }) : null) },
    ], this.depts));
  }

  async create() {
    await form(t("admin.newDepartment"), [
      { name: "name", label: t("admin.department"), required: true },
      { name: "parent", label: t("admin.parent"), type: "select", options: deptOptions(this.depts), value: "1" },
      { name: "order", label: t("admin.order"), type: "number", value: "0" },
    ], {
      ok: t("create"),
      submit: (v) => this.ctx.rest.post("/departments", { name: v.name, parent_id: v.parent, order: Number(v.order) || 0 }),
    });
    this.load();
  }

  async edit(d) {
    const fields = [{ name: "name", label: t("admin.department"), value: d.name, required: true }, { name: "order", label: t("admin.order"), type: "number", value: String(d.order) }];
    if (d.parent_id) fields.push({ name: "parent", label: t("admin.parent"), type: "select", options: deptOptions(this.depts).filter((o) => o.value !== d.id), value: d.parent_id });
    await form(t("edit"), fields, {
      submit: (v) => {
        const body = { name: v.name, order: Number(v.order) || 0 };
        if (v.parent && v.parent !== d.parent_id) body.parent_id = v.parent;
        return this.ctx.rest.patch("/departments/" + encodeURIComponent(d.id), body);
      },
    });
    this.load();
  }

  async remove(d) {
    if (!(await confirm(t("admin.deleteDepartmentConfirm", { name: d.name }), { danger: true, ok: t("delete") }))) return;
    try { await this.ctx.rest.del("/departments/" + encodeURIComponent(d.id)); toast(t("admin.saved")); } catch (err) { toast(errorText(err), { kind: "error" }); }
    this.load();
  }
}
