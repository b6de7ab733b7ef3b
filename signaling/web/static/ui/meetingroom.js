// A meeting room: the lobby (a camera preview and the microphone and
// camera choices), the waiting room, the meeting itself (the grid, the
// control bar, the participants panel) and the screen shown after it.
// Members and guests use the same room; a guest's connection is its own
// /ws/meeting socket.

import { h, icon, replace } from "./dom.js";
import { t } from "../i18n/i18n.js";
import { errorText, modal, toast } from "./overlay.js";
import { copyText, getMedia, setStream, streamOf, videoEl } from "./media.js";
import { MeetingClient, MeetingState } from "../client/meeting.js";
import { Grid, Panel } from "./meetingtiles.js";

// Reasons a participant is out that allow no rejoining from this screen.
const FINAL_REASONS = new Set(["removed", "denied", "meeting_ended", "joined_elsewhere"]);

export class MeetingRoom {
  /**
   * opts: connection (started), me ({name}), meetingId, api (Meetings,
   * absent for guests), onExit() to leave the room screen.
   */
  constructor(el, { connection, me, meetingId, api, onExit }) {
    this.el = el;
    this.meetingId = meetingId;
    this.me = me;
    this.api = api;
    this.onExit = onExit;
    this.mc = new MeetingClient({ connection });
    this.root = h("div", { class: "room" });
    el.append(this.root);
    this.want = { mic: true, camera: true };
    this.on(this.mc, "state", () => this.stateChanged());
    this.on(this.mc, "room", () => this.renderRoom());
    this.on(this.mc, "track", () => this.renderRoom());
    this.on(this.mc, "speakers", (ev) => this.grid?.speakers(ev.detail.speakers));
    this.on(this.mc, "muted", (ev) => this.mutedBy(ev.detail));
    this.on(this.mc, "ended", (ev) => this.ended(ev.detail));
    this.on(this.mc, "error", (ev) => console.warn("parley meeting:", ev.detail.error));
    this.lobby();
  }

  on(target, type, fn) {
    target.addEventListener(type, fn);
    (this.offs ||= []).push(() => target.removeEventListener(type, fn));
  }

  // ---- lobby -----------------------------------------------------------------

  async lobby(notice) {
    this.preview = this.preview?.getTracks().some((x) => x.readyState === "live") ? this.preview : await getMedia();
    if (this.destroyed) { this.stopPreview(); return; }
    const v = videoEl(null, { muted: true, mirror: true });
    const err = h("p", { class: "form-error", attrs: { role: "alert" }, text: notice || "" });
    const title = h("h2", { text: t("room.lobbyTitle") });
    if (this.api) this.api.get(this.meetingId).then((m) => { title.textContent = m.title; }, () => {});
    const showPreview = () => {
      const cam = this.preview.getVideoTracks()[0];
      setStream(v, this.want.camera && cam ? streamOf(cam) : null);
      v.hidden = !(this.want.camera && cam);
    };
    const micBtn = this.ctlButton("mic", () => { this.want.mic = !this.want.mic; paint(); });
    const camBtn = this.ctlButton("camera", () => { this.want.camera = !this.want.camera; paint(); });
    const paint = () => {
      this.paintCtl(micBtn, this.want.mic, "mic", "micOff", t("room.mic"));
      this.paintCtl(camBtn, this.want.camera, "video", "videoOff", t("room.camera"));
      showPreview();
    };
    const join = h("button", { class: "btn primary block", dataset: { ctl: "join" }, text: t("room.joinNow"), onclick: async () => {
      join.disabled = true;
      err.textContent = "";
      try { await this.join(); } catch (ex) { err.textContent = errorText(ex); join.disabled = false; }
    } });
    replace(this.root, h("div", { class: "lobby" },
      h("div", { class: "lobby-card" }, title,
        h("div", { class: "preview" }, v, h("div", { class: "preview-off", text: t("room.cameraOff") })),
        h("div", { class: "lobby-controls" }, micBtn, camBtn),
        err, join,
        h("button", { class: "btn block", text: t("back"), onclick: () => this.exit() }))));
    paint();
  }

  ctlButton(name, onclick) {
    return h("button", { class: "ctl", type: "button", dataset: { ctl: name }, onclick });
  }

  paintCtl(b, on, iconOn, iconOff, label) {
    replace(b, icon(on ? iconOn : iconOff), h("span", { class: "ctl-label", text: label }));
    b.classList.toggle("off", !on);
    b.setAttribute("aria-pressed", String(on));
    b.title = label;
  }

  async join() {
    await this.mc.join(this.meetingId);
    // stateChanged renders the waiting room or the meeting and publishes.
  }

  stopPreview() {
    for (const tr of this.preview?.getTracks() || []) tr.stop();
    this.preview = null;
  }

  // ---- in the meeting ----------------------------------------------------------

  stateChanged() {
    const st = this.mc.state;
    if (st === MeetingState.waiting) this.waitingRoom();
    if (st === MeetingState.joined && !this.grid) this.meeting();
    this.root.classList.toggle("is-reconnecting", st === MeetingState.reconnecting);
    this.renderRoom();
  }

  waitingRoom() {
    replace(this.root, h("div", { class: "lobby" }, h("div", { class: "lobby-card waiting-card" },
      h("h2", { text: this.mc.title }),
      h("p", { class: "muted", text: t("room.waitingForHost") }),
      h("div", { class: "spinner" }),
      h("button", { class: "btn block", text: t("room.leave"), onclick: () => this.mc.leave() }))));
  }

  meeting() {
    this.stage = h("div", { class: "stage" });
    this.banner = h("div", { class: "room-banner", text: t("room.reconnectingBanner") });
    this.titleEl = h("h2", { class: "room-title" });
    this.countEl = h("span", { class: "muted" });
    this.lockEl = h("span", { class: "room-lock" });
    this.recEl = h("span", { class: "rec-tag", text: t("room.rec") });
    // Hosts and co-hosts may copy the join link (the REST card shows it to them only).
    const invite = h("button", { class: "btn invite-btn", hidden: true, dataset: { ctl: "invite" } }, icon("link", "icon xs"), h("span", { text: t("room.copyInvite") }));
    this.api?.get(this.meetingId).then((m) => {
      if (!m.join_link) return;
      invite.hidden = false;
      invite.onclick = () => copyText(new URL(m.join_link, location.href).toString());
    }, () => {});
    this.bar = h("div", { class: "room-bar" });
    const body = h("div", { class: "room-body" }, this.stage);
    replace(this.root,
      h("header", { class: "room-head" }, this.titleEl, this.lockEl, this.recEl, this.countEl, h("span", { class: "grow" }), invite),
      this.banner, body, this.bar);
    this.grid = new Grid(this.stage, this.mc);
    this.panel = new Panel(body, this.mc);
    this.panelOpen = window.innerWidth > 900;
    this.publishLocal().catch((err) => {
      // A meeting that ends (or removes us) while publishing refuses it
      // with bad_state, possibly just before its own news arrives; the end
      // screen tells that, so it is not an error to show.
      if (this.mc.state !== MeetingState.left && err.code !== "bad_state") toast(errorText(err), { kind: "error" });
    });
    this.renderRoom();
  }

  // publishLocal sends what the lobby chose: the microphone always (muted
  // if it was off, so turning it on needs no new offer), the camera if on.
  async publishLocal() {
    const mic = this.preview?.getAudioTracks()[0];
    const cam = this.preview?.getVideoTracks()[0];
    const items = [];
    if (mic) items.push({ track: mic, source: "microphone" });
    if (cam && this.want.camera) items.push({ track: cam, source: "camera", simulcast: true });
    else cam?.stop();
    this.preview = null;
    if (items.length) await this.mc.publish(items);
    if (mic && !this.want.mic && !this.mc.isMuted(this.mc.self.participant_id, "microphone")) await this.mc.setMuted("microphone", true);
    this.renderRoom();
  }

  renderRoom() {
    const mc = this.mc;
    if (!this.grid || !mc.self) return;
    this.titleEl.textContent = mc.title;
    this.countEl.textContent = t("room.count", { n: mc.everyone().length });
    replace(this.lockEl, mc.settings.locked ? icon("lock", "icon xs") : null);
    this.lockEl.title = mc.settings.locked ? t("room.locked") : "";
    this.recEl.hidden = !mc.recording;
    this.grid.render();
    this.panel.el.hidden = !this.panelOpen;
    if (this.panelOpen) this.panel.render();
    this.renderBar();
  }

  renderBar() {
    const mc = this.mc;
    const me = mc.self.participant_id;
    const micOn = !!mc.localTrack("microphone") && !mc.isMuted(me, "microphone");
    const camOn = !!mc.localTrack("camera") && !mc.isMuted(me, "camera");
    const sharing = !!mc.localTrack("screen_share");
    const screenAllowed = mc.settings.allow_screen_share || mc.isHost;
    const mic = this.ctlButton("mic", () => this.toggleMic());
    const cam = this.ctlButton("camera", () => this.toggleCamera());
    const screen = this.ctlButton("screen", () => this.toggleScreen());
    const people = this.ctlButton("participants", () => { this.panelOpen = !this.panelOpen; this.renderRoom(); });
    const leave = h("button", { class: "ctl leave", dataset: { ctl: "leave" }, onclick: () => this.leave() }, icon("leave"), h("span", { class: "ctl-label", text: t("room.leave") }));
    this.paintCtl(mic, micOn, "mic", "micOff", micOn ? t("room.mute") : t("room.unmute"));
    this.paintCtl(cam, camOn, "video", "videoOff", camOn ? t("room.stopVideo") : t("room.startVideo"));
    this.paintCtl(screen, !sharing, "screen", "screen", sharing ? t("room.stopShare") : t("room.share"));
    screen.classList.toggle("off", false);
    screen.classList.toggle("on", sharing);
    screen.disabled = !screenAllowed && !sharing;
    this.paintCtl(people, true, "group", "group", t("room.participants"));
    people.classList.toggle("on", this.panelOpen);
    if (mc.isHost && mc.waiting.length) people.append(h("span", { class: "badge", text: String(mc.waiting.length) }));
    let rec = null;
    if (mc.isHost && mc.canRecord) {
      rec = this.ctlButton("record", () => mc.record(!mc.recording).catch((err) => toast(errorText(err), { kind: "error" })));
      this.paintCtl(rec, true, "record", "record", mc.recording ? t("room.stopRecording") : t("room.record"));
      rec.classList.toggle("on", !!mc.recording);
    }
    replace(this.bar, h("div", { class: "bar-group" }, mic, cam, screen, rec), h("div", { class: "bar-group" }, people, leave));
  }

  async toggleMic() {
    const mc = this.mc;
    try {
      if (!mc.localTrack("microphone")) {
        const s = await getMedia({ audio: true, video: false });
        const tr = s.getAudioTracks()[0];
        if (!tr) throw new Error(t("room.noMic"));
        await mc.publish([{ track: tr, source: "microphone" }]);
        if (mc.isMuted(mc.self.participant_id, "microphone")) await mc.setMuted("microphone", false);
        return;
      }
      await mc.setMuted("microphone", !mc.isMuted(mc.self.participant_id, "microphone"));
    } catch (err) {
      toast(err.code === "forbidden" ? t("room.cannotUnmute") : errorText(err), { kind: "error" });
    }
  }

  async toggleCamera() {
    const mc = this.mc;
    try {
      const on = !!mc.localTrack("camera") && !mc.isMuted(mc.self.participant_id, "camera");
      if (on) { await mc.setCamera(null); return; }
      const tr = (await getMedia({ audio: false, video: true })).getVideoTracks()[0];
      if (!tr) throw new Error(t("room.noCamera"));
      await mc.setCamera(tr);
    } catch (err) { toast(errorText(err), { kind: "error" }); }
    this.renderRoom();
  }

  async toggleScreen() {
    const mc = this.mc;
    try {
      if (mc.localTrack("screen_share")) { await mc.unpublish("screen_share"); return; }
      const s = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      await mc.publish([{ track: s.getVideoTracks()[0], source: "screen_share" }]);
    } catch (err) {
      if (err.name !== "NotAllowedError") toast(errorText(err), { kind: "error" });
    }
  }

  mutedBy(d) {
    if (d.participant_id !== this.mc.self?.participant_id || !d.by || !d.muted) return;
    toast(d.allow_unmute ? t("room.hostMutedYou") : t("room.hostMutedYouLocked"));
  }

  leave() {
    if (this.mc.self?.role !== "host") { this.mc.leave(); return; }
    const m = modal(t("room.leaveTitle"), h("p", { text: t("room.leaveHostHint") }), {
      actions: [
        h("button", { class: "btn", text: t("cancel"), onclick: () => m.close() }),
        h("button", { class: "btn", text: t("room.leave"), onclick: () => { m.close(); this.mc.leave(); } }),
        h("button", { class: "btn danger", dataset: { ctl: "end" }, text: t("room.endForAll"), onclick: () => {
          m.close();
          this.mc.end().catch((err) => toast(errorText(err), { kind: "error" }));
        } }),
      ],
    });
  }

  // ---- after ---------------------------------------------------------------------

  ended({ reason, banned }) {
    this.stopPreview(); // denied from the waiting room: the camera goes off
    this.grid?.destroy();
    this.panel?.destroy();
    this.grid = this.panel = null;
    const text = t("room.ended." + reason) !== "room.ended." + reason ? t("room.ended." + reason) : t("room.ended.left");
    replace(this.root, h("div", { class: "lobby" }, h("div", { class: "lobby-card ended-card", dataset: { reason } },
      icon("video", "icon huge"),
      h("h2", { text }),
      banned ? h("p", { class: "muted", text: t("room.banned") }) : null,
      !FINAL_REASONS.has(reason) ? h("button", { class: "btn primary block", text: t("room.rejoin"), onclick: () => this.lobby() }) : null,
      h("button", { class: "btn block", text: t("back"), onclick: () => this.exit() }))));
  }

  exit() {
    this.stopPreview();
    this.onExit?.();
  }

  destroy() {
    this.destroyed = true;
    this.stopPreview();
    if (this.mc.inRoom) this.mc.leave();
    this.grid?.destroy();
    this.panel?.destroy();
    for (const off of this.offs || []) off();
    this.root.remove();
  }
}
