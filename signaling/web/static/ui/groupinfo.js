// The group settings dialog: name, announcement, mute-all, members with
// their roles and mutes, adding and removing members, leaving, handing the
// group on and dissolving it. What is offered follows the member's role
// (PROTOCOL.md section 7, "Who may do what in a group").

import { h, replace } from "./dom.js";
import { t } from "../i18n/i18n.js";
import { navigate } from "./router.js";
import { avatar } from "./format.js";
import { who } from "./describe.js";
import { pickMembers } from "./picker.js";
import { confirm, errorText, form, modal, toast } from "./overlay.js";

/** showGroupInfo opens the dialog for group id. */
export async function showGroupInfo(ctx, id) {
  const chat = ctx.chat;
  // Membership comes from the log held since its start, else from the
  // REST roster plus the log since (chat.members fetches it).
  const body = h("div", { class: "group-info" });
  const onChange = (ev) => { if (!ev.detail || ev.detail.conversationId === id) rerender(); };
  const m = modal(t("group.info"), body, { wide: true, onClose: () => {
    chat.removeEventListener("entries", onChange);
    chat.removeEventListener("conversations", onChange);
  } });
  chat.addEventListener("entries", onChange);
  chat.addEventListener("conversations", onChange);
  const rerender = () => { if (document.body.contains(body)) render(); };
  const act = async (fn, okText) => {
    try { await fn(); if (okText) toast(okText); } catch (err) { toast(errorText(err), { kind: "error" }); }
    setTimeout(rerender, 300); // the system entry refreshes the summary
  };

  function render() {
    const s = chat.summary(id);
    if (!s) { m.close(); return; }
    const c = s.conversation;
    const owner = s.role === "owner";
    const manager = owner || s.role === "admin";
    const live = !c.dissolved && !s.removed;
    const { members, complete } = chat.members(id);

    const settings = h("section", { class: "info-section" },
      row(t("group.name"), c.name, live && manager ? () => edit("name", t("group.name"), c.name) : null),
      row(t("group.announcement"), c.announcement || t("group.noAnnouncement"), live && manager ? () => edit("announcement", t("group.announcement"), c.announcement || "", "textarea") : null),
      live && manager ? h("label", { class: "field check" },
        h("input", { type: "checkbox", checked: !!c.mute_all, onchange: (e) => act(() => chat.updateGroup(id, { mute_all: e.target.checked })) }),
        h("span", { text: t("group.muteAll") })) : null);

    const list = h("ul", { class: "member-list" });
    const sorted = [...members.values()].sort((a, b) => rank(a) - rank(b) || who(ctx, a.id).localeCompare(who(ctx, b.id)));
    for (const mem of sorted) {
      const isMe = mem.id === ctx.me.id;
      const canModerate = live && !isMe && (owner || (s.role === "admin" && mem.role === "member"));
      const actions = [];
      if (live && owner && !isMe) {
        actions.push(h("button", { class: "link", text: mem.role === "admin" ? t("group.unadmin") : t("group.makeAdmin"),
          onclick: () => act(() => chat.setRole(id, mem.id, mem.role === "admin" ? "member" : "admin")) }));
      }
      if (canModerate) {
        actions.push(h("button", { class: "link", text: mem.muted ? t("group.unmute") : t("group.mute"), onclick: () => act(() => chat.setMuted(id, mem.id, !mem.muted)) }));
        actions.push(h("button", { class: "link danger", text: t("group.remove"), onclick: async () => {
          if (await confirm(t("group.removeConfirm", { name: who(ctx, mem.id) }), { danger: true })) act(() => chat.removeMember(id, mem.id));
        } }));
      }
      list.append(h("li", { class: "member-row", dataset: { member: mem.id } }, avatar({ id: mem.id, name: who(ctx, mem.id) }, "avatar sm"),
        h("span", { class: "grow", text: who(ctx, mem.id) }),
        mem.role !== "member" ? h("span", { class: "tag " + mem.role, text: t("group.role." + mem.role) }) : null,
        mem.muted ? h("span", { class: "tag muted-tag", text: t("group.muted") }) : null,
        h("span", { class: "row-actions" }, actions)));
    }

    const footer = h("div", { class: "info-actions" },
      live && manager ? h("button", { class: "btn", text: t("group.addMembers"), onclick: async () => {
        const ids = await pickMembers(ctx, { title: t("group.addMembers"), exclude: [...members.keys()] });
        if (ids?.length) act(() => chat.addMembers(id, ids));
      } }) : null,
      live && owner ? h("button", { class: "btn", text: t("group.transfer"), onclick: async () => {
        const ids = await pickMembers(ctx, { title: t("group.transfer"), single: true, exclude: [ctx.me.id] });
        if (ids?.length) act(() => chat.transferOwner(id, ids[0]));
      } }) : null,
      live && !owner ? h("button", { class: "btn danger", text: t("group.leave"), onclick: async () => {
        if (!(await confirm(t("group.leaveConfirm"), { danger: true }))) return;
        await act(() => chat.removeMember(id, ctx.me.id));
        m.close();
        navigate("/chat");
      } }) : null,
      live && owner ? h("button", { class: "btn danger", text: t("group.dissolve"), onclick: async () => {
        if (await confirm(t("group.dissolveConfirm"), { danger: true })) act(() => chat.dissolve(id));
      } }) : null);

    replace(body, settings,
      h("h3", { text: t("group.members") + " (" + c.member_count + ")" }),
      complete ? null : h("p", { class: "muted small", text: t("group.partialMembers") }),
      list, footer);
  }

  async function edit(field, label, value, type) {
    await form(label, [{ name: field, label, value, type }], {
      submit: (v) => chat.updateGroup(id, { [field]: v[field] }),
    });
    setTimeout(rerender, 300);
  }

  render();
}

function rank(m) { return m.role === "owner" ? 0 : m.role === "admin" ? 1 : 2; }

function row(label, value, onEdit) {
  return h("div", { class: "info-row" }, h("span", { class: "muted", text: label }), h("span", { class: "info-value", text: value }),
    onEdit ? h("button", { class: "link", text: t("edit"), onclick: onEdit }) : null);
}
