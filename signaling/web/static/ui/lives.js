// The live section: the lives a member hosts, presents or may watch,
// beside the selected live: its studio for the host and guest presenters,
// the viewer page for everyone else. Routes: /live, /live/<id>.

import { h, icon, replace } from "./dom.js";
import { t } from "../i18n/i18n.js";
import { navigate } from "./router.js";
import { errorText, form, toast } from "./overlay.js";
import { dateTime, statusTag } from "./media.js";
import { Lives } from "../client/lives.js";
import { LiveRoom } from "../client/live.js";
import { LiveStudio, streamKeys } from "./livestudio.js";
import { LiveViewer } from "./liveviewer.js";

const LIST_EVERY_MS = 15_000;

export class LivesScreen {
  constructor(el, ctx, params) {
    this.ctx = ctx;
    this.api = ctx.lives || (ctx.lives = new Lives({ rest: ctx.rest }));
    this.list = h("ul", { class: "conv-list live-list", attrs: { role: "list" } });
    this.paneBox = h("section", { class: "pane live-pane" });
    this.root = h("div", { class: "split lives-screen" },
      h("section", { class: "list-pane" },
        h("div", { class: "list-head" }, h("h2", { class: "grow", text: t("nav.live") }),
          h("button", { class: "btn primary", dataset: { ctl: "new-live" }, text: t("live.new"), onclick: () => this.create() })),
        this.list),
      this.paneBox);
    el.append(this.root);
    // Statuses change with no push (an encoder starts or stops): reread.
    this.timer = setInterval(() => this.load(), LIST_EVERY_MS);
    this.update(params);
  }

  update(params) {
    const id = params[0] || null;
    this.root.classList.toggle("has-selection", !!id);
    this.ctx.shell?.setImmersive(!!id);
    if (this.selected !== id) {
      this.selected = id;
      this.page?.destroy();
      this.page = null;
      replace(this.paneBox);
      if (id) this.open(id);
      else this.paneBox.append(h("div", { class: "empty-pane" }, icon("live", "icon huge"), h("p", { text: t("live.pick") })));
    }
    this.load();
  }

  async load() {
    try { this.lives = (await this.api.list({ limit: 100 })).lives; } catch (err) { toast(errorText(err), { kind: "error" }); this.lives = []; }
    const items = this.lives.map((l) => h("li", {
      class: "conv live-item" + (l.id === this.selected ? " active" : ""), dataset: { id: l.id }, attrs: { role: "button", tabindex: "0", "aria-label": l.title },
      onclick: () => navigate("/live/" + encodeURIComponent(l.id)),
      onkeydown: (e) => { if (e.key === "Enter") navigate("/live/" + encodeURIComponent(l.id)); },
    }, h("span", { class: "avatar live-avatar" + (l.status === "live" ? " on-air" : "") }, icon("live")),
    h("div", { class: "conv-main" },
      h("div", { class: "conv-top" }, h("span", { class: "conv-name", text: l.title }), statusTag(l.status)),
      h("div", { class: "conv-preview", text: (l.scheduled_start ? dateTime(l.scheduled_start) + " · " : "") + this.ctx.directory.nameOf(l.host_id) }))));
    if (!items.length) items.push(h("li", { class: "muted center pad", text: t("live.none") }));
    replace(this.list, items);
  }

  async open(id) {
    let live;
    try { live = await this.api.get(id); } catch (err) {
      replace(this.paneBox, h("div", { class: "empty-pane" }, h("p", { text: errorText(err) })));
      return;
    }
    if (this.selected !== id) return;
    const ctx = this.ctx;
    const room = new LiveRoom({ connection: ctx.connection, liveId: id });
    // Entries name their sender by id only; an outside viewer's guest id
    // is not in the directory.
    const names = (who) => (who.startsWith("guest:") ? t("live.guestNamed", { id: who.slice(-4) }) : ctx.directory.nameOf(who));
    // Names arrive as the directory loads them; the feed re-renders then.
    const onMember = () => room.emit("entries");
    ctx.directory.addEventListener("member", onMember);
    const presenter = live.host_id === ctx.me.id || (live.guests || []).includes(ctx.me.id);
    const onBack = () => navigate("/live");
    const page = presenter
      ? new LiveStudio(this.paneBox, { lives: this.api, room, live, names, onBack })
      : new LiveViewer(this.paneBox, {
        room, live, names, onBack,
        play: () => room.watch({ maxWidth: 1280, maxHeight: 720 }),
        stop: () => room.leave(),
        replays: async () => {
          const recs = (await this.api.recordings(id)).recordings || [];
          const out = [];
          for (const r of recs) for (const f of r.files || []) out.push({ label: dateTime(r.started_at), url: await this.api.recordingURL(f) });
          return out;
        },
      });
    const destroy = page.destroy.bind(page);
    page.destroy = () => { ctx.directory.removeEventListener("member", onMember); destroy(); };
    this.page = page;
  }

  create() {
    form(t("live.new"), [
      { name: "title", label: t("live.title"), required: true },
      { name: "description", label: t("live.description"), type: "textarea" },
      { name: "start", label: t("live.start"), type: "datetime-local" },
      { name: "audience", label: t("live.audience"), type: "select", value: "all", options: [
        { value: "all", label: t("live.audience.all") }, { value: "external", label: t("live.audience.external") }] },
      { name: "password", label: t("live.password"), type: "password", hint: t("live.passwordHint") },
      { name: "record", label: t("live.record"), type: "checkbox", value: true },
    ], {
      ok: t("create"),
      submit: async (v) => {
        const spec = { title: v.title, description: v.description || undefined, record: v.record,
          scope: v.audience === "external" ? { kind: "external", password: v.password || undefined } : { kind: "internal", all_members: true } };
        if (v.start) spec.scheduled_start = new Date(v.start).toISOString();
        const live = await this.api.create(spec);
        streamKeys.set(live.id, live.stream_key);
        navigate("/live/" + encodeURIComponent(live.id));
      },
    });
  }

  destroy() {
    clearInterval(this.timer);
    this.page?.destroy();
    this.ctx.shell?.setImmersive(false);
    this.root.remove();
  }
}
