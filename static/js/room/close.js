// The close of an exercise: what the partners did together, and their ratings before and after.

import { config, me, names, observer, room, vocab } from "./state.js";
import { $, bdi, el, plural, sentence } from "./dom.js";
import { AROUND } from "./partner.js";

/** The exercise just finished, in phase ready: its completion event and its run's events. */
function lastCompleted() {
  for (let i = room.events.length - 1; i >= 0; i -= 1) {
    const ev = room.events[i];
    if (ev.type === "exercise_completed") {
      let start = i;
      while (start > 0 && !(room.events[start].type === "exercise_started" && room.events[start].data.exercise === ev.data.exercise)) start -= 1;
      return { done: ev, run: room.events.slice(start, i) };
    }
    if (["exercise_started", "exercise_abandoned", "session_ended"].includes(ev.type)) return null;
  }
  return null;
}

/** Each rating asked before and after (check-in, check-out), per partner: [[label, seat, before, after]]. */
function ratingChanges(run, exercise) {
  const at = { suds_before: {}, suds_after: {} };
  for (const ev of run) {
    const d = ev.data || {};
    if (ev.type !== "step_submitted" || !(d.step in at) || d.exercise !== exercise) continue;
    const kinds = vocab.stepInfo(d.exercise, d.step).kinds;
    for (const [name, value] of Object.entries(d.data || {})) {
      if (kinds[name] === "rating" && typeof value === "number") at[d.step][`${name}:${d.by}`] = value;
    }
  }
  const out = [];
  for (const [k, before] of Object.entries(at.suds_before)) {
    if (!(k in at.suds_after)) continue;
    const [name, seat] = k.split(":");
    out.push([config.measures[name] || name, seat, before, at.suds_after[k]]);
  }
  // Distress first, then the others by name; within one, this viewer's own first.
  const rank = (row) => `${row[0] === config.measures.suds ? 0 : 1}${row[0]}:${row[1] === me ? "0" : row[1]}`;
  return out.sort((x, y) => rank(x).localeCompare(rank(y)));
}

export function renderClose(v) {
  const box = $("exercise-close");
  const last = v.phase === "ready" ? lastCompleted() : null;
  box.hidden = !last;
  if (!last) {
    box.replaceChildren();
    delete box.dataset.seq;
    return;
  }
  if (box.dataset.seq === String(last.done.seq)) return;
  box.dataset.seq = String(last.done.seq);
  const d = last.done.data;
  const title = (config.steps[d.exercise] || {}).title || d.exercise;
  const minutes = Math.max(1, Math.round((d.duration_seconds || 0) / 60));
  const answers = last.run.filter((ev) => ev.type === "step_submitted" && !AROUND.has(ev.data.step)).length;
  const who = observer ? [bdi(names.a), " and ", bdi(names.b)] : ["You"];
  const did = sentence`${who} finished ${title} together, in ${plural(minutes, "minute", "minutes")}${d.rounds > 1 ? `, over ${d.rounds} rounds` : ""}${answers ? `, with ${plural(answers, "answer", "answers")} shared` : ""}.`;
  const changes = ratingChanges(last.run, d.exercise).map(([label, seat, before, after]) => el("li", {},
    seat === me ? `Your ${label.toLowerCase()}` : sentence`${bdi(names[seat])}'s ${label.toLowerCase()}`,
    `: ${before} before, ${after} after`, before === after ? "." : ` (${after < before ? "down" : "up"} ${Math.abs(after - before)}).`));
  box.replaceChildren(...[
    el("h3", { id: "exercise-close-title", class: "exercise-close-title", text: observer ? "An exercise finished" : "Well done, both of you" }),
    el("p", {}, did),
    changes.length ? el("ul", { class: "close-ratings", "aria-label": "Ratings before and after" }, changes) : null,
    observer ? null : el("p", { class: "muted", text: "Take a moment with that before you choose what comes next." }),
  ].filter(Boolean));
}
