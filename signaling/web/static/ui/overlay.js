// Modal dialogs and toasts.

import { h, icon } from "./dom.js";
import { t } from "../i18n/i18n.js";

/**
 * modal shows a dialog with a title and body; returns {el, close}.
 * onClose runs once when it closes (button, Escape or backdrop).
 */
export function modal(title, body, { onClose, wide, actions } = {}) {
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    back.remove();
    document.removeEventListener("keydown", onKey);
    onClose?.();
  };
  const onKey = (e) => { if (e.key === "Escape") close(); };
  const box = h("div", { class: "modal" + (wide ? " wide" : ""), attrs: { role: "dialog", "aria-modal": "true", "aria-label": title } },
    h("div", { class: "modal-head" }, h("h2", { text: title }), h("button", { class: "icon-btn", title: t("close"), onclick: close }, icon("close"))),
    h("div", { class: "modal-body" }, body),
    actions ? h("div", { class: "modal-actions" }, actions) : null);
  const back = h("div", { class: "backdrop", onmousedown: (e) => { if (e.target === back) close(); } }, box);
  document.body.append(back);
  document.addEventListener("keydown", onKey);
  box.querySelector("input, textarea, select")?.focus();
  return { el: box, close };
}

/** confirm asks a yes/no question; resolves true for yes. */
export function confirm(message, { danger, ok = t("ok") } = {}) {
  return new Promise((resolve) => {
    let answer = false;
    const m = modal(t("confirm"), h("p", { text: message }), {
      onClose: () => resolve(answer),
      actions: [
        h("button", { class: "btn", text: t("cancel"), onclick: () => m.close() }),
        h("button", { class: "btn " + (danger ? "danger" : "primary"), text: ok, onclick: () => { answer = true; m.close(); } }),
      ],
    });
  });
}

/**
 * form shows fields in a dialog and resolves with their values on submit,
 * or null on cancel. fields: [{name, label, type, value, options, required, hint}].
 * submit(values) may throw to keep the dialog open and show the error.
 */
export function form(title, fields, { submit, ok = t("save") } = {}) {
  return new Promise((resolve) => {
    let result = null;
    const inputs = {};
    const err = h("p", { class: "form-error", attrs: { role: "alert" } });
    const rows = fields.map((f) => {
      let input;
      if (f.type === "select") {
        input = h("select", { name: f.name }, f.options.map((o) => h("option", { value: o.value, text: o.label, selected: o.value === f.value })));
      } else if (f.type === "textarea") {
        input = h("textarea", { name: f.name, value: f.value ?? "", rows: 4 });
      } else if (f.type === "checkbox") {
        input = h("input", { type: "checkbox", name: f.name, checked: !!f.value });
      } else if (f.type === "file") {
        input = h("input", { type: "file", name: f.name, accept: f.accept });
      } else {
        input = h("input", { type: f.type || "text", name: f.name, value: f.value ?? "", required: !!f.required, autocomplete: "off" });
      }
      inputs[f.name] = input;
      return h("label", { class: "field" + (f.type === "checkbox" ? " check" : "") }, h("span", { text: f.label }), input, f.hint ? h("small", { text: f.hint }) : null);
    });
    const onSubmit = async (e) => {
      e.preventDefault();
      const values = {};
      for (const f of fields) {
        const el = inputs[f.name];
        values[f.name] = f.type === "checkbox" ? el.checked : f.type === "file" ? el.files[0] : el.value.trim();
      }
      try {
        if (submit) await submit(values);
        result = values;
        m.close();
      } catch (ex) {
        err.textContent = errorText(ex);
      }
    };
    const f = h("form", { class: "form", onsubmit: onSubmit }, rows, err,
      h("div", { class: "modal-actions" },
        h("button", { type: "button", class: "btn", text: t("cancel"), onclick: () => m.close() }),
        h("button", { type: "submit", class: "btn primary", text: ok })));
    const m = modal(title, f, { onClose: () => resolve(result) });
  });
}

/** errorText turns an ApiError or WsError into a sentence for people. */
export function errorText(err) {
  if (!err) return "";
  const known = t("err." + err.code);
  if (known !== "err." + err.code) return known;
  return err.message || String(err);
}

let toastBox;

/** toast shows a short message at the top for a few seconds. */
export function toast(message, { kind = "info", ms = 3500 } = {}) {
  if (!toastBox) { toastBox = h("div", { class: "toasts", attrs: { "aria-live": "polite" } }); document.body.append(toastBox); }
  const el = h("div", { class: "toast " + kind, text: message });
  toastBox.append(el);
  setTimeout(() => el.remove(), ms);
}
