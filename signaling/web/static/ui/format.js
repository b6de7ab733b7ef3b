// Formatting of times, sizes and avatars.

import { h } from "./dom.js";
import { language } from "../i18n/i18n.js";

/** A message time: the clock time today, else the date. */
export function shortTime(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return "";
  const now = new Date();
  const loc = language() === "zh" ? "zh-CN" : "en";
  if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString(loc, { hour: "2-digit", minute: "2-digit" });
  return d.toLocaleDateString(loc, { month: "short", day: "numeric" });
}

/** Date and time, for logs and dividers. */
export function longTime(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return "";
  return d.toLocaleString(language() === "zh" ? "zh-CN" : "en", { dateStyle: "medium", timeStyle: "short" });
}

/** A byte count as KB/MB. */
export function size(n) {
  if (!(n >= 0)) return "";
  if (n < 1024) return n + " B";
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KB";
  return (n / 1024 / 1024).toFixed(1) + " MB";
}

const COLORS = ["#3370ff", "#34c724", "#ff8800", "#7f3bf5", "#f54a45", "#00b8d9", "#d136d1", "#2f9688"];

/** An avatar: the image at avatar_url, else initials on a color picked from the id. */
export function avatar(person, cls = "avatar") {
  const id = person?.id || "?";
  const name = person?.name || id;
  if (person?.avatar_url) return h("img", { class: cls, src: person.avatar_url, alt: "" });
  let sum = 0;
  for (const c of id) sum = (sum * 31 + c.codePointAt(0)) >>> 0;
  const el = h("span", { class: cls, attrs: { "aria-hidden": "true" }, text: initials(name) });
  el.style.background = COLORS[sum % COLORS.length];
  return el;
}

function initials(name) {
  const s = name.trim();
  if (/[\u3400-\u9fff]/.test(s)) return s.slice(-2); // Chinese names: the given name
  const parts = s.split(/\s+/);
  return (parts[0][0] + (parts[1]?.[0] || "")).toUpperCase();
}
