// The therapist's view of the ratings: the live chart, and the same as a table.

import { ratingsFrom, sessionChart } from "../charts.js";
import { config, names, observer, room } from "./state.js";
import { $, bdi, el, stepTitle } from "./dom.js";

function renderTable() {
  const box = $("live-table");
  if (!box) return;
  const ratings = currentRatings();
  if (!ratings.length) {
    box.replaceChildren(el("p", { class: "muted", text: "No ratings yet." }));
    return;
  }
  const rows = ratings.map((r) => el("tr", {}, el("td", { text: String(r.minutes) }), el("td", {}, bdi(names[r.seat])),
    el("td", { text: config.measures[r.measure] }), el("td", { text: String(r.value) }), el("td", { text: r.step })));
  box.replaceChildren(el("table", { class: "ratings-table" },
    el("caption", { class: "visually-hidden", text: "Ratings from 0 to 10, in order" }),
    el("thead", {}, el("tr", {}, ["Minute", "Who", "Rating", "Value", "Step"].map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, rows)));
}

function currentRatings() {
  return ratingsFrom(room.events, config.started_at, config.measures, stepTitle);
}

export function updateChart() {
  room.chart.update(currentRatings());
  renderTable();
}

if (observer) {
  room.chart = sessionChart($("live-chart"), [], names, config.measures);
  renderTable();
}
