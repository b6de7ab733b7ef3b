// The shell: a nav rail on the left (a tab bar at phone width), the
// connection banner, and the screen the route names.

import { h, icon, replace } from "./dom.js";
import { t, LANGUAGES, language, setLanguage } from "../i18n/i18n.js";
import { current, navigate, onRoute } from "./router.js";
import { avatar } from "./format.js";
import { toast } from "./overlay.js";
import { State } from "../client/connection.js";
import { ChatScreen } from "./chatscreen.js";
import { ContactsScreen } from "./contacts.js";
import { AdminScreen } from "./admin/admin.js";
import { MeetingsScreen } from "./meetings.js";
import { LivesScreen } from "./lives.js";
import { showProfile } from "./profile.js";

// Every section of the app.
const SECTIONS = [
  { key: "chat", icon: "chat", label: "nav.chat", screen: ChatScreen, available: () => true },
  { key: "contacts", icon: "contacts", label: "nav.contacts", screen: ContactsScreen, available: () => true },
  { key: "meetings", icon: "video", label: "nav.meetings", screen: MeetingsScreen, available: () => true },
  { key: "live", icon: "live", label: "nav.live", screen: LivesScreen, available: () => true },
  { key: "admin", icon: "admin", label: "nav.admin", screen: AdminScreen, available: (ctx) => ctx.isAdmin },
];

export class Shell {
  constructor(root, ctx, { onSignOut }) {
    this.root = root;
    this.ctx = ctx;
    this.ctx.shell = this;
    this.sections = SECTIONS.filter((s) => s.available(ctx));
    this.banner = h("div", { class: "banner", hidden: true });
    this.main = h("main", { class: "main" });
    this.navButtons = new Map();
    const nav = h("nav", { class: "rail", attrs: { "aria-label": "Parley" } },
      h("button", { class: "rail-me", title: ctx.me.name, onclick: () => showProfile(ctx) }, avatar(ctx.me)),
      this.sections.map((s) => {
        const badge = h("span", { class: "badge", hidden: true });
        const b = h("button", { class: "rail-item", dataset: { section: s.key }, onclick: () => navigate("/" + s.key) },
          icon(s.icon), h("span", { class: "rail-label", text: t(s.label) }), badge);
        this.navButtons.set(s.key, { b, badge });
        return b;
      }),
      h("div", { class: "rail-spacer" }),
      h("button", { class: "rail-item small", title: t("nav.language"), onclick: () => this.toggleLanguage() }, icon("globe"),
        h("span", { class: "rail-label", text: LANGUAGES.find((l) => l.code !== language()).name })),
      h("button", { class: "rail-item small", title: t("nav.signout"), onclick: onSignOut }, icon("logout"), h("span", { class: "rail-label", text: t("nav.signout") })));
    replace(root, h("div", { class: "shell" }, nav, h("div", { class: "content" }, this.banner, this.main)));

    this.offRoute = onRoute((segs) => this.route(segs));
    this.onState = (ev) => this.showState(ev.detail.state);
    ctx.connection.addEventListener("state", this.onState);
    this.onConvs = () => this.updateBadge();
    ctx.chat.addEventListener("conversations", this.onConvs);
    this.onUrgent = (ev) => this.urgent(ev.detail);
    ctx.chat.addEventListener("urgent", this.onUrgent);
    this.route(current());
  }

  route(segs) {
    let key = segs[0] || "chat";
    const section = this.sections.find((s) => s.key === key) || this.sections[0];
    if (section.key !== key) { navigate("/" + section.key, { replace: true }); return; }
    for (const [k, { b }] of this.navButtons) b.classList.toggle("active", k === key);
    this.root.firstChild.dataset.section = key;
    if (this.screen && this.screenKey === key) { this.screen.update(segs.slice(1)); return; }
    this.screen?.destroy();
    replace(this.main);
    this.screenKey = key;
    this.screen = new section.screen(this.main, this.ctx, segs.slice(1));
  }

  /**
   * setImmersive gives a screen the whole window at phone width (a
   * meeting room, a live): the tab bar hides while it is on.
   */
  setImmersive(on) { this.root.firstChild?.classList.toggle("immersive", on); }

  showState(state) {
    const down = state === State.waiting || (state === State.connecting && this.ctx.connection.opened > 0);
    this.banner.hidden = !down;
    this.banner.textContent = t("conn.reconnecting");
  }

  updateBadge() {
    let n = 0;
    for (const s of this.ctx.chat.conversations()) if (!s.removed) n += s.unread || 0;
    const { badge } = this.navButtons.get("chat");
    badge.hidden = n === 0;
    badge.textContent = n > 99 ? "99+" : String(n);
    document.title = n ? `(${n}) Parley` : "Parley";
  }

  urgent(d) {
    const name = this.ctx.directory.nameOf(d.sender_id);
    toast(t("chat.urgentReminder", { name }), { kind: "urgent", ms: 8000 });
  }

  toggleLanguage() {
    setLanguage(LANGUAGES.find((l) => l.code !== language()).code);
    location.reload();
  }

  destroy() {
    this.offRoute();
    this.screen?.destroy();
    this.ctx.connection.removeEventListener("state", this.onState);
    this.ctx.chat.removeEventListener("conversations", this.onConvs);
    this.ctx.chat.removeEventListener("urgent", this.onUrgent);
    replace(this.root);
  }
}
