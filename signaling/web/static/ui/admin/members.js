// Admin: members. Create, edit, disable and enable, reset passwords, and
// import from CSV (PROTOCOL.md sections 4 and 5).

import { h, replace } from "../dom.js";
import { t } from "../../i18n/i18n.js";
import { avatar } from "../format.js";
import { confirm, errorText, form, modal, toast } from "../overlay.js";
import { deptOptions, table } from "./admin.js";

const PAGE = 50;

export class MembersTab {
  constructor(el, ctx) {
    this.ctx = ctx;
    this.after = "";
    this.history = [];
    this.search = h("input", { type: "search", class: "search", placeholder: t("admin.searchMembers"), attrs: { "aria-label": t("admin.searchMembers") },
      oninput: () => { clearTimeout(this.timer); this.timer = setTimeout(() => { this.after = ""; this.history = []; this.load(); }, 250); } });
    this.status = h("select", { attrs: { "aria-label": t("admin.status") }, onchange: () => { this.after = ""; this.history = []; this.load(); } },
      h("option", { value: "", text: t("admin.allStatuses") }), h("option", { value: "active", text: t("admin.active") }), h("option", { value: "disabled", text: t("admin.disabled") }));
    this.list = h("div");
    this.pager = h("div", { class: "pager" });
    el.append(h("div", { class: "toolbar-row" }, this.search, this.status, h("span", { class: "grow" }),
      h("button", { class: "btn", text: t("admin.import"), onclick: () => this.importCSV() }),
      h("button", { class: "btn primary", text: t("admin.newMember"), onclick: () => this.create() })), this.list, this.pager);
    this.load();
  }

  async load() {
    let page, depts;
    try {
      [page, depts] = await Promise.all([this.ctx.directory.list({ q: this.search.value.trim(), status: this.status.value, after: this.after, limit: PAGE }), this.ctx.directory.departments()]);
    } catch (err) { replace(this.list, h("p", { class: "form-error", text: errorText(err) })); return; }
    this.depts = depts;
    const name = (id) => depts.find((d) => d.id === id)?.name || id;
    replace(this.list, table([
      { label: t("member.name"), cell: (m) => h("span", { class: "cell-person" }, avatar(m, "avatar xs"), h("span", { text: m.name })) },
      { label: t("member.id"), cell: (m) => m.id },
      { label: t("member.departments"), cell: (m) => m.departments.map(name).join(t("list.sep")) },
      { label: t("admin.role"), cell: (m) => t("role." + m.role) },
      { label: t("admin.status"), cell: (m) => h("span", { class: "tag " + (m.status === "active" ? "ok" : "danger"), text: t("admin." + m.status) }) },
      { label: "", cell: (m) => h("span", { class: "row-actions" },
        h("button", { class: "link", text: t("edit"), onclick: () => this.edit(m) }),
        h("button", { class: "link", text: t("admin.resetPassword"), onclick: () => this.resetPassword(m) }),
        m.status === "active"
          ? h("button", { class: "link danger", text: t("admin.disable"), onclick: () => this.setStatus(m, "disable") })
          : h("button", { class: "link", text: t("admin.enable"), onclick: () => this.setStatus(m, "enable") })) },
    ], page.members));
    replace(this.pager,
      h("button", { class: "btn", text: t("admin.prev"), disabled: !this.history.length, onclick: () => { this.after = this.history.pop(); this.load(); } }),
      h("button", { class: "btn", text: t("admin.next"), disabled: !page.next, onclick: () => { this.history.push(this.after); this.after = page.next; this.load(); } }));
  }

  fields(m) {
    const opts = deptOptions(this.depts);
    return [
      m ? null : { name: "id", label: t("member.id"), required: true, hint: t("admin.idHint") },
      { name: "name", label: t("member.name"), value: m?.name, required: true },
      { name: "department", label: t("member.department"), type: "select", options: opts, value: m?.departments[0] || opts[0]?.value },
      { name: "position", label: t("member.position"), value: m?.position },
      { name: "mobile", label: t("member.mobile"), value: m?.mobile },
      { name: "email", label: t("member.email"), type: "email", value: m?.email },
      { name: "gender", label: t("member.gender"), type: "select", value: m?.gender || "", options: [{ value: "", label: "—" }, { value: "female", label: t("gender.female") }, { value: "male", label: t("gender.male") }] },
      m ? null : { name: "password", label: t("admin.initialPassword"), type: "password", hint: t("profile.passwordHint") },
    ].filter(Boolean);
  }

  async create() {
    await form(t("admin.newMember"), this.fields(null), {
      ok: t("create"),
      submit: async (v) => {
        const body = { id: v.id, name: v.name, departments: [v.department] };
        for (const k of ["position", "mobile", "email", "gender", "password"]) if (v[k]) body[k] = v[k];
        await this.ctx.rest.post("/members", body);
        toast(t("admin.saved"));
      },
    });
    this.load();
  }

  async edit(m) {
    await form(t("admin.editMember", { name: m.name }), this.fields(m), {
      submit: async (v) => {
        const departments = m.departments.includes(v.department) ? m.departments : [v.department, ...m.departments.slice(1)];
        await this.ctx.rest.patch("/members/" + encodeURIComponent(m.id), { name: v.name, departments, position: v.position, mobile: v.mobile, email: v.email, gender: v.gender });
        this.ctx.directory.invalidate(m.id);
        toast(t("admin.saved"));
      },
    });
    this.load();
  }

  async resetPassword(m) {
    await form(t("admin.resetPasswordOf", { name: m.name }), [{ name: "password", label: t("profile.newPassword"), type: "password", required: true, hint: t("profile.passwordHint") }], {
      submit: async (v) => { await this.ctx.rest.put("/members/" + encodeURIComponent(m.id) + "/password", { password: v.password }); toast(t("admin.saved")); },
    });
  }

  async setStatus(m, action) {
    if (action === "disable" && !(await confirm(t("admin.disableConfirm", { name: m.name }), { danger: true, ok: t("admin.disable") }))) return;
    try { await this.ctx.rest.post("/members/" + encodeURIComponent(m.id) + "/" + action); toast(t("admin.saved")); } catch (err) { toast(errorText(err), { kind: "error" }); }
    this.load();
  }

  async importCSV() {
    let report = null;
    await form(t("admin.import"), [{ name: "file", label: t("admin.csvFile"), type: "file", accept: ".csv,text/csv", hint: t("admin.csvHint") }], {
      ok: t("admin.importGo"),
      submit: async (v) => {
        if (!v.file) throw new Error(t("admin.csvPick"));
        report = await this.ctx.rest.request("POST", "/members/import", { raw: v.file, headers: { "Content-Type": "text/csv" } });
      },
    });
    if (!report) return;
    modal(t("admin.importReport"), h("div", null,
      h("p", { text: t("admin.importCounts", { created: report.created, updated: report.updated, errors: report.errors.length }) }),
      report.errors.length ? table([{ label: t("admin.line"), cell: (e) => String(e.line) }, { label: t("admin.reason"), cell: (e) => e.reason }], report.errors) : null));
    this.ctx.directory.invalidate();
    this.load();
  }
}
