// A dialog to choose members from the directory, by search.

import { h, replace } from "./dom.js";
import { t } from "../i18n/i18n.js";
import { avatar } from "./format.js";
import { modal } from "./overlay.js";

const PAGE = 100;

/** pickMembers resolves with the chosen member ids, or null if cancelled. */
export function pickMembers(ctx, { title, exclude = [], single = false } = {}) {
  return new Promise((resolve) => {
    const chosen = new Map();
    let result = null;
    const list = h("ul", { class: "pick-list" });
    const chips = h("div", { class: "chips" });
    const ok = h("button", { class: "btn primary", text: t("ok"), disabled: true, onclick: () => { result = [...chosen.keys()]; m.close(); } });
    const search = h("input", { type: "search", class: "search", placeholder: t("picker.search"), attrs: { "aria-label": t("picker.search") } });
    let seq = 0;
    const load = async () => {
      const mine = ++seq;
      const page = await ctx.directory.list({ q: search.value.trim(), status: "active", limit: PAGE }).catch(() => ({ members: [] }));
      if (mine !== seq) return;
      const rows = page.members.filter((m) => !exclude.includes(m.id)).map((m) => {
        const box = h("input", { type: "checkbox", checked: chosen.has(m.id), onchange: () => toggle(m, box.checked) });
        return h("li", null, h("label", { class: "pick-row" }, box, avatar(m, "avatar sm"), h("span", { text: m.name }), h("span", { class: "muted", text: m.id })));
      });
      replace(list, rows.length ? rows : h("li", { class: "muted pad", text: t("picker.none") }));
    };
    const toggle = (m, on) => {
      if (single) chosen.clear();
      if (on) chosen.set(m.id, m); else chosen.delete(m.id);
      replace(chips, [...chosen.values()].map((c) => h("span", { class: "chip", text: c.name })));
      ok.disabled = chosen.size === 0;
      if (single) load();
    };
    let timer;
    search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(load, 200); });
    const m = modal(title, h("div", { class: "picker" }, search, chips, list), {
      onClose: () => resolve(result),
      actions: [h("button", { class: "btn", text: t("cancel"), onclick: () => m.close() }), ok],
    });
    load();
  });
}
