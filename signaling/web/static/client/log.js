// ConversationLog holds the entries of one conversation that a device has,
// following the client rules of PROTOCOL.md section 7: entries are kept by
// seq and deduplicated, shown only up to the highest seq held without a
// gap, and recall entries hide the entry they name whichever came first.

export class ConversationLog {
  constructor(id) {
    this.id = id;
    this.bySeq = new Map();
    this.floor = 0; // lowest seq held; 0 while empty
    this.held = 0; // highest seq held without a gap from floor
    this.recalled = new Map(); // recalled seq -> the recall entry
    this.sorted = null;
  }

  get empty() { return this.bySeq.size === 0; }

  /** The highest seq received, gap or not. */
  get top() {
    let top = this.held;
    for (const s of this.bySeq.keys()) if (s > top) top = s;
    return top;
  }

  /** Whether entries above held wait for a gap to be filled. */
  get gapped() { return this.top > this.held; }

  /**
   * add stores entries and returns how many were new. A first batch sets
   * the floor; later ones below it extend it down (history pages), and
   * ones above a gap wait until it is filled.
   */
  add(entries) {
    let added = 0;
    for (const e of entries) {
      if (this.bySeq.has(e.seq)) continue;
      this.bySeq.set(e.seq, e);
      added++;
      if (e.type === "recall" && e.body?.seq) this.recalled.set(e.body.seq, e);
    }
    if (!added) return 0;
    this.sorted = null;
    if (!this.floor) {
      this.floor = Math.min(...this.bySeq.keys());
      this.held = this.floor;
    }
    for (const s of this.bySeq.keys()) if (s < this.floor) this.floor = s;
    // The floor may have moved down into a run that reaches held already.
    while (this.bySeq.has(this.held + 1)) this.held++;
    return added;
  }

  /** Entries from floor through held, in seq order. */
  entries() {
    if (!this.sorted) {
      this.sorted = [];
      for (let s = this.floor; s && s <= this.held; s++) {
        const e = this.bySeq.get(s);
        if (e) this.sorted.push(e);
      }
    }
    return this.sorted;
  }

  get(seq) { return this.bySeq.get(seq); }

  isRecalled(seq) { return this.recalled.has(seq); }
}
