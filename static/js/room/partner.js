// The partner's words: what the current step answers, shown above its form.

import { me, names, observer, room, vocab } from "./state.js";
import { $, bdi, el, sentence } from "./dom.js";

// The steps the engine adds around every exercise: a check-in, who goes first, a check-out.
export const AROUND = new Set(["suds_before", "choose_speaker", "suds_after"]);
const RUN_STARTS = new Set(["exercise_started", "roles_swapped"]);

/** The written words (not the choices) of an entry, as [label, words]. */
function writtenWords(d) {
  const info = vocab.stepInfo(d.exercise, d.step);
  return Object.entries(d.data || {})
    .filter(([name, value]) => typeof value === "string" && value.trim() && !info.options[name])
    .map(([name, value]) => [info.labels[name] || name, value]);
}

/**
 * The words a step answers, from the log this viewer may see (so a private answer never shows;
 * no exercise is named here). When the step names the steps it responds to (`responds_to`): the
 * other partner's latest written words from those in this round, up to four, oldest first.
 * Otherwise: in this run of the current exercise, the other partner's latest entry since the
 * responder's own last one, and before it, while each is one answer, up to three more (a needs
 * request's four parts, one step each), oldest first.
 */
function wordsToAnswer(v) {
  if (v.phase !== "exercise" || v.paused || !v.exercise) return null;
  const waiting = v.waiting_for || [];
  const responder = observer ? (waiting.length === 1 ? waiting[0] : null) : v.your_turn ? me : null;
  if (!responder) return null;
  const from = responder === "a" ? "b" : "a";
  const found = [];
  const respondsTo = new Set(v.responds_to || []);
  if (respondsTo.size) {
    for (let i = room.events.length - 1; i >= 0 && found.length < 4; i -= 1) {
      const ev = room.events[i];
      const d = ev.data || {};
      if (RUN_STARTS.has(ev.type) && (ev.type === "roles_swapped" || d.exercise === v.exercise)) break;
      if (ev.type !== "step_submitted" || d.exercise !== v.exercise || d.by !== from || !respondsTo.has(d.step)) continue;
      const texts = writtenWords(d);
      if (texts.length) found.unshift({ seq: ev.seq, title: vocab.stepTitle(d.exercise, d.step), texts });
    }
    return found.length ? { from, entries: found } : null;
  }
  for (let i = room.events.length - 1; i >= 0 && found.length < 4; i -= 1) {
    const ev = room.events[i];
    const d = ev.data || {};
    if (RUN_STARTS.has(ev.type) && (ev.type === "roles_swapped" || d.exercise === v.exercise)) break;
    if (ev.type !== "step_submitted" || d.exercise !== v.exercise || AROUND.has(d.step) || d.step_id === v.step_id) continue;
    if (d.by === responder) break;
    const { texts } = vocab.answers(d.exercise, d.step, d.data);
    if (!texts.length) continue;
    if (found.length && (texts.length > 1 || found[0].texts.length > 1)) break;
    found.unshift({ seq: ev.seq, title: vocab.stepTitle(d.exercise, d.step), texts });
  }
  return found.length ? { from, entries: found } : null;
}

export function renderPartnerWords(v) {
  const box = $("partner-words");
  const words = wordsToAnswer(v);
  box.hidden = !words;
  if (!words) {
    box.replaceChildren();
    delete box.dataset.key; // the same words may be answered again at a later step
    return;
  }
  const key = `${words.from}:${words.entries.map((e) => e.seq).join(",")}`;
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.replaceChildren(
    el("h3", { class: "partner-words-title", id: "partner-words-title" }, sentence`${bdi(names[words.from])} wrote:`),
    // One flowing paragraph, each answer named: by its step when the step asked one thing (a
    // request's parts), else by its field.
    el("p", { class: "partner-entries" }, words.entries.flatMap(({ title, texts }) => (texts.length === 1 ? [[title, texts[0][1]]] : texts))
      .map(([label, shown]) => el("span", { class: "partner-entry" },
        el("span", { class: "partner-entry-step", text: `${label}: ` }),
        el("bdi", { class: "partner-entry-words", text: String(shown) })))));
}
