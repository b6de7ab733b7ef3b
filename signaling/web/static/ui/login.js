// The sign-in screen.

import { h, replace, icon } from "./dom.js";
import { t, LANGUAGES, language, setLanguage } from "../i18n/i18n.js";
import { errorText } from "./overlay.js";

/** renderLogin fills root with the sign-in form; onLogin(username, password) signs in. */
export function renderLogin(root, { onLogin, notice, rerender }) {
  const err = h("p", { class: "form-error", attrs: { role: "alert" }, text: notice || "" });
  const user = h("input", { name: "username", autocomplete: "username", required: true, attrs: { "aria-label": t("login.username") }, placeholder: t("login.username") });
  const pass = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true, attrs: { "aria-label": t("login.password") }, placeholder: t("login.password") });
  const btn = h("button", { class: "btn primary block", type: "submit", text: t("login.submit") });
  const submit = async (e) => {
    e.preventDefault();
    btn.disabled = true;
    err.textContent = "";
    try {
      await onLogin(user.value.trim(), pass.value);
    } catch (ex) {
      err.textContent = ex.code === "rate_limited" ? t("err.rate_limited_login", { s: ex.retryAfter || 60 }) : errorText(ex);
      btn.disabled = false;
      pass.select();
    }
  };
  const langs = h("div", { class: "lang-switch" }, icon("globe"), LANGUAGES.map((l) =>
    h("button", { class: "link" + (l.code === language() ? " active" : ""), text: l.name, onclick: () => { setLanguage(l.code); rerender(); } })));
  replace(root, h("div", { class: "login-page" },
    h("form", { class: "login-card", onsubmit: submit },
      h("div", { class: "brand" }, h("span", { class: "logo", text: "P" }), h("h1", { text: "Parley" })),
      h("p", { class: "muted", text: t("login.tagline") }),
      user, pass, err, btn,
      langs)));
  user.focus();
}
