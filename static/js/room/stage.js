// The stage: what the engine's view says now (setView): the step, whose turn, the prompt, and the
// actions (the step's form, the pause panel, the exercise chooser).

import { trimIso } from "../charts.js";
import { config, me, names, observer, partnerSeat, room, serverNow, setClock } from "./state.js";
import { $, announce, bdi, el, nameOf, namesOf, plural, sentence, status } from "./dom.js";
import { act } from "./socket.js";
import { renderClose } from "./close.js";
import { endedPanel } from "./endings.js";
import { handleAck, stepForm } from "./forms.js";
import { renderPartnerWords } from "./partner.js";
import { callTimeout, renderSafetyBar } from "./safety.js";
import { renderBreathing, tick } from "./timers.js";

const PHASE_TITLES = {
  safety: "A private question first",
  hold: "Not today",
  ready: "Choose an exercise",
  ended: "The session has ended",
};

function turnText(v) {
  if (v.phase === "ended") return "";
  if (v.paused) return v.paused_by === me ? "You paused the session." : sentence`${nameOf(v.paused_by)} paused the session.`;
  const waiting = v.waiting_for || [];
  if (observer) {
    if (!waiting.length) return v.deadline_at ? "The partners are on a break." : "";
    if (v.either) return sentence`Either ${namesOf(waiting).map((p) => (p === " and " ? " or " : p))} answers, for both.`;
    return sentence`Waiting for ${namesOf(waiting)}.`;
  }
  if (v.your_turn) {
    // Say exactly who decides: one answer for both, or each their own.
    if (v.either) return "Your turn: either of you answers, for you both. The first answer is kept.";
    return waiting.length > 1 ? "Your turn (you both answer this one)." : "Your turn.";
  }
  if (v.phase === "exercise" && !waiting.length) return v.deadline_at ? "You are both on a break." : "";
  if (waiting.includes(partnerSeat)) return sentence`${bdi(names[partnerSeat])}'s turn.`;
  return "";
}

export function setView(view) {
  room.view = view;
  if (view.server_now) setClock(view.server_now);
  const v = view;
  $("exercise-name").textContent = v.exercise_title ? `${v.exercise_title}${v.round > 1 ? ` · round ${v.round}` : ""}` : "";
  $("step-count").textContent = v.step_number && !v.paused ? `Step ${v.step_number} of ${v.step_count}` : "";
  $("step-title").textContent = v.paused ? "Paused" : v.step_title || PHASE_TITLES[v.phase] || "";
  $("turn").replaceChildren(...[turnText(v)].flat());
  $("prompt").replaceChildren(...promptParts(v));
  renderPartnerWords(v);
  renderClose(v);
  // Server-rendered in room.html: who else sees the private answer, and help on "not today".
  if ($("safety-audience")) $("safety-audience").hidden = v.phase !== "safety" || !v.your_turn;
  $("crisis-help").hidden = v.phase !== "hold";
  $("held-note").hidden = !v.held || v.phase === "ready"; // when choosing, the prompt says it
  renderSuggestions(v);
  tick();
  renderSafetyBar(v);

  renderBreathing();
  const key = JSON.stringify([v.phase, v.step_id, v.your_turn, v.paused, v.paused && v.ready[me],
    (v.input || []).map((f) => f.name), v.can_start, v.can_timeout, v.suggest_timeout]);
  if (key !== room.formKey) {
    const active = document.activeElement;
    const hadFocus = $("action-area").contains(active) || active === document.body || active === $("step-title");
    const firstRender = room.formKey === null;
    room.formKey = key;
    renderActions(v);
    if (!firstRender && !observer) {
      if (v.your_turn) announce(`Your turn: ${$("step-title").textContent}.`);
      if (hadFocus) showStep();
    }
  }
}

/** A new step: its title takes the focus (one Tab on is the first field), and on a small screen
 * the whole stage comes into view below the sticky bar, when it was not. */
function showStep() {
  $("step-title").focus({ preventScroll: true });
  const bar = $("safety-bar") && !$("safety-bar").hidden ? $("safety-bar") : null;
  const box = $("stage").getBoundingClientRect();
  if (box.top >= (bar ? bar.getBoundingClientRect().bottom : 0) && box.bottom <= window.innerHeight) return;
  // Once scrolled there, the sticky bar sits at the top: the stage goes just under it.
  window.scrollTo({ top: window.scrollY + box.top - (bar ? bar.offsetHeight : 0) });
}

// The engine's prompt may hold slots the page fills: {caller}, a partner's name, and {return_at},
// the break's end in this reader's own local time (the server knows neither).
function promptParts(v) {
  const slots = v.prompt_slots || {};
  return (v.prompt || "").split(/(\{caller\}|\{return_at\})/).filter((p) => p !== "").map((piece) => {
    if (piece === "{caller}") return slots.caller ? bdi(names[slots.caller]) : "Your partner";
    if (piece === "{return_at}") return slots.return_at ? localClock(slots.return_at) : "the agreed time";
    return piece;
  });
}

// "19:45", "00:10 tomorrow" or "07:30 on Tuesday", in the reader's locale and time zone.
function localClock(iso) {
  const t = new Date(Date.parse(trimIso(iso)));
  const time = t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const today = new Date(serverNow());
  const tomorrow = new Date(today.getFullYear(), today.getMonth(), today.getDate() + 1);
  if (t.toDateString() === today.toDateString()) return time;
  if (t.toDateString() === tomorrow.toDateString()) return `${time} tomorrow`;
  return `${time} on ${t.toLocaleDateString([], { weekday: "long" })}`;
}

function renderSuggestions(v) {
  const list = $("suggestions");
  list.replaceChildren(...(v.suggestions || []).map((s) => el("li", { text: s })));
  list.hidden = !(v.suggestions || []).length;
}

function renderActions(v) {
  const area = $("action-area");
  area.replaceChildren();
  status("");
  if (v.phase === "ended") {
    area.append(endedPanel());
    return;
  }
  if (observer) return;
  if (v.suggest_timeout) area.append(timeoutSuggestion());
  if (v.paused) {
    area.append(pausedPanel(v));
    return;
  }
  if (v.input && (v.your_turn || v.input.length)) {
    const kind = v.phase === "safety" ? "safety" : "submit";
    const logOnly = !v.your_turn; // a break: partners may note what helped, nothing is asked
    const form = stepForm(v.input, {
      kind,
      step: kind === "submit" ? v.step : null,
      submit: kind === "safety" ? "Send my private answer" : logOnly ? "Save this note" : "Share",
      idPrefix: `f${v.step_id}`,
      id: "step-form",
    });
    // Nothing is asked at a break: its notes wait, folded, for whoever wants them.
    area.append(logOnly ? el("details", { class: "log-form", id: "log-form" },
      el("summary", { text: "Note how you feel, or ask for longer (optional)" }), form) : form);
  }
  if (v.phase === "ready" && v.can_start) area.append(exerciseChooser(v));
}

function pausedPanel(v) {
  const mine = v.ready && v.ready[me];
  const box = el("div", { class: "paused-panel" });
  if (config.cycle) {
    box.append(el("p", { class: "cycle-note", id: "cycle-note" }, "Your cycle: ", el("strong", {}, bdi(config.cycle.name)), ". ",
      config.cycle.sign ? ["Early sign: ", bdi(config.cycle.sign), "."] : null));
  }
  if (v.pause_reason) box.append(el("p", { class: "muted" }, "Your private reason: ", bdi(v.pause_reason)));
  if (v.pause_check && !mine) {
    // The pause technique: name it, rate it, choose what next; every part optional.
    box.append(el("h3", { text: "A moment for yourself" }),
      el("p", { class: "muted", text: "If it helps: name what you feel, how strong it is, and what would help now. All of it is optional, and it stays private unless you choose to show it." }),
      stepForm(v.pause_check, { kind: "pause_check", step: null, submit: "Save", idPrefix: `pc${v.step_id}`, id: "pause-check-form" }));
  }
  if (!mine) {
    box.append(el("button", {
      type: "button", class: "button button-primary", id: "ready-button", text: "I'm ready to continue",
      onclick: (e) => {
        e.target.disabled = true;
        act("ready", null, {}, (ack) => handleAck(ack, null, e.target));
      },
    }));
  } else {
    box.append(el("p", {}, sentence`Waiting for ${bdi(names[partnerSeat])} to be ready too.`));
  }
  return box;
}

function exerciseChooser(v) {
  const list = el("ul", { class: "exercise-choices" });
  for (const ex of v.exercises || []) {
    if (ex.interrupts) continue; // the time-out has its own button, always in reach
    if (ex.options && ex.options.length) {
      // Exercises with a choice to make first (the greeting: morning or reunion) start from a form.
      list.append(el("li", {},
        el("h3", { text: ex.title }),
        el("p", { text: ex.summary }),
        aboutExercise(ex),
        stepForm(ex.options, {
          kind: "start_exercise", step: null, submit: "Start", idPrefix: `start-${ex.key}`,
          id: `start-${ex.key}`, extra: { exercise: ex.key },
          buttonAttrs: { "data-exercise": ex.key, "aria-label": `Start: ${ex.title}` },
        })));
      continue;
    }
    list.append(el("li", {},
      el("h3", { text: ex.title }),
      el("p", { text: ex.summary }),
      aboutExercise(ex),
      ...(ex.demanding && v.suggest_timeout
        // The choice is visible before pressing: this exercise asks a lot of a flooded body.
        ? [el("p", { class: "muted", text: "Your last rating was high, and this exercise asks a lot. A time-out first may help." })]
        : []),
      el("button", {
        type: "button", class: "button button-primary", "data-exercise": ex.key,
        "aria-label": `Start: ${ex.title}`, text: ex.demanding && v.suggest_timeout ? "Start anyway" : "Start",
        onclick: (e) => {
          e.target.disabled = true;
          const data = { exercise: ex.key, ...(ex.demanding && v.suggest_timeout ? { start_anyway: true } : {}) };
          act("start_exercise", null, data, (ack) => handleAck(ack, null, e.target));
        },
      })));
  }
  return el("div", { class: "chooser" }, list);
}

// How long it takes, and when not to use it (the catalogue's minutes and not_when).
function aboutExercise(ex) {
  return el("p", { class: "exercise-about" },
    ex.minutes ? el("span", { class: "exercise-minutes", text: `About ${plural(ex.minutes, "minute", "minutes")}.` }) : null,
    ex.minutes && ex.not_when ? " " : null,
    ex.not_when ? el("span", { class: "exercise-not-when" }, el("strong", { text: "Not when: " }), ex.not_when) : null);
}

// Shown only to the partner whose own last rating was 7 or more (the view says so privately).
function timeoutSuggestion() {
  return el("div", { class: "suggest-timeout", id: "suggest-timeout", role: "note" },
    el("p", { text: "Your last rating was high. A time-out can help your body settle before you go on." }),
    el("button", { type: "button", class: "button button-secondary", text: "Take a time-out now", onclick: callTimeout }));
}
