// Where things end: the ended session's panel, and the dead ends (a socket cut for good: what
// happened, and where to go from here).

import { config, me, names, observer, partnerSeat, room } from "./state.js";
import { $, announce, bdi, el, plain, sentence } from "./dom.js";

/** Why the session ended, from its session_ended event, and where to go from here. */
export function endedPanel() {
  const ended = [...room.events].reverse().find((ev) => ev.type === "session_ended");
  const d = (ended && ended.data) || {};
  let why;
  if (d.reason === "ended_by_partner" && d.by === me) why = "You ended the session.";
  else if (d.reason === "ended_by_partner" && d.by) why = sentence`${bdi(names[d.by])} ended the session.`;
  else if (d.reason === "rescheduled") why = observer ? "The partners chose to continue another time." : "You chose to continue another time.";
  else if (d.reason === "continue_another_day") why = "The break went on for a long time, so the session ended, to continue another day.";
  else why = "The session has ended.";
  const next = observer
    ? "Everything that happened is in the transcript, with your private notes."
    : d.by && d.by !== me
      ? "Stopping is always all right. What you both shared is kept in the transcript, and you can start again whenever you both feel ready."
      : "What you both shared is kept in the transcript. You can start again whenever you both feel ready.";
  return el("div", { class: "ended-panel", id: "ended-panel" },
    el("p", { class: "ended-why" }, why), el("p", {}, next),
    el("p", { class: "button-row" }, el("a", { href: config.transcript_url, class: "button button-primary", text: "Read the transcript" }),
      el("a", { href: config.home_url, text: observer ? "Back to your couples" : "Back to practice" })));
}

const HELP = { href: "/help", text: "Where to find support" };
const TRANSCRIPT = { href: config.transcript_url, text: "Read what you did together" };
const DASHBOARD = { href: "/dashboard", text: "Go to your dashboard" };
const COUPLES = { href: config.home_url, text: "Back to your couples" };

/** What a cut socket's `cause` means for this viewer: a short line, a title, the words and the
 * next steps. `clear`: the couple's content leaves this page (a therapist whose access ended). */
export function deadEnd(cause) {
  const other = bdi(names[partnerSeat]);
  if (observer) {
    if (cause === "link_removed") {
      return { line: "Your access to this couple was removed.", title: "Your access was removed", clear: true,
        words: ["One of the partners removed your access to their couple, so their session is no longer shown here. They can link you again with your share code if they wish."],
        links: [COUPLES] };
    }
    if (cause === "couple_ended") {
      return { line: "This couple has ended.", title: "This couple has ended", clear: true,
        words: ["One of the partners ended the couple, so your access to it ended too and their session is no longer shown here."],
        links: [COUPLES] };
    }
    return { line: "You no longer have access to this session.", title: "You no longer have access", clear: true,
      words: ["This session is no longer shown here."], links: [COUPLES] };
  }
  if (cause === "partner_left") {
    return { line: sentence`${bdi(names[partnerSeat])} has left the couple.`, title: sentence`${other} has left the couple`,
      words: [sentence`${bdi(names[partnerSeat])} ended your couple, so this session has ended and you cannot practise together here any more.`,
        "What you did together stays yours to read. This can be hard to take in: you do not have to work it out alone."],
      links: [TRANSCRIPT, HELP, DASHBOARD] };
  }
  if (cause === "partner_deleted") {
    return { line: sentence`${bdi(names[partnerSeat])} deleted their account.`, title: sentence`${other} deleted their account`,
      words: ["Deleting an account ends the couple, so this session has ended and you cannot practise together here any more.",
        "What you shared with each other stays yours to read. This can be hard to take in: you do not have to work it out alone."],
      links: [TRANSCRIPT, HELP, DASHBOARD] };
  }
  if (cause === "left_couple") {
    return { line: "You left the couple.", title: "You left the couple",
      words: ["Your couple has ended, so this session has ended too. What you did together stays yours to read."],
      links: [TRANSCRIPT, DASHBOARD] };
  }
  if (cause === "account_deleted") {
    return { line: "Your account was deleted.", title: "Your account was deleted",
      words: ["This page can no longer show the session. Thank you for the care you put into it."],
      links: [{ href: "/", text: "Go to the start page" }] };
  }
  return { line: "You no longer have access to this session.", title: "You no longer have access to this session",
    words: ["Your couple or your access to it has changed. Your dashboard shows where things stand now."],
    links: [DASHBOARD] };
}

/** The explanation of a dead end, in place of the room's controls: what happened, what next. */
export function showDeadEnd(told) {
  const links = el("ul", { class: "dead-end-links" }, told.links.map((l) => el("li", {}, el("a", { href: l.href, text: l.text }))));
  const card = el("section", { class: "card dead-end", id: "dead-end", "aria-labelledby": "dead-end-title" },
    el("h2", { id: "dead-end-title", tabindex: "-1" }, told.title), told.words.map((w) => el("p", {}, w)), links);
  const old = $("dead-end");
  if (old) old.remove();
  if (told.clear) clearCoupleContent();
  else {
    // The stage and its controls can no longer act: only the log stays, theirs to read.
    for (const node of $("room").children) {
      if (!node.classList.contains("room-head") && !node.contains($("timeline"))) node.hidden = true;
    }
  }
  $("room").querySelector(".room-head").after(card);
  $("dead-end-title").focus();
  announce(plain(told.title));
}

/** A therapist whose access ended: nothing of the couple stays on this page (names, the log,
 * the chart, the stage, the notes), at once. The elements stay, empty and hidden, for the timers. */
function clearCoupleContent() {
  room.view = null;
  room.events = [];
  if (room.chart) room.chart.update([]);
  room.chart = null;
  $("room").querySelector("h1").textContent = "Observing";
  for (const id of ["presence", "timeline", "prompt", "turn", "step-title", "exercise-name", "action-area", "live-table", "suggestions"]) {
    if ($(id)) $(id).replaceChildren();
  }
  for (const node of $("room").children) {
    if (!node.classList.contains("room-head")) node.hidden = true;
  }
}
