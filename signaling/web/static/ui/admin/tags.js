// Admin: tags. Create, rename, delete, and set a tag's members.

import { h, replace } from "../dom.js";
import { t } from "../../i18n/i18n.js";
import { confirm, errorText, form, toast } from "../overlay.js";
import { pickMembers } from "../picker.js";
import { table } from "./admin.js";

export class TagsTab {
  constructor(el, ctx) {
    this.ctx = ctx;
    this.list = h("div");
    el.append(h("div", { class: "toolbar-row" }, h("span", { class: "grow" }),
      h("button", { class: "btn primary", text: t("admin.newTag"), onclick: () => this.create() })), this.list);
    this.load();
  }

  async load() {
    let tags;
    try { tags = await this.ctx.directory.tags(true); } catch (err) { replace(this.list, h("p", { class: "form-error", text: errorText(err) })); return; }
    const counts = await Promise.all(tags.map((tg) => this.ctx.rest.get("/tags/" + encodeURIComponent(tg.id) + "/members").then((r) => r.members, () => [])));
    replace(this.list, table([
      { label: t("admin.tag"), cell: (tg) => h("span", { class: "chip", text: tg.name }) },
      { label: t("group.members"), cell: (tg) => counts[tags.indexOf(tg)].map((id) => this.ctx.directory.nameOf(id)).join(t("list.sep")) || "—" },
      { label: "", cell: (tg) => h("span", { class: "row-actions" },
        h("button", { class: "link", text: t("admin.addToTag"), onclick: () => this.addMembers(tg) }),
        h("button", { class: "link", text: t("admin.rename"), onclick: () => this.rename(tg) }),
        h("button", { class: "link danger", text: t("delete"), onclick: () => this.remove(tg) })) },
    ], tags));
  }

  async create() {
    await form(t("admin.newTag"), [{ name: "name", label: t("admin.tag"), required: true }], { ok: t("create"), submit: (v) => this.ctx.rest.post("/tags", { name: v.name }) });
    this.load();
  }

  async rename(tg) {
    await form(t("admin.rename"), [{ name: "name", label: t("admin.tag"), value: tg.name, required: true }], { submit: (v) => this.ctx.rest.patch("/tags/" + encodeURIComponent(tg.id), { name: v.name }) });
    this.load();
  }

  async addMembers(tg) {
    const ids = await pickMembers(this.ctx, { title: t("admin.addToTag") + " · " + tg.name });
    if (!ids) return;
    try { await this.ctx.rest.post("/tags/" + encodeURIComponent(tg.id) + "/members", { add: ids }); toast(t("admin.saved")); } catch (err) { toast(errorText(err), { kind: "error" }); }
    this.load();
  }

  async remove(tg) {
    if (!(await confirm(t("admin.deleteTagConfirm", { name: tg.name }), { danger: true, ok: t("delete") }))) return;
    try { await this.ctx.rest.del("/tags/" + encodeURIComponent(tg.id)); } catch (err) { toast(errorText(err), { kind: "error" }); }
    this.load();
  }
}
