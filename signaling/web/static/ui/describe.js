// Words for entries: system lines, recall notices and one-line previews.

import { t } from "../i18n/i18n.js";

/** A name to show for a member id: "You" for the viewer. */
export function who(ctx, id) {
  if (id === ctx.me.id) return t("you");
  if (id === "system") return t("system");
  return ctx.directory.nameOf(id);
}

function names(ctx, ids) {
  const sep = t("list.sep");
  return (ids || []).map((id) => who(ctx, id)).join(sep);
}

/** The sentence for a system entry. */
export function systemText(ctx, e) {
  const b = e.body || {};
  const actor = who(ctx, b.actor || e.sender_id);
  const members = names(ctx, b.members);
  switch (b.event) {
    case "created": return e.body.members?.length === 2 && !b.welcome && ctx.chat.summary(e.conversation_id)?.conversation.kind === "direct" ? t("sys.createdDirect") : t("sys.created", { actor });
    case "joined": return t("sys.joined", { actor, members });
    case "left": return t("sys.left", { members });
    case "removed": return b.reason ? t("sys.removedBySystem", { members, reason: b.reason }) : t("sys.removed", { actor, members });
    case "updated": {
      const c = b.changes || {};
      if ("announcement" in c) return t("sys.announcement", { actor });
      if ("name" in c) return t("sys.renamed", { actor, name: c.name });
      if ("mute_all" in c) return c.mute_all ? t("sys.muteAllOn", { actor }) : t("sys.muteAllOff", { actor });
      return t("sys.updated", { actor });
    }
    case "role": return b.role === "admin" ? t("sys.admin", { actor, members }) : t("sys.unadmin", { actor, members });
    case "owner": return t("sys.owner", { members });
    case "muted": return t("sys.muted", { actor, members });
    case "unmuted": return t("sys.unmuted", { actor, members });
    case "dissolved": return t("sys.dissolved", { actor });
    default: return t("sys.other");
  }
}

/** A recall notice for a recalled entry. */
export function recallText(ctx, recall) {
  const by = recall.body?.by || recall.sender_id;
  return by === ctx.me.id ? t("recall.you") : t("recall.other", { name: who(ctx, by) });
}

/** A one-line preview for the conversation list. */
export function preview(ctx, e) {
  if (!e) return "";
  if (e.type === "system") return systemText(ctx, e);
  if (e.type === "recall") return recallText(ctx, e);
  const b = e.body || {};
  let s;
  if (b.confidential) s = t("preview.confidential");
  else if (e.type === "text") s = b.text;
  else if (e.type === "image") s = t("preview.image");
  else if (e.type === "file") s = t("preview.file") + " " + (b.name || "");
  else if (e.type === "link") s = t("preview.link") + " " + (b.title || b.url);
  else if (e.type === "forward") s = t("preview.forward");
  else s = t("preview.unsupported");
  const summary = ctx.chat.summary(e.conversation_id);
  if (summary?.conversation.kind === "group" && e.sender_id !== ctx.me.id) s = who(ctx, e.sender_id) + ": " + s;
  return s;
}

/** The title of a conversation: the group name, or the other member's name. */
export function title(ctx, summary) {
  const c = summary.conversation;
  if (c.kind === "group") return c.name || t("chat.group");
  const peer = ctx.chat.peer(c.id);
  return peer ? ctx.directory.nameOf(peer) : "…";
}
