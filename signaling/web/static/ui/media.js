// Small pieces shared by the meeting and live screens: video elements,
// copy buttons, durations and date inputs.

import { h, icon } from "./dom.js";
import { t, language } from "../i18n/i18n.js";
import { toast } from "./overlay.js";

/**
 * videoEl makes a playing <video> for a MediaStream. muted for local
 * previews (and for streams whose audio plays elsewhere), mirror for the
 * participant's own camera.
 */
export function videoEl(stream, { muted = false, mirror = false, cls = "" } = {}) {
  const v = h("video", { class: "video" + (mirror ? " mirror" : "") + (cls ? " " + cls : ""), autoplay: true, playsInline: true, muted });
  v.muted = muted;
  if (stream) v.srcObject = stream;
  return v;
}

/** setStream points v at stream (or nothing) unless it shows it already. */
export function setStream(v, stream) {
  if (v.srcObject === stream) return;
  v.srcObject = stream || null;
  if (stream) v.play().catch(() => { /* autoplay waits for a gesture */ });
}

/** streamOf is a MediaStream of the given tracks, or null if there are none. */
export function streamOf(...tracks) {
  const live = tracks.filter(Boolean);
  return live.length ? new MediaStream(live) : null;
}

/** copyText puts text on the clipboard, with a fallback for plain-http pages. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const ta = h("textarea", { class: "offscreen", value: text, readOnly: true });
    document.body.append(ta);
    ta.select();
    document.execCommand("copy");
    ta.remove();
  }
  toast(t("copied"));
}

/**
 * copyField shows a value with a copy button: the join link, the WHIP
 * URL, the stream key. secret hides the value until shown.
 */
export function copyField(label, value, { secret = false, name } = {}) {
  const input = h("input", { class: "copy-value", value, readOnly: true, type: secret ? "password" : "text", attrs: { "aria-label": label, name } });
  return h("div", { class: "copy-field" },
    h("span", { class: "copy-label", text: label }),
    h("div", { class: "copy-row" }, input,
      secret ? h("button", { class: "btn", type: "button", text: t("show"), onclick: (e) => { input.type = input.type === "password" ? "text" : "password"; e.target.textContent = input.type === "password" ? t("show") : t("hide"); } }) : null,
      h("button", { class: "btn copy-btn", type: "button", attrs: { "aria-label": t("copy") + " " + label }, onclick: () => copyText(value) }, icon("copy", "icon xs"), h("span", { text: t("copy") }))));
}

/** duration shows milliseconds as "1 h 5 min", "3 min" or "40 s". */
export function duration(ms) {
  const s = Math.round((ms || 0) / 1000);
  if (s < 60) return t("time.seconds", { n: s });
  const m = Math.round(s / 60);
  if (m < 60) return t("time.minutes", { n: m });
  return t("time.hours", { h: Math.floor(m / 60), m: m % 60 });
}

/** dateTime shows an ISO time as a local date and time. */
export function dateTime(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return "";
  return d.toLocaleString(language() === "zh" ? "zh-CN" : "en", { month: "short", day: "numeric", weekday: "short", hour: "2-digit", minute: "2-digit" });
}

/** localInput is an ISO time as a datetime-local input's value. */
export function localInput(date) {
  const d = new Date(date);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** statusTag is a colored tag for a meeting's or live's status. */
export function statusTag(status) {
  return h("span", { class: "status-tag " + status, text: t("status." + status) });
}

/** getMedia asks for the microphone and camera; either may be refused alone. */
export async function getMedia({ audio = true, video = true } = {}) {
  const constraints = {
    audio: audio ? { echoCancellation: true, noiseSuppression: true } : false,
    video: video ? { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 } } : false,
  };
  try {
    return await navigator.mediaDevices.getUserMedia(constraints);
  } catch {
    // One of the two may be missing or refused: try each alone.
    const tracks = [];
    for (const kind of ["audio", "video"]) {
      if (!constraints[kind]) continue;
      try { tracks.push(...(await navigator.mediaDevices.getUserMedia({ [kind]: constraints[kind] })).getTracks()); } catch { /* without it */ }
    }
    return new MediaStream(tracks);
  }
}
