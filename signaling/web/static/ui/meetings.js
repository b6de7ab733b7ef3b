// The meetings section: the member's meetings beside the selected one's
// card (join link, schedule, attendance), scheduling, meeting now and
// joining by id or link. Routes: /meetings, /meetings/<id>,
// /meetings/<id>/room (the room itself, see meetingroom.js).

import { h, icon, replace } from "./dom.js";
import { t } from "../i18n/i18n.js";
import { navigate } from "./router.js";
import { avatar } from "./format.js";
import { pickMembers } from "./picker.js";
import { confirm, errorText, modal, toast } from "./overlay.js";
import { copyField, dateTime, duration, localInput, statusTag } from "./media.js";
import { Meetings, parseJoinLink } from "../client/meetings.js";
import { MeetingRoom } from "./meetingroom.js";

const DURATIONS = [30, 60, 90, 120];
const SHOWN_INVITEES = 20; // named on a meeting's card; the rest are counted

export class MeetingsScreen {
  constructor(el, ctx, params) {
    this.el = el;
    this.ctx = ctx;
    this.api = ctx.meetings || (ctx.meetings = new Meetings({ rest: ctx.rest }));
    this.list = h("ul", { class: "conv-list meeting-list", attrs: { role: "list" } });
    this.paneBox = h("section", { class: "pane" });
    const joinBox = h("input", { type: "text", name: "join", placeholder: t("meeting.joinPlaceholder"), attrs: { "aria-label": t("meeting.joinPlaceholder") } });
    this.root = h("div", { class: "split meetings-screen" },
      h("section", { class: "list-pane" },
        h("div", { class: "list-head" }, h("h2", { class: "grow", text: t("nav.meetings") }),
          h("button", { class: "btn", text: t("meeting.now"), onclick: () => this.meetNow() }),
          h("button", { class: "btn primary", text: t("meeting.schedule"), onclick: () => this.schedule() })),
        h("form", { class: "join-box", onsubmit: (e) => { e.preventDefault(); this.joinBy(joinBox.value); } },
          joinBox, h("button", { class: "btn", type: "submit", text: t("meeting.join") })),
        this.list),
      this.paneBox);
    el.append(this.root);
    this.update(params);
  }

  update(params) {
    const [id, sub] = params;
    if (id && sub === "room") {
      // The room takes the whole screen; the list comes back when it ends.
      if (this.room?.meetingId === id) return;
      this.room?.destroy();
      this.root.hidden = true;
      this.roomBox = h("div", { class: "room-box" });
      this.el.append(this.roomBox);
      this.room = new MeetingRoom(this.roomBox, { connection: this.ctx.connection, me: this.ctx.me, meetingId: id, api: this.api,
        onExit: () => navigate("/meetings/" + encodeURIComponent(id)) });
      this.ctx.shell?.setImmersive(true);
      return;
    }
    if (this.room) { this.room.destroy(); this.room = null; this.roomBox.remove(); this.root.hidden = false; this.ctx.shell?.setImmersive(false); }
    this.selected = id || null;
    this.root.classList.toggle("has-selection", !!id);
    this.load();
    this.renderPane();
  }

  async load() {
    try {
      this.meetings = (await this.api.list({ limit: 100 })).meetings;
    } catch (err) { toast(errorText(err), { kind: "error" }); this.meetings = []; }
    this.renderList();
  }

  renderList() {
    const items = (this.meetings || []).map((m) => h("li", {
      class: "conv meeting-item" + (m.id === this.selected ? " active" : ""), dataset: { id: m.id }, attrs: { role: "button", tabindex: "0", "aria-label": m.title },
      onclick: () => navigate("/meetings/" + encodeURIComponent(m.id)),
      onkeydown: (e) => { if (e.key === "Enter") navigate("/meetings/" + encodeURIComponent(m.id)); },
    }, h("span", { class: "avatar meeting-avatar" }, icon("video")),
    h("div", { class: "conv-main" },
      h("div", { class: "conv-top" }, h("span", { class: "conv-name", text: m.title }), statusTag(m.status)),
      h("div", { class: "conv-preview", text: m.scheduled_start ? dateTime(m.scheduled_start) : t("meeting.instant") }))));
    if (!items.length) items.push(h("li", { class: "muted center pad", text: this.meetings ? t("meeting.none") : t("loading") }));
    replace(this.list, items);
  }

  async renderPane() {
    const id = this.selected;
    if (!id) {
      replace(this.paneBox, h("div", { class: "empty-pane" }, icon("video", "icon huge"), h("p", { text: t("meeting.pick") })));
      return;
    }
    let m;
    try { m = await this.api.get(id); } catch (err) {
      replace(this.paneBox, h("div", { class: "empty-pane" }, h("p", { text: errorText(err) })));
      return;
    }
    if (this.selected !== id) return;
    // Names for the card: the host, co-hosts and the first invitees.
    const names = [m.host_id, ...(m.cohosts || []), ...(m.invitees || []).slice(0, SHOWN_INVITEES)];
    await Promise.all(names.map((n) => this.ctx.directory.member(n)));
    if (this.selected !== id) return;
    replace(this.paneBox, await this.card(m));
  }

  async card(m) {
    const ctx = this.ctx;
    const manager = m.role === "host" || m.role === "cohost";
    const open = m.status === "scheduled" || m.status === "active";
    const link = m.join_link ? new URL(m.join_link, location.href).toString() : "";
    const rows = [
      row(t("meeting.id"), m.id),
      row(t("meeting.time"), m.scheduled_start ? dateTime(m.scheduled_start) + (m.scheduled_end ? " – " + dateTime(m.scheduled_end) : "") : t("meeting.instant")),
      row(t("meeting.host"), ctx.directory.nameOf(m.host_id)),
      m.cohosts?.length ? row(t("meeting.cohosts"), m.cohosts.map((c) => ctx.directory.nameOf(c)).join(t("list.sep"))) : null,
      m.invitees?.length ? row(t("meeting.invitees"), m.invitees.slice(0, SHOWN_INVITEES).map((c) => ctx.directory.nameOf(c)).join(t("list.sep")) +
        (m.invitees.length > SHOWN_INVITEES ? " " + t("meeting.more", { n: m.invitees.length - SHOWN_INVITEES }) : "")) : null,
      row(t("meeting.settings"), settingsText(m.settings)),
    ];
    const actions = h("div", { class: "info-actions" },
      open ? h("button", { class: "btn primary", dataset: { ctl: "join-meeting" }, text: t("meeting.join"), onclick: () => navigate("/meetings/" + encodeURIComponent(m.id) + "/room") }) : null,
      manager && open ? h("button", { class: "btn", text: t("meeting.newLink"), onclick: () => this.act(() => this.api.rotateLink(m.id), t("meeting.linkChanged")) }) : null,
      m.role === "host" && m.status === "scheduled" ? h("button", { class: "btn danger", text: t("meeting.cancel"), onclick: async () => {
        if (await confirm(t("meeting.cancelConfirm"), { danger: true })) this.act(() => this.api.cancel(m.id), t("meeting.cancelled"));
      } }) : null);
    const card = h("div", { class: "member-card meeting-card" },
      h("div", { class: "card-top" }, h("span", { class: "avatar xl meeting-avatar" }, icon("video", "icon lg")),
        h("div", null, h("h2", { text: m.title }), statusTag(m.status))),
      rows,
      link && open ? copyField(t("meeting.joinLink"), link, { name: "join_link" }) : null,
      actions);
    const out = h("div", { class: "card-pane meeting-pane" },
      h("div", { class: "list-head mobile-only" }, h("button", { class: "icon-btn back", attrs: { "aria-label": t("back") }, onclick: () => navigate("/meetings") }, icon("back"))),
      card);
    if (manager && m.status !== "scheduled" && m.status !== "cancelled") out.append(await this.attendance(m));
    return out;
  }

  async attendance(m) {
    let stats;
    try { stats = await this.api.stats(m.id); } catch { return h("div"); }
    return h("div", { class: "member-card stats-card" },
      h("h2", { text: t("meeting.attendance") }),
      h("div", { class: "stat-grid" },
        stat(t("meeting.uniqueAttendees"), stats.unique_attendees),
        stat(t("meeting.peak"), stats.peak_concurrent),
        stat(t("meeting.averageStay"), duration(stats.average_duration_ms))),
      h("ul", { class: "member-list" }, (stats.attendees || []).map((a) => h("li", { class: "member-row" },
        avatar({ id: a.id, name: a.name }, "avatar sm"), h("span", { class: "grow", text: a.name }),
        h("span", { class: "muted", text: t("meeting.joins", { n: a.joins }) + " · " + duration(a.duration_ms) })))));
  }

  async act(fn, okText) {
    try { await fn(); if (okText) toast(okText); } catch (err) { toast(errorText(err), { kind: "error" }); }
    this.load();
    this.renderPane();
  }

  async meetNow() {
    try {
      const m = await this.api.create({ title: t("meeting.nowTitle", { name: this.ctx.me.name }), settings: { allow_guests: true } });
      navigate("/meetings/" + encodeURIComponent(m.id) + "/room");
    } catch (err) { toast(errorText(err), { kind: "error" }); }
  }

  joinBy(text) {
    const link = parseJoinLink(text);
    if (!link) { toast(t("meeting.badLink"), { kind: "error" }); return; }
    navigate("/meetings/" + encodeURIComponent(link.meetingId) + "/room");
  }

  /** schedule opens the form for a new meeting. */
  schedule() {
    const start = new Date(Date.now() + 60 * 60 * 1000);
    start.setMinutes(0, 0, 0);
    const invitees = new Map();
    const chips = h("div", { class: "chips" });
    const showChips = () => replace(chips, [...invitees.keys()].map((id) => h("span", { class: "chip", text: this.ctx.directory.nameOf(id) })));
    const err = h("p", { class: "form-error", attrs: { role: "alert" } });
    const title = h("input", { name: "title", required: true, value: t("meeting.defaultTitle", { name: this.ctx.me.name }), attrs: { maxlength: 128 } });
    const when = h("input", { type: "datetime-local", name: "start", value: localInput(start), required: true });
    const length = h("select", { name: "duration" }, DURATIONS.map((n) => h("option", { value: String(n), text: t("time.minutes", { n }), selected: n === 60 })));
    const check = (name, label, on) => {
      const box = h("input", { type: "checkbox", name, checked: on });
      return { box, el: h("label", { class: "field check" }, box, h("span", { text: label })) };
    };
    const opts = {
      waiting_room: check("waiting_room", t("meeting.opt.waitingRoom"), false),
      mute_on_entry: check("mute_on_entry", t("meeting.opt.muteOnEntry"), true),
      allow_guests: check("allow_guests", t("meeting.opt.allowGuests"), true),
      allow_screen_share: check("allow_screen_share", t("meeting.opt.screenShare"), true),
    };
    const submit = async (e) => {
      e.preventDefault();
      const s = new Date(when.value);
      const spec = {
        title: title.value.trim(), invitees: [...invitees.keys()],
        scheduled_start: s.toISOString(), scheduled_end: new Date(s.getTime() + Number(length.value) * 60_000).toISOString(),
        settings: Object.fromEntries(Object.entries(opts).map(([k, o]) => [k, o.box.checked])),
      };
      try {
        const m = await this.api.create(spec);
        dlg.close();
        toast(t("meeting.scheduled"));
        navigate("/meetings/" + encodeURIComponent(m.id));
        this.load();
      } catch (ex) { err.textContent = errorText(ex); }
    };
    const form = h("form", { class: "form", onsubmit: submit },
      h("label", { class: "field" }, h("span", { text: t("meeting.title") }), title),
      h("div", { class: "field-row" },
        h("label", { class: "field grow" }, h("span", { text: t("meeting.start") }), when),
        h("label", { class: "field" }, h("span", { text: t("meeting.duration") }), length)),
      h("div", { class: "field" }, h("span", { text: t("meeting.invitees") }), chips,
        h("button", { class: "btn", type: "button", text: t("meeting.invite"), onclick: async () => {
          const ids = await pickMembers(this.ctx, { title: t("meeting.invite"), exclude: [this.ctx.me.id] });
          for (const id of ids || []) invitees.set(id, true);
          showChips();
        } })),
      Object.values(opts).map((o) => o.el),
      err,
      h("div", { class: "modal-actions" },
        h("button", { type: "button", class: "btn", text: t("cancel"), onclick: () => dlg.close() }),
        h("button", { type: "submit", class: "btn primary", text: t("meeting.schedule") })));
    const dlg = modal(t("meeting.scheduleTitle"), form);
  }

  destroy() {
    this.room?.destroy();
    this.ctx.shell?.setImmersive(false);
    this.root.remove();
    this.roomBox?.remove();
  }
}

function row(label, value) {
  return h("div", { class: "card-row" }, h("span", { class: "muted", text: label }), h("span", { class: "info-value", text: value }));
}

function stat(label, value) {
  return h("div", { class: "stat" }, h("span", { class: "stat-value", text: String(value ?? "–") }), h("span", { class: "stat-label muted", text: label }));
}

function settingsText(s = {}) {
  const on = [];
  if (s.locked) on.push(t("meeting.opt.locked"));
  if (s.waiting_room) on.push(t("meeting.opt.waitingRoom"));
  if (s.mute_on_entry) on.push(t("meeting.opt.muteOnEntry"));
  if (s.allow_guests) on.push(t("meeting.opt.allowGuests"));
  if (s.allow_screen_share) on.push(t("meeting.opt.screenShare"));
  return on.join(t("list.sep")) || "–";
}
