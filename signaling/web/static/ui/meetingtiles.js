// The video grid of a meeting room, one tile per participant and one per
// screen share, with the active speaker highlighted; and the side panel
// of participants and the waiting room, with the host's controls.

import { h, icon, replace } from "./dom.js";
import { t } from "../i18n/i18n.js";
import { avatar } from "./format.js";
import { confirm, errorText, toast } from "./overlay.js";
import { setStream, streamOf, videoEl } from "./media.js";

// Tiles are asked for no larger picture than they show; changes smaller
// than this (in pixels) are not worth a request.
const SIZE_STEP = 32;
const PREFERENCE_DELAY_MS = 400;
const SPEAKING_LEVEL = 0.02;

/** Grid keeps the tiles of a MeetingClient's room in an element. */
export class Grid {
  constructor(el, mc) {
    this.mc = mc;
    this.el = h("div", { class: "grid" });
    this.tiles = new Map(); // key (participant id, or id + ":screen") -> tile
    this.sizes = new Map(); // track id -> "w x h" last asked for
    el.append(this.el);
    this.resize = new ResizeObserver(() => this.schedulePreferences());
    this.resize.observe(this.el);
  }

  render() {
    const mc = this.mc;
    const seen = new Set();
    let screens = 0;
    for (const p of mc.everyone()) {
      const self = p === mc.self;
      const camera = self ? mc.localTrack("camera") : mc.remoteTrack(p.participant_id, "camera");
      const mic = self ? null : mc.remoteTrack(p.participant_id, "microphone");
      const cameraOn = camera && !mc.isMuted(p.participant_id, "camera");
      this.tile(p.participant_id, p, { video: cameraOn ? camera : null, audio: mic, self, seen });
      const screen = self ? mc.localTrack("screen_share") : mc.remoteTrack(p.participant_id, "screen_share");
      if (screen) { screens++; this.tile(p.participant_id + ":screen", p, { video: screen, screen: true, self, seen }); }
    }
    for (const [key, tile] of this.tiles) if (!seen.has(key)) { tile.el.remove(); this.tiles.delete(key); }
    this.el.dataset.count = String(Math.min(this.tiles.size, 9));
    this.el.classList.toggle("has-screen", screens > 0);
    this.speakers(mc.speakers);
    this.schedulePreferences();
  }

  tile(key, p, { video, audio, screen = false, self, seen }) {
    seen.add(key);
    let tile = this.tiles.get(key);
    if (!tile) {
      const v = videoEl(null, { muted: true, mirror: self && !screen });
      const name = h("span", { class: "tile-name" });
      tile = { el: h("div", { class: "tile" + (screen ? " screen" : "") + (self ? " self" : ""), dataset: { participant: p.participant_id } },
        v, h("div", { class: "tile-avatar" }, avatar({ id: p.user_id, name: p.name }, "avatar xl")), name), v, name, audioEl: null };
      this.tiles.set(key, tile);
      // Screen shares first, then people in joining order.
      if (screen) this.el.prepend(tile.el); else this.el.append(tile.el);
    }
    const trackOf = (s) => s?.getTracks()[0] || null;
    if (trackOf(tile.v.srcObject) !== video) setStream(tile.v, streamOf(video));
    tile.el.classList.toggle("no-video", !video);
    tile.el.classList.toggle("reconnecting", p.state === "reconnecting");
    tile.el.dataset.name = p.name;
    if (!screen) {
      // Audio plays from its own element, so a hidden video does not matter.
      if (audio && !tile.audioEl) { tile.audioEl = h("audio", { autoplay: true, class: "hidden-audio" }); tile.el.append(tile.audioEl); }
      if (tile.audioEl && trackOf(tile.audioEl.srcObject) !== audio) setStream(tile.audioEl, streamOf(audio));
    }
    const micOff = this.mc.isMuted(p.participant_id, "microphone") || !(p.tracks || []).some((x) => x.source === "microphone");
    const label = screen ? t("room.screenOf", { name: p.name }) : p.name + (self ? " (" + t("you") + ")" : "");
    replace(tile.name, !screen && micOff ? icon("micOff", "icon xs mic-off") : null, h("span", { text: label }),
      p.role === "host" || p.role === "cohost" ? h("span", { class: "tag " + p.role, text: t("room.role." + p.role) }) : null,
      p.state === "reconnecting" ? h("span", { class: "tag warn", text: t("room.reconnecting") }) : null);
    tile.el.dataset.mic = micOff ? "off" : "on";
  }

  /** speakers highlights the loudest speaker's tile. */
  speakers(list) {
    const top = (list || []).find((s) => s.level >= SPEAKING_LEVEL)?.participant_id;
    for (const [key, tile] of this.tiles) tile.el.classList.toggle("speaking", !key.endsWith(":screen") && key === top);
  }

  // schedulePreferences asks for each remote camera at most the size its
  // tile shows, so a grid of small tiles receives small simulcast layers.
  schedulePreferences() {
    clearTimeout(this.prefTimer);
    this.prefTimer = setTimeout(() => this.preferences(), PREFERENCE_DELAY_MS);
  }

  preferences() {
    const mc = this.mc;
    if (mc.state !== "joined") return;
    const dpr = window.devicePixelRatio || 1;
    for (const p of mc.participants.values()) {
      const tile = this.tiles.get(p.participant_id);
      const info = p.tracks?.find((x) => x.source === "camera");
      if (!tile || !info) continue;
      const w = Math.ceil(tile.el.clientWidth * dpr / SIZE_STEP) * SIZE_STEP;
      const hgt = Math.ceil(tile.el.clientHeight * dpr / SIZE_STEP) * SIZE_STEP;
      const key = w + "x" + hgt;
      if (!w || !hgt || this.sizes.get(info.track_id) === key) continue;
      this.sizes.set(info.track_id, key);
      mc.subscribe(info.track_id, { maxWidth: w, maxHeight: hgt }).catch(() => this.sizes.delete(info.track_id));
    }
  }

  destroy() {
    clearTimeout(this.prefTimer);
    this.resize.disconnect();
    for (const tile of this.tiles.values()) { tile.v.srcObject = null; if (tile.audioEl) tile.audioEl.srcObject = null; }
    this.el.remove();
  }
}

/** Panel lists the participants and the waiting room, with host controls. */
export class Panel {
  constructor(el, mc) {
    this.mc = mc;
    this.el = h("aside", { class: "side-panel", attrs: { "aria-label": t("room.participants") } });
    el.append(this.el);
  }

  act(fn, okText) {
    fn().then(() => { if (okText) toast(okText); }, (err) => toast(errorText(err), { kind: "error" }));
  }

  render() {
    const mc = this.mc;
    const host = mc.isHost;
    const s = mc.settings || {};
    const sections = [];
    if (host) {
      sections.push(h("div", { class: "panel-controls" },
        h("button", { class: "btn", dataset: { ctl: "mute-all" }, text: t("room.muteAll"), onclick: () => this.act(async () => {
          const r = await mc.muteAll();
          toast(t("room.mutedCount", { n: r.muted ?? 0 }));
        }) }),
        toggle(t("room.lock"), s.locked, "lock", (on) => this.act(() => mc.lock(on))),
        toggle(t("room.waitingRoom"), s.waiting_room, "waiting-room", (on) => this.act(() => mc.setWaitingRoom(on))),
        toggle(t("room.allowScreen"), s.allow_screen_share, "screen-share", (on) => this.act(() => mc.allowScreenShare(on)))));
      if (mc.waiting.length) {
        sections.push(h("h3", { class: "section-title", text: t("room.waiting", { n: mc.waiting.length }) }),
          h("ul", { class: "member-list waiting-list" }, mc.waiting.map((w) => h("li", { class: "member-row", dataset: { participant: w.participant_id } },
            avatar({ id: w.user_id, name: w.name }, "avatar sm"), h("span", { class: "grow", text: w.name }),
            h("button", { class: "btn primary", text: t("room.admit"), onclick: () => this.act(() => mc.admit(w.participant_id)) }),
            h("button", { class: "btn", text: t("room.deny"), onclick: () => this.act(() => mc.deny(w.participant_id)) })))));
      }
    }
    const people = mc.everyone();
    sections.push(h("h3", { class: "section-title", text: t("room.inMeeting", { n: people.length }) }),
      h("ul", { class: "member-list" }, people.map((p) => this.row(p))));
    replace(this.el, sections);
  }

  row(p) {
    const mc = this.mc;
    const self = p === mc.self;
    const rank = (r) => (r === "host" ? 2 : r === "cohost" ? 1 : 0);
    const canAct = mc.isHost && !self && rank(mc.self.role) > rank(p.role);
    const micOff = mc.isMuted(p.participant_id, "microphone");
    const actions = [];
    if (canAct && !micOff) actions.push(h("button", { class: "link", text: t("room.mute"), onclick: () => this.act(() => mc.hostMute(p.participant_id)) }));
    if (mc.self.role === "host" && !self && p.role !== "guest") {
      const co = p.role === "cohost";
      actions.push(h("button", { class: "link", text: co ? t("room.uncohost") : t("room.makeCohost"), onclick: () => this.act(() => mc.setCohost(p.participant_id, !co)) }));
    }
    if (canAct) {
      actions.push(h("button", { class: "link danger", text: t("room.remove"), onclick: async () => {
        if (await confirm(t("room.removeConfirm", { name: p.name }), { danger: true, ok: t("room.remove") })) this.act(() => mc.remove(p.participant_id));
      } }));
    }
    return h("li", { class: "member-row", dataset: { participant: p.participant_id } },
      avatar({ id: p.user_id, name: p.name }, "avatar sm"),
      h("span", { class: "grow", text: p.name + (self ? " (" + t("you") + ")" : "") }),
      p.role === "host" || p.role === "cohost" ? h("span", { class: "tag " + p.role, text: t("room.role." + p.role) }) : null,
      p.role === "guest" ? h("span", { class: "tag", text: t("room.role.guest") }) : null,
      icon(micOff ? "micOff" : "mic", "icon xs" + (micOff ? " mic-off" : "")),
      actions.length ? h("span", { class: "row-actions" }, actions) : null);
  }

  destroy() { this.el.remove(); }
}

function toggle(label, on, name, change) {
  return h("label", { class: "field check" },
    h("input", { type: "checkbox", checked: !!on, dataset: { ctl: name }, onchange: (e) => change(e.target.checked) }),
    h("span", { text: label }));
}
