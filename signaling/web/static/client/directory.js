// Directory reads the company directory over REST and caches what the UI
// shows often (members' names, the department tree, tags). Admin changes
// go through RestClient directly and call invalidate().

export class Directory extends EventTarget {
  /** rest: a RestClient. */
  constructor({ rest }) {
    super();
    this.rest = rest;
    this.members = new Map(); // id -> member record, or a promise of one
    this.depts = null;
    this.tagList = null;
  }

  /** One member's record, cached; unknown ids resolve to a stub with the id as name. */
  member(id) {
    const have = this.members.get(id);
    if (have) return have instanceof Promise ? have : Promise.resolve(have);
    const p = this.rest.get("/members/" + encodeURIComponent(id)).then(
      (m) => { this.members.set(id, m); this.dispatchEvent(new CustomEvent("member", { detail: m })); return m; },
      () => { const stub = { id, name: id, departments: [], stub: true }; this.members.set(id, stub); return stub; },
    );
    this.members.set(id, p);
    return p;
  }

  /** A member's name if it is cached, else the id (and starts loading it). */
  nameOf(id) {
    const m = this.members.get(id);
    if (m && !(m instanceof Promise)) return m.name || id;
    if (!m && id !== "system") this.member(id);
    return id;
  }

  /** Remembers member records from a listing. */
  remember(list) { for (const m of list) if (!(this.members.get(m.id) instanceof Promise)) this.members.set(m.id, m); }

  async departments(force) {
    if (!this.depts || force) this.depts = (await this.rest.get("/departments")).departments;
    return this.depts;
  }

  async tags(force) {
    if (!this.tagList || force) this.tagList = (await this.rest.get("/tags")).tags;
    return this.tagList;
  }

  /** One page of members; query as GET /members takes it. */
  async list(query) {
    const page = await this.rest.get("/members", query);
    this.remember(page.members);
    return page;
  }

  invalidate(memberId) {
    if (memberId) this.members.delete(memberId);
    this.depts = null;
    this.tagList = null;
  }
}
