// The session's log as it arrives: each event applied in order, written into the timeline, read out.

import { trimIso } from "../charts.js";
import { room, vocab } from "./state.js";
import { $, announce, dom, el } from "./dom.js";
import { updateChart } from "./observer-chart.js";
import { timeIsUp } from "./timers.js";

export function applyEvent(ev, fresh) {
  if (ev.seq <= room.lastSeq) return;
  room.lastSeq = ev.seq;
  room.events.push(ev);
  const line = describe(ev);
  if (line) {
    $("timeline").append(line);
    $("timeline-empty").hidden = true;
  }
  if (fresh) announceEvent(ev);
  if (fresh && ev.type === "timer_fired") timeIsUp(ev);
  if (room.chart && ev.type === "step_submitted") updateChart();
}

function answersList({ texts, ratings }) {
  return [
    texts.length ? el("dl", { class: "answers" }, texts.map(([label, shown]) => [el("dt", { text: label }), el("dd", { dir: "auto", text: String(shown) })])) : null,
    ratings.length ? el("ul", { class: "rating-badges" }, ratings.map(([label, value]) => el("li", {}, `${label}: `, el("strong", { text: String(value) })))) : null,
  ];
}

function timeOf(iso) {
  const t = new Date(Date.parse(trimIso(iso)));
  return el("time", { datetime: iso, text: t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) });
}

// One entry of the timeline, worded and laid out as on the transcript page.
function describe(ev) {
  const entry = vocab.entry(ev);
  if (!entry) return null;
  if (entry.sentence) {
    return el("li", { class: "entry entry-system", "data-seq": ev.seq },
      el("p", { class: "entry-head" }, timeOf(ev.at), " ", el("span", {}, dom(entry.sentence))));
  }
  return el("li", { class: `entry entry-${entry.seat}`, "data-seq": ev.seq },
    el("p", { class: "entry-head" }, timeOf(ev.at), " ", el("strong", {}, dom(entry.who)), " ", el("span", { text: entry.title })),
    answersList(entry));
}

function announceEvent(ev) {
  const parts = vocab.announcement(ev);
  if (parts) announce(dom(parts));
}
