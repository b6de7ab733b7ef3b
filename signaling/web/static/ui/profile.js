// The signed-in member's own card, with password change.

import { h } from "./dom.js";
import { t } from "../i18n/i18n.js";
import { avatar } from "./format.js";
import { form, modal, toast } from "./overlay.js";

/** showProfile opens the member's own card. */
export function showProfile(ctx) {
  const me = ctx.me;
  const m = modal(t("profile.title"), h("div", { class: "member-card" },
    h("div", { class: "card-top" }, avatar(me, "avatar xl"), h("div", null, h("h2", { text: me.name }), h("p", { class: "muted", text: me.id }))),
    h("div", { class: "card-row" }, h("span", { class: "muted", text: t("admin.role") }), h("span", { text: t("role." + me.role) })),
    h("button", { class: "btn", text: t("profile.password"), onclick: () => { m.close(); changePassword(ctx); } })));
}

async function changePassword(ctx) {
  await form(t("profile.password"), [
    { name: "old", label: t("profile.oldPassword"), type: "password", required: true },
    { name: "new", label: t("profile.newPassword"), type: "password", required: true, hint: t("profile.passwordHint") },
  ], {
    submit: async (v) => {
      const tok = await ctx.rest.put("/me/password", { old_password: v.old, new_password: v.new });
      ctx.rest.keep(tok); // every other session ends; this one goes on with the new pair
      toast(t("profile.passwordChanged"));
    },
  });
}
