// Translations: one dictionary per language, English as the fallback.
// The language is the user's choice if they made one, else the browser's.

import en from "./en.js";
import zh from "./zh.js";

const DICTS = { en, zh };
const KEY = "parley.lang";
let lang = pick();

function pick() {
  const saved = localStorage.getItem(KEY);
  if (saved && DICTS[saved]) return saved;
  for (const l of navigator.languages || [navigator.language || "en"]) {
    const base = l.toLowerCase().split("-")[0];
    if (DICTS[base]) return base;
  }
  return "en";
}

/** The current language code ("en" or "zh"). */
export function language() { return lang; }

/** The languages offered, with their own names. */
export const LANGUAGES = [{ code: "zh", name: "中文" }, { code: "en", name: "English" }];

/** Sets and remembers the language; the caller re-renders. */
export function setLanguage(code) {
  if (!DICTS[code]) return;
  lang = code;
  localStorage.setItem(KEY, code);
  document.documentElement.lang = code === "zh" ? "zh-CN" : "en";
}

/** t translates key, filling {name} placeholders from params. */
export function t(key, params) {
  let s = DICTS[lang][key] ?? en[key] ?? key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (params[k] ?? m));
  return s;
}

document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
