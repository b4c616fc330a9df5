// The progress page: one session's ratings (chosen from a list) as a chart and its table, and
// the weekly charts (their tables are in the page already).
import { doneChart, sessionChart, weeklyChart } from "./charts.js";

const MEASURES = { suds: "Distress", connected: "Connection", arousal: "Stirred up" };
const data = JSON.parse(document.getElementById("progress-data").textContent);

function cell(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  Object.assign(node, attrs);
  node.textContent = text;
  return node;
}

/** The chosen session's ratings as the transcript's table has them (text only, never markup). */
function ratingsTable(session) {
  if (!session.ratings.length) return [cell("p", "No ratings in this session.", { className: "muted" })];
  const table = cell("table", "", { className: "ratings-table" });
  table.append(cell("caption", "The ratings, 0 to 10, in order"));
  const head = table.createTHead().insertRow();
  for (const title of ["Minute", "Who", "Rating", "Value", "Step"]) head.append(cell("th", title, { scope: "col" }));
  const body = table.createTBody();
  for (const r of session.ratings) {
    const row = body.insertRow();
    const who = cell("bdi", session.names[r.seat] ?? r.seat);
    row.append(cell("td", String(r.minutes)), cell("td", ""), cell("td", MEASURES[r.measure] ?? r.measure),
               cell("td", String(r.value)), cell("td", r.step));
    row.cells[1].append(who);
  }
  return [table];
}

if (data.sessions.length) {
  const byId = Object.fromEntries(data.sessions.map((s) => [s.id, s]));
  const pick = document.getElementById("session-pick");
  const link = document.getElementById("session-link");
  const table = document.getElementById("session-table");
  const first = data.sessions[0];
  const chart = sessionChart(document.getElementById("session-chart"), first.ratings, first.names, MEASURES);
  table.replaceChildren(...ratingsTable(first));
  pick.addEventListener("change", () => {
    const chosen = byId[pick.value];
    chart.update(chosen.ratings);
    table.replaceChildren(...ratingsTable(chosen));
    link.href = chosen.url;
  });
  weeklyChart(document.getElementById("distress-chart"), data.weekly, "suds", data.names);
  weeklyChart(document.getElementById("connection-chart"), data.weekly, "connected", data.names);
  doneChart(document.getElementById("done-chart"), data.weekly);
}
