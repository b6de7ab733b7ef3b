// A live as its viewers see it: the picture, likes, the viewer count, the
// comments, questions, polls and lottery, and the replays once it ended.
// Members watch over their WebSocket; outside viewers, with a viewer
// token, over WHEP (see guest.js).

import { h, icon, replace } from "./dom.js";
import { t } from "../i18n/i18n.js";
import { errorText } from "./overlay.js";
import { setStream, statusTag, videoEl } from "./media.js";
import { LiveFeed } from "./livefeed.js";

const RETRY_WATCH_MS = 5000;

/**
 * LiveViewer shows one live. opts: room (a LiveRoom, joined or not),
 * live (the live's record, or {id, title} for outside viewers), names(id),
 * play() resolving with a MediaStream (throws not_on_air while off air),
 * stop(), replays() resolving with [{label, url}] (optional), onBack.
 */
export class LiveViewer {
  constructor(el, { room, live, names, play, stop, replays, onBack }) {
    this.room = room;
    this.live = live;
    this.play = play;
    this.stop = stop;
    this.replays = replays;
    this.video = videoEl(null, { cls: "live-picture" });
    this.overlay = h("div", { class: "live-overlay" });
    this.likeCount = h("span", { class: "like-count", text: "0" });
    this.viewers = h("span", { class: "viewer-count", attrs: { "data-viewers": "0" } });
    this.statusBox = h("span");
    this.replayBox = h("div", { class: "replays" });
    const likeBtn = h("button", { class: "like-btn", dataset: { ctl: "like" }, attrs: { "aria-label": t("live.like") }, onclick: () => { room.like(1); this.pop(likeBtn); } },
      icon("heart"), this.likeCount);
    const side = h("div", { class: "viewer-side" });
    this.root = h("div", { class: "viewer" },
      h("div", { class: "viewer-main" },
        h("div", { class: "live-head" },
          onBack ? h("button", { class: "icon-btn back", attrs: { "aria-label": t("back") }, onclick: onBack }, icon("back")) : null,
          h("div", { class: "grow" }, h("h2", { class: "live-title", text: live.title || t("nav.live") }), live.description ? h("p", { class: "muted small", text: live.description }) : null),
          this.statusBox, this.viewers),
        h("div", { class: "live-stage" }, this.video, this.overlay, likeBtn),
        this.replayBox),
      side);
    el.append(this.root);
    this.feed = new LiveFeed(side, room, { names });
    this.offs = [];
    const on = (type, fn) => { room.addEventListener(type, fn); this.offs.push(() => room.removeEventListener(type, fn)); };
    on("likes", (ev) => { this.likeCount.textContent = String(ev.detail.total); });
    on("viewers", (ev) => this.showViewers(ev.detail.count));
    on("joined", () => this.showStatus());
    on("watch", (ev) => this.show(ev.detail.stream));
    on("watchended", () => { this.show(null); this.retrySoon(); });
    this.start();
  }

  async start() {
    try {
      if (!this.room.info) await this.room.join();
    } catch (err) {
      replace(this.overlay, h("p", { text: errorText(err) }));
      return;
    }
    this.showStatus();
    this.watch();
  }

  async watch() {
    if (this.destroyed) return;
    if (this.room.status === "ended") { this.show(null); this.showReplays(); return; }
    this.show(null);
    try {
      this.show(await this.play());
    } catch (err) {
      this.show(null, err.code === "not_on_air" ? null : errorText(err));
      this.retrySoon();
    }
  }

  retrySoon() {
    clearTimeout(this.retryTimer);
    if (!this.destroyed) this.retryTimer = setTimeout(() => this.refreshAndWatch(), RETRY_WATCH_MS);
  }

  // refreshAndWatch rereads the live's status (the room has no push for
  // it) before trying again.
  async refreshAndWatch() {
    await this.room.rejoin();
    this.showStatus();
    if (!this.streaming) this.watch();
  }

  show(stream, error) {
    this.streaming = !!stream;
    setStream(this.video, stream);
    this.video.hidden = !stream;
    const st = this.room.status;
    const text = error || (stream ? "" : st === "ended" ? t("live.hasEnded") : st === "live" ? t("live.connecting") : t("live.notStarted"));
    replace(this.overlay, text ? h("p", { text }) : null);
    this.overlay.hidden = !text;
  }

  showStatus() {
    replace(this.statusBox, statusTag(this.room.status || this.live.status || "scheduled"));
    this.showViewers(this.room.viewers);
    this.likeCount.textContent = String(this.room.likes);
  }

  showViewers(n) {
    replace(this.viewers, icon("group", "icon xs"), h("span", { text: t("live.inRoom", { n }) }));
    this.viewers.dataset.viewers = String(n);
  }

  async showReplays() {
    if (!this.replays || this.replayBox.childElementCount) return;
    let list = [];
    try { list = await this.replays(); } catch { /* none to show */ }
    replace(this.replayBox, list.length ? [h("h3", { class: "section-title", text: t("live.replays") }),
      list.map((r) => h("div", { class: "replay" }, h("span", { class: "muted small", text: r.label }), h("video", { class: "video", controls: true, preload: "metadata", src: r.url })))] : null);
  }

  pop(btn) {
    const heart = h("span", { class: "float-heart" }, icon("heart"));
    btn.append(heart);
    setTimeout(() => heart.remove(), 900);
  }

  destroy() {
    this.destroyed = true;
    clearTimeout(this.retryTimer);
    for (const off of this.offs) off();
    this.feed.destroy();
    this.stop?.();
    this.video.srcObject = null;
    this.root.remove();
  }
}
