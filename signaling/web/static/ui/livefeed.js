// What surrounds a live's picture, for viewers and presenters alike: the
// comments and the questions (with answers), the polls and the lottery.
// Presenters also delete, mute, answer, open and close polls and draw.

import { h, icon, replace } from "./dom.js";
import { t } from "../i18n/i18n.js";
import { shortTime } from "./format.js";
import { confirm, errorText, form, toast } from "./overlay.js";

const CONDITIONS = ["comment", "question", "like", "watch", "vote"];

/**
 * LiveFeed renders a LiveRoom's log. names(id) gives a sender's display
 * name.
 */
export class LiveFeed {
  constructor(el, room, { names }) {
    this.room = room;
    this.names = names;
    this.tab = "comments";
    this.list = h("ul", { class: "feed-list", attrs: { "aria-live": "polite" } });
    this.tabs = h("div", { class: "tabs feed-tabs", attrs: { role: "tablist" } });
    this.input = h("input", { type: "text", name: "feed", autocomplete: "off", attrs: { maxlength: 500 } });
    this.send = h("button", { class: "btn primary", type: "submit" });
    this.notice = h("p", { class: "muted small feed-notice" });
    this.form = h("form", { class: "feed-form", onsubmit: (e) => { e.preventDefault(); this.submit(); } }, this.input, this.send);
    this.polls = h("div", { class: "polls" });
    this.banner = h("div", { class: "lottery-banner", hidden: true });
    this.el = h("section", { class: "live-feed" }, this.banner, this.polls, this.tabs, this.list, this.notice, this.form);
    el.append(this.el);
    this.offs = [];
    const on = (type, fn) => { room.addEventListener(type, fn); this.offs.push(() => room.removeEventListener(type, fn)); };
    on("entries", () => this.render());
    on("polls", () => this.renderPolls());
    on("muted", () => this.renderForm());
    on("joined", () => { this.renderForm(); this.renderPolls(); });
    on("lottery", (ev) => this.showDraw(ev.detail));
    this.render();
    this.renderPolls();
  }

  setTab(tab) { this.tab = tab; this.render(); }

  render() {
    replace(this.tabs, ["comments", "questions"].map((k) => h("button", { class: "tab" + (k === this.tab ? " active" : ""), dataset: { tab: k },
      attrs: { role: "tab", "aria-selected": String(k === this.tab) }, text: t("live.tab." + k), onclick: () => this.setTab(k) })));
    const entries = this.room.entries();
    const rows = this.tab === "questions"
      ? entries.filter((e) => e.type === "live.question").map((e) => this.question(e))
      : entries.filter((e) => e.type !== "live.question").map((e) => this.line(e));
    if (!rows.length) rows.push(h("li", { class: "muted center pad", text: t(this.tab === "questions" ? "live.noQuestions" : "live.noComments") }));
    const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    replace(this.list, rows);
    if (atBottom) this.list.scrollTop = this.list.scrollHeight;
    this.renderForm();
  }

  renderForm() {
    const room = this.room;
    const ended = room.status === "ended";
    this.input.placeholder = t(this.tab === "questions" ? "live.askPlaceholder" : "live.commentPlaceholder");
    this.input.setAttribute("aria-label", this.input.placeholder);
    this.send.textContent = t(this.tab === "questions" ? "live.ask" : "live.send");
    const blocked = ended || room.muted || !room.info;
    this.input.disabled = this.send.disabled = blocked;
    this.notice.textContent = ended ? t("live.endedNoComments") : room.muted ? t("live.youAreMuted") : "";
  }

  line(e) {
    const b = e.body || {};
    const who = this.names(e.sender_id);
    if (e.type === "live.announcement") {
      return h("li", { class: "feed-item announcement-line", dataset: { seq: String(e.seq) } }, icon("bell", "icon xs"), h("span", { text: b.text }));
    }
    if (e.type === "live.poll") return h("li", { class: "feed-item sys", text: t("live.pollOpened", { question: b.question }) });
    if (e.type === "live.lottery") {
      return h("li", { class: "feed-item sys lottery-line" }, icon("gift", "icon xs"),
        h("span", { text: t("live.drawLine", { title: b.title || t("live.prize"), names: (b.winners || []).map((w) => this.names(w)).join(t("list.sep")) }) }));
    }
    return h("li", { class: "feed-item comment", dataset: { seq: String(e.seq), sender: e.sender_id } },
      h("span", { class: "feed-name", text: who }), h("span", { class: "feed-text", text: b.text }),
      this.moderation(e));
  }

  question(e) {
    const answers = this.room.answersTo(e.seq);
    const answered = answers.length > 0;
    return h("li", { class: "feed-item question" + (answered ? " answered" : ""), dataset: { seq: String(e.seq) } },
      h("div", { class: "q-head" }, h("span", { class: "feed-name", text: this.names(e.sender_id) }), h("span", { class: "muted small", text: shortTime(e.created_at) }),
        answered ? h("span", { class: "tag ok", text: t("live.answered") }) : null),
      h("div", { class: "feed-text", text: e.body?.text }),
      answers.filter((a) => a.body?.text).map((a) => h("div", { class: "answer" }, h("span", { class: "feed-name", text: this.names(a.sender_id) }), h("span", { text: a.body.text }))),
      this.room.isPresenter ? h("div", { class: "row-actions" },
        h("button", { class: "link", text: t("live.answer"), onclick: () => this.answer(e) }),
        !answered ? h("button", { class: "link", text: t("live.markAnswered"), onclick: () => this.act(() => this.room.answer(e.seq)) }) : null,
        this.moderation(e)) : null);
  }

  moderation(e) {
    if (!this.room.isPresenter) return null;
    const mutable = e.sender_id !== this.room.viewerId;
    return h("span", { class: "row-actions feed-mod" },
      h("button", { class: "link danger", text: t("delete"), onclick: () => this.act(() => this.room.remove(e.seq)) }),
      mutable ? h("button", { class: "link", text: t("live.muteViewer"), onclick: async () => {
        if (await confirm(t("live.muteConfirm", { name: this.names(e.sender_id) }))) this.act(() => this.room.muteViewer(e.sender_id, true), t("live.muted"));
      } }) : null);
  }

  async submit() {
    const text = this.input.value.trim();
    if (!text) return;
    this.send.disabled = true;
    try {
      if (this.tab === "questions") await this.room.ask(text); else await this.room.comment(text);
      this.input.value = "";
    } catch (err) {
      toast(err.code === "rate_limited" ? t("live.slowDown") : errorText(err), { kind: "error" });
    }
    this.send.disabled = false;
    this.input.focus();
  }

  act(fn, okText) { fn().then(() => { if (okText) toast(okText); }, (err) => toast(errorText(err), { kind: "error" })); }

  answer(e) {
    form(t("live.answerTitle"), [{ name: "text", label: e.body?.text, type: "textarea" }], {
      ok: t("live.answer"), submit: (v) => this.room.answer(e.seq, v.text),
    });
  }

  // ---- polls and the lottery ---------------------------------------------------

  renderPolls() {
    const room = this.room;
    const polls = [...room.polls.values()].filter((p) => p.open || room.voted.has(p.poll_id) || room.isPresenter).slice(-3);
    replace(this.polls, polls.map((p) => {
      const voted = room.voted.get(p.poll_id);
      const showResults = !p.open || voted !== undefined || room.isPresenter;
      const total = p.votes || 0;
      return h("div", { class: "poll-card" + (p.open ? "" : " closed"), dataset: { poll: String(p.poll_id) } },
        h("div", { class: "poll-q" }, icon("poll", "icon xs"), h("span", { text: p.question }), !p.open ? h("span", { class: "tag", text: t("live.pollClosed") }) : null),
        (p.options || []).map((opt, i) => {
          const n = p.counts?.[i] || 0;
          const pct = total ? Math.round(n * 100 / total) : 0;
          if (!showResults) return h("button", { class: "btn poll-opt", text: opt, onclick: () => this.act(() => room.vote(p.poll_id, i)) });
          const bar = h("span", { class: "poll-bar" });
          bar.style.width = pct + "%";
          return h("div", { class: "poll-result" + (voted === i ? " mine" : "") }, bar, h("span", { class: "poll-label", text: opt }), h("span", { class: "poll-n", text: pct + "% (" + n + ")" }));
        }),
        h("div", { class: "muted small", text: t("live.votes", { n: total }) }),
        room.isPresenter && p.open ? h("button", { class: "link", text: t("live.closePoll"), onclick: () => this.act(() => room.closePoll(p.poll_id)) }) : null);
    }));
  }

  showDraw(e) {
    const b = e.body || {};
    const won = (b.winners || []).includes(this.room.viewerId);
    replace(this.banner, icon("gift"),
      h("div", { class: "grow" },
        h("strong", { text: won ? t("live.youWon", { title: b.title || t("live.prize") }) : t("live.drawTitle", { title: b.title || t("live.prize") }) }),
        h("div", { text: t("live.winners", { names: (b.winners || []).map((w) => this.names(w)).join(t("list.sep")) }) })),
      h("button", { class: "icon-btn", attrs: { "aria-label": t("close") }, onclick: () => { this.banner.hidden = true; } }, icon("close")));
    this.banner.hidden = false;
    this.banner.classList.toggle("won", won);
  }

  destroy() { for (const off of this.offs) off(); this.el.remove(); }
}

/** presenterTools are the buttons for announcements, polls and draws. */
export function presenterTools(room) {
  const run = (p) => p.catch((err) => toast(errorText(err), { kind: "error" }));
  return h("div", { class: "presenter-tools" },
    h("button", { class: "btn", text: t("live.announce"), onclick: () => run(form(t("live.announce"), [{ name: "text", label: t("live.announceText"), type: "textarea", required: true }], {
      ok: t("live.post"), submit: (v) => room.announce(v.text),
    })) }),
    h("button", { class: "btn", dataset: { tool: "poll" }, text: t("live.newPoll"), onclick: () => run(form(t("live.newPoll"), [
      { name: "question", label: t("live.pollQuestion"), required: true },
      { name: "options", label: t("live.pollOptions"), type: "textarea", hint: t("live.pollOptionsHint") },
    ], {
      ok: t("live.openPoll"),
      submit: (v) => room.openPoll(v.question, v.options.split("\n").map((x) => x.trim()).filter(Boolean)),
    })) }),
    h("button", { class: "btn", dataset: { tool: "draw" }, text: t("live.draw"), onclick: () => {
      const polls = [...room.polls.values()];
      run(form(t("live.draw"), [
        { name: "title", label: t("live.prizeName") },
        { name: "count", label: t("live.winnerCount"), type: "number", value: "1" },
        { name: "condition", label: t("live.condition"), type: "select", value: "comment", options: CONDITIONS.map((c) => ({ value: c, label: t("live.cond." + c) })) },
        polls.length ? { name: "poll", label: t("live.forPoll"), type: "select", value: String(polls.at(-1).poll_id), options: polls.map((p) => ({ value: String(p.poll_id), label: p.question })) } : null,
        { name: "exclude", label: t("live.excludeWinners"), type: "checkbox", value: true },
      ].filter(Boolean), {
        ok: t("live.drawNow"),
        submit: (v) => room.draw({ title: v.title, count: Number(v.count) || 1, condition: v.condition, pollId: v.condition === "vote" ? Number(v.poll) : undefined, excludePreviousWinners: v.exclude }),
      }));
    } }));
}
