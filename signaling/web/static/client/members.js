// membersFromLog works out who is in a conversation, with their group role
// and mute, from the system entries of its log (PROTOCOL.md section 7:
// membership changes are entries of the same log): complete when the log
// is held from its `created` entry (seq 1), otherwise only the changes
// since the member joined. A member who joined late starts from the
// roster of GET /conversations/{id}/members instead (base) and applies
// the entries after it; each change is idempotent, so an entry the
// roster already reflects does no harm.

/**
 * Returns {members: Map id -> {id, role, muted}, complete}. summary is the
 * member's summary (its owner_id is authoritative for the owner). base,
 * when given, is {members, seq}: a roster and the last seq known when it
 * was asked for; only later entries are applied to it.
 */
export function membersFromLog(entries, summary, base) {
  const members = new Map(base ? [...base.members].map(([id, m]) => [id, { ...m }]) : []);
  let complete = !!base;
  const set = (id, patch) => members.set(id, { id, role: "member", muted: false, ...members.get(id), ...patch });
  for (const e of entries) {
    if (e.type !== "system" || (base && e.seq <= base.seq)) continue;
    const b = e.body || {};
    const ids = b.members || [];
    switch (b.event) {
      case "created":
        complete = true;
        members.clear();
        ids.forEach((id, i) => set(id, { role: i === 0 && summary?.conversation.kind === "group" ? "owner" : "member" }));
        break;
      case "joined": ids.forEach((id) => set(id, {})); break;
      case "left":
      case "removed": ids.forEach((id) => members.delete(id)); break;
      case "role": ids.forEach((id) => set(id, { role: b.role })); break;
      case "owner":
        for (const m of members.values()) if (m.role === "owner") m.role = "member";
        ids.forEach((id) => set(id, { role: "owner", muted: false }));
        break;
      case "muted": ids.forEach((id) => set(id, { muted: true })); break;
      case "unmuted": ids.forEach((id) => set(id, { muted: false })); break;
    }
  }
  const owner = summary?.conversation.owner_id;
  if (owner) {
    for (const m of members.values()) if (m.role === "owner" && m.id !== owner) m.role = "member";
    set(owner, { role: "owner" });
  }
  return { members, complete };
}

/** The other member of a direct conversation, from its `created` entry or any message. */
export function directPeer(entries, me) {
  for (const e of entries) {
    if (e.type === "system" && e.body?.event === "created") return e.body.members.find((id) => id !== me) || me;
    if (e.sender_id && e.sender_id !== me && e.type !== "system") return e.sender_id;
  }
  return null;
}
