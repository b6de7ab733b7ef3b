// The studio: a live as its host (or a guest presenter) runs it. Going
// live from the browser (WHIP), the OBS panel with the WHIP URL and the
// stream key, the statistics, the replays, and the room with the
// presenter's tools.

import { h, icon, replace } from "./dom.js";
import { t } from "../i18n/i18n.js";
import { confirm, errorText, toast } from "./overlay.js";
import { copyField, dateTime, duration, getMedia, setStream, statusTag, videoEl } from "./media.js";
import { LiveFeed, presenterTools } from "./livefeed.js";
import { WhipPublisher } from "../client/whip.js";

const STATS_EVERY_MS = 5000;

/**
 * streamKeys holds the stream keys this page was shown (at creation or
 * rotation): the server keeps only their hashes and never shows one
 * again. They are kept in memory only.
 */
export const streamKeys = new Map();

// onAir holds this page's browser broadcasts by live id: leaving the
// studio for another screen does not end the live.
const onAir = new Map();

export class LiveStudio {
  /** opts: lives (Lives), room (LiveRoom), live (its record), names(id), onBack. */
  constructor(el, { lives, room, live, names, onBack }) {
    this.lives = lives;
    this.room = room;
    this.live = live;
    this.tab = "obs";
    this.video = videoEl(null, { muted: true, cls: "live-picture" });
    this.overlay = h("div", { class: "live-overlay" });
    this.statusBox = h("span");
    this.viewers = h("span", { class: "viewer-count", attrs: { "data-viewers": "0" } });
    this.likes = h("span", { class: "like-total" });
    this.actions = h("div", { class: "studio-actions" });
    this.tabs = h("div", { class: "tabs", attrs: { role: "tablist" } });
    this.body = h("div", { class: "studio-body" });
    const side = h("div", { class: "viewer-side" });
    this.root = h("div", { class: "viewer studio" },
      h("div", { class: "viewer-main" },
        h("div", { class: "live-head" },
          onBack ? h("button", { class: "icon-btn back", attrs: { "aria-label": t("back") }, onclick: onBack }, icon("back")) : null,
          h("div", { class: "grow" }, h("h2", { class: "live-title", text: live.title }),
            h("p", { class: "muted small", text: live.scheduled_start ? dateTime(live.scheduled_start) : "" })),
          this.statusBox, this.likes, this.viewers),
        h("div", { class: "live-stage" }, this.video, this.overlay),
        this.actions, this.tabs, this.body),
      side);
    el.append(this.root);
    side.append(presenterTools(room)); // the studio is for the host and guest presenters only
    this.feed = new LiveFeed(side, room, { names });
    this.offs = [];
    const on = (type, fn) => { room.addEventListener(type, fn); this.offs.push(() => room.removeEventListener(type, fn)); };
    on("viewers", (ev) => this.showViewers(ev.detail.count));
    on("likes", (ev) => replace(this.likes, icon("heart", "icon xs"), h("span", { text: String(ev.detail.total) })));
    on("watch", (ev) => { if (!this.publisher) this.showPicture(ev.detail.stream); });
    room.join().catch((err) => toast(errorText(err), { kind: "error" }));
    const b = onAir.get(live.id);
    if (b && !b.publisher.closed) { this.publisher = b.publisher; this.localStream = b.stream; this.showPicture(b.stream); }
    this.render();
    this.timer = setInterval(() => this.refresh(), STATS_EVERY_MS);
    this.refresh();
  }

  // refresh rereads the live (its status has no push) and the statistics.
  async refresh() {
    try {
      const live = await this.lives.get(this.live.id);
      const changed = live.status !== this.live.status;
      this.live = { ...this.live, ...live };
      if (changed) this.render();
      // On air from an encoder: watch it here as the viewers do.
      if (live.status === "live" && !this.publisher && !this.room.watchPc) this.room.watch({ maxWidth: 640, maxHeight: 360 }).catch(() => {});
      if (this.tab === "stats") this.renderStats(await this.lives.stats(this.live.id));
    } catch { /* the next tick tries again */ }
  }

  render() {
    const live = this.live;
    replace(this.statusBox, statusTag(live.status));
    const onAirHere = !!this.publisher;
    replace(this.actions,
      onAirHere
        ? h("button", { class: "btn danger", dataset: { ctl: "end-live" }, onclick: () => this.endLive() }, icon("stop", "icon xs"), h("span", { text: t("live.end") }))
        : h("button", { class: "btn primary", dataset: { ctl: "go-live" }, disabled: live.status === "live", onclick: () => this.goLive() }, icon("live", "icon xs"), h("span", { text: t("live.goLive") })),
      live.status === "live" && !onAirHere ? h("span", { class: "muted small", text: t("live.onAirElsewhere") }) : null);
    const tabs = ["obs", "stats", "replays"];
    replace(this.tabs, tabs.map((k) => h("button", { class: "tab" + (k === this.tab ? " active" : ""), dataset: { tab: k }, attrs: { role: "tab", "aria-selected": String(k === this.tab) },
      text: t("live.studioTab." + k), onclick: () => { this.tab = k; this.render(); this.refresh(); } })));
    if (this.tab === "obs") replace(this.body, this.obsPanel());
    if (this.tab === "stats" && !this.body.querySelector(".stat-grid")) replace(this.body, h("p", { class: "muted", text: t("loading") }));
    if (this.tab === "replays") this.renderReplays();
    if (!this.publisher && !this.room.watchPc) this.showPicture(null);
  }

  showPicture(stream) {
    setStream(this.video, stream);
    this.video.hidden = !stream;
    const text = stream ? "" : this.live.status === "live" ? t("live.connecting") : this.live.status === "ended" ? t("live.hasEnded") : t("live.offAir");
    replace(this.overlay, text ? h("p", { text }) : null);
    this.overlay.hidden = !text;
  }

  showViewers(n) {
    replace(this.viewers, icon("group", "icon xs"), h("span", { text: t("live.inRoom", { n }) }));
    this.viewers.dataset.viewers = String(n);
  }

  // ---- going live from the browser ------------------------------------------------

  async goLive() {
    let stream;
    try {
      stream = await getMedia();
      if (!stream.getTracks().length) throw new Error(t("live.noDevices"));
      this.room.unwatch();
      const publisher = new WhipPublisher({ url: this.lives.whipURL(this.live.id), token: () => this.lives.rest.accessToken() });
      publisher.addEventListener("ended", () => {
        onAir.delete(this.live.id);
        for (const tr of stream.getTracks()) tr.stop();
        if (this.publisher === publisher) { this.stopLocal(); this.render(); toast(t("live.connectionLost"), { kind: "error" }); }
      });
      this.publisher = publisher;
      this.localStream = stream;
      this.showPicture(stream);
      await publisher.start(stream);
      onAir.set(this.live.id, { publisher, stream });
      toast(t("live.nowLive"));
    } catch (err) {
      this.stopLocal();
      toast(errorText(err), { kind: "error" });
    }
    this.render();
  }

  async endLive() {
    if (!(await confirm(t("live.endConfirm"), { danger: true, ok: t("live.end") }))) return;
    const p = this.publisher;
    this.stopLocal();
    await p?.stop();
    this.render();
    setTimeout(() => this.refresh(), 1000);
  }

  stopLocal() {
    const p = this.publisher;
    this.publisher = null;
    onAir.delete(this.live.id);
    if (p && !p.closed) p.end();
    for (const tr of this.localStream?.getTracks() || []) tr.stop();
    this.localStream = null;
    this.showPicture(null);
  }

  // ---- panels ------------------------------------------------------------------------

  obsPanel() {
    const key = streamKeys.get(this.live.id);
    const steps = ["live.obs.step1", "live.obs.step2", "live.obs.step3", "live.obs.step4", "live.obs.step5", "live.obs.step6"];
    return h("div", { class: "obs-panel" },
      h("p", { class: "muted", text: t("live.obs.intro") }),
      copyField(t("live.whipURL"), this.live.whip_url || this.lives.whipURL(this.live.id), { name: "whip_url" }),
      key ? copyField(t("live.streamKey"), key, { secret: true, name: "stream_key" })
        : h("div", { class: "copy-field" }, h("span", { class: "copy-label", text: t("live.streamKey") }),
          h("p", { class: "muted small", text: t("live.keyHidden") })),
      h("button", { class: "btn", dataset: { ctl: "rotate-key" }, text: key ? t("live.rotateKey") : t("live.newKey"), onclick: () => this.rotateKey(!!key) }),
      h("ol", { class: "obs-steps" }, steps.map((s) => h("li", { text: t(s) }))),
      this.live.viewer_link ? copyField(t("live.viewerLink"), new URL(this.live.viewer_link, location.href).toString(), { name: "viewer_link" }) : null);
  }

  async rotateKey(ask) {
    if (ask && !(await confirm(t("live.rotateConfirm"), { danger: true }))) return;
    try {
      const live = await this.lives.rotateKey(this.live.id);
      streamKeys.set(live.id, live.stream_key);
      this.live = { ...this.live, ...live };
      toast(t("live.keyRotated"));
    } catch (err) { toast(errorText(err), { kind: "error" }); }
    this.render();
  }

  renderStats(s) {
    if (this.tab !== "stats") return;
    const it = s.interactions || {};
    const stat = (label, value, name) => h("div", { class: "stat", dataset: { stat: name } }, h("span", { class: "stat-value", text: String(value ?? 0) }), h("span", { class: "stat-label muted", text: label }));
    replace(this.body, h("div", { class: "stats-panel" },
      h("div", { class: "stat-grid" },
        stat(t("live.stats.concurrent"), s.concurrent, "concurrent"),
        stat(t("live.stats.peak"), s.peak_concurrent, "peak"),
        stat(t("live.stats.unique"), s.unique_viewers, "unique"),
        stat(t("live.stats.average"), duration(s.average_watch_ms), "average"),
        stat(t("live.stats.likes"), it.like, "likes"),
        stat(t("live.stats.comments"), it.comment, "comments"),
        stat(t("live.stats.questions"), it.question, "questions"),
        stat(t("live.stats.replays"), s.replay_views, "replays")),
      h("h3", { class: "section-title", text: t("live.stats.viewers") }),
      h("ul", { class: "member-list" }, (s.viewers || []).slice(0, 50).map((v) => h("li", { class: "member-row" },
        h("span", { class: "grow", text: v.name || v.id }), v.open ? h("span", { class: "tag ok", text: t("live.watchingNow") }) : null,
        h("span", { class: "muted", text: duration(v.watch_ms) }))))));
  }

  async renderReplays() {
    let recs = [];
    try { recs = (await this.lives.recordings(this.live.id)).recordings || []; } catch { /* none */ }
    if (this.tab !== "replays") return;
    const items = [];
    for (const r of recs) {
      for (const f of r.files || []) {
        items.push(h("div", { class: "replay" }, h("span", { class: "muted small", text: dateTime(r.started_at) + " · " + duration(f.duration_ms) }),
          h("video", { class: "video", controls: true, preload: "metadata", src: await this.lives.recordingURL(f) })));
      }
    }
    replace(this.body, items.length ? items : h("p", { class: "muted", text: t("live.noReplays") }));
  }

  destroy() {
    clearInterval(this.timer);
    for (const off of this.offs) off();
    this.feed.destroy();
    this.video.srcObject = null; // a browser broadcast goes on (onAir)
    this.room.leave();
    this.root.remove();
  }
}
