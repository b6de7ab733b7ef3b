// Meetings is the durable side of meetings over REST (PROTOCOL.md section
// 9): scheduling, the join link, co-hosts, attendance and statistics.
// Joining and everything in the room is MeetingClient's (meeting.js).

/** Meetings calls /api/v1/meetings as the signed-in member. */
export class Meetings {
  /** rest: a RestClient. */
  constructor({ rest }) { this.rest = rest; }

  /** One page of the member's meetings, newest first: {meetings, next}. */
  list({ limit, after } = {}) { return this.rest.get("/meetings", { limit, after }); }

  /**
   * create schedules a meeting, or opens an instant one (no
   * scheduled_start): spec {title, invitees, scheduled_start,
   * scheduled_end, settings}. The caller hosts it.
   */
  create(spec) { return this.rest.post("/meetings", spec); }

  get(id) { return this.rest.get(path(id)); }
  update(id, patch) { return this.rest.patch(path(id), patch); }
  /** Cancels a meeting that has not started (host only). */
  cancel(id) { return this.rest.del(path(id)); }
  /** A new join link; the old one stops working at once. */
  rotateLink(id) { return this.rest.post(path(id) + "/link"); }
  setCohosts(id, cohosts) { return this.rest.put(path(id) + "/cohosts", { cohosts }); }
  transferHost(id, memberId) { return this.rest.post(path(id) + "/host", { member_id: memberId }); }
  attendance(id) { return this.rest.get(path(id) + "/attendance"); }
  stats(id) { return this.rest.get(path(id) + "/stats"); }
}

function path(id) { return "/meetings/" + encodeURIComponent(id); }

/**
 * parseJoinLink reads a join link (/m/<id>?t=<link token>, absolute or
 * not) or a bare meeting id; it returns {meetingId, linkToken} or null.
 */
export function parseJoinLink(text) {
  const s = String(text || "").trim();
  if (/^[A-Za-z0-9]{10,64}$/.test(s)) return { meetingId: s, linkToken: "" };
  let u;
  try { u = new URL(s, globalThis.location?.origin || "http://localhost"); } catch { return null; }
  const m = u.pathname.match(/\/m\/([A-Za-z0-9]+)\/?$/);
  return m ? { meetingId: m[1], linkToken: u.searchParams.get("t") || "" } : null;
}
