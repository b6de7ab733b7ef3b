// Pages for people without an account: a meeting's join link
// (/m/<id>?t=<link token>) and an external live's viewer link
// (/l/<id>?t=<link token>). They give a name (and a live's password),
// trade the link for a restricted token and use the same room and viewer
// screens as members, on their own socket.

import { h, icon, replace } from "./dom.js";
import { t, LANGUAGES, language, setLanguage } from "../i18n/i18n.js";
import { errorText } from "./overlay.js";
import { meetingGuest, liveViewer } from "../client/guest.js";
import { LiveRoom } from "../client/live.js";
import { WhepPlayer } from "../client/whip.js";
import { MeetingRoom } from "./meetingroom.js";
import { LiveViewer } from "./liveviewer.js";

const NAME_KEY = "parley.guestName";

/**
 * guestRoute tells whether path is a guest link: {kind: "meeting" |
 * "live", id, linkToken} or null.
 */
export function guestRoute(loc = location) {
  const m = loc.pathname.match(/^\/(m|l)\/([A-Za-z0-9]+)\/?$/);
  if (!m) return null;
  return { kind: m[1] === "m" ? "meeting" : "live", id: m[2], linkToken: new URLSearchParams(loc.search).get("t") || "" };
}

/**
 * showGuestPage fills root with the name form of a guest link, then the
 * meeting room or the live. onSignIn switches to the members' sign-in.
 */
export function showGuestPage(root, route, { onSignIn, rerender }) {
  const meeting = route.kind === "meeting";
  const err = h("p", { class: "form-error", attrs: { role: "alert" } });
  const name = h("input", { name: "name", required: true, autocomplete: "name", value: localStorage.getItem(NAME_KEY) || "", placeholder: t("guest.name"),
    attrs: { "aria-label": t("guest.name"), maxlength: 64 } });
  const password = meeting ? null : h("input", { name: "password", type: "password", placeholder: t("guest.password"), attrs: { "aria-label": t("guest.password") } });
  const btn = h("button", { class: "btn primary block", type: "submit", text: meeting ? t("guest.joinMeeting") : t("guest.watch") });
  const submit = async (e) => {
    e.preventDefault();
    btn.disabled = true;
    err.textContent = "";
    const who = name.value.trim();
    try {
      localStorage.setItem(NAME_KEY, who);
      if (meeting) await enterMeeting(root, route, who);
      else await enterLive(root, route, who, password.value);
    } catch (ex) {
      err.textContent = ex.status === 404 ? t("guest.badLink") : ex.status === 403 && !meeting ? t("guest.refused") : errorText(ex);
      btn.disabled = false;
    }
  };
  const langs = h("div", { class: "lang-switch" }, icon("globe"), LANGUAGES.map((l) =>
    h("button", { class: "link" + (l.code === language() ? " active" : ""), type: "button", text: l.name, onclick: () => { setLanguage(l.code); rerender(); } })));
  replace(root, h("div", { class: "login-page" },
    h("form", { class: "login-card guest-card", onsubmit: submit },
      h("div", { class: "brand" }, h("span", { class: "logo", text: "P" }), h("h1", { text: "Parley" })),
      h("p", { class: "muted", text: meeting ? t("guest.meetingIntro") : t("guest.liveIntro") }),
      name, password, err, btn,
      h("button", { class: "link", type: "button", text: t("guest.signIn"), onclick: onSignIn }),
      langs)));
  name.focus();
}

// opened resolves once a connection's socket is open.
function opened(connection) {
  return new Promise((resolve) => {
    connection.addEventListener("open", resolve, { once: true });
    connection.start();
  });
}

async function enterMeeting(root, route, name) {
  const { connection } = await meetingGuest({ meetingId: route.id, linkToken: route.linkToken, name });
  await opened(connection);
  const box = h("div", { class: "guest-shell" });
  replace(root, box);
  const room = new MeetingRoom(box, {
    connection, me: { name }, meetingId: route.id,
    onExit: () => { room.destroy(); connection.stop(); goodbye(root, t("guest.leftMeeting")); },
  });
}

async function enterLive(root, route, name, password) {
  const { auth, connection } = await liveViewer({ liveId: route.id, linkToken: route.linkToken, password, name });
  await opened(connection);
  const box = h("div", { class: "guest-shell live-guest" });
  replace(root, box);
  const room = new LiveRoom({ connection, liveId: route.id });
  let player = null;
  const names = (id) => (id === room.viewerId ? name : id.startsWith("guest:") ? t("live.guestNamed", { id: id.slice(-4) }) : id);
  new LiveViewer(box, {
    room, live: { id: route.id, title: "" }, names,
    play: async () => {
      player?.stop();
      player = new WhepPlayer({ url: new URL("/whep/" + encodeURIComponent(route.id), location.href).toString(), token: () => auth.accessToken() });
      player.addEventListener("ended", () => room.emit("watchended", { reason: "ended" }));
      return player.start();
    },
    stop: () => { player?.stop(); room.leave(); connection.stop(); },
  });
}

function goodbye(root, text) {
  replace(root, h("div", { class: "login-page" }, h("div", { class: "login-card" },
    h("div", { class: "brand" }, h("span", { class: "logo", text: "P" }), h("h1", { text: "Parley" })),
    h("p", { text }),
    h("button", { class: "btn block", text: t("guest.again"), onclick: () => location.reload() }))));
}
