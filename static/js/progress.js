// The progress page: one session's ratings (chosen from a list) and the weekly charts.
import { doneChart, sessionChart, weeklyChart } from "./charts.js";

const MEASURES = { suds: "Distress", connected: "Connection", arousal: "Stirred up" };
const data = JSON.parse(document.getElementById("progress-data").textContent);

if (data.sessions.length) {
  const byId = Object.fromEntries(data.sessions.map((s) => [s.id, s]));
  const pick = document.getElementById("session-pick");
  const link = document.getElementById("session-link");
  const first = data.sessions[0];
  const chart = sessionChart(document.getElementById("session-chart"), first.ratings, first.names, MEASURES);
  pick.addEventListener("change", () => {
    const chosen = byId[pick.value];
    chart.update(chosen.ratings);
    link.href = chosen.url;
  });
  weeklyChart(document.getElementById("distress-chart"), data.weekly, "suds", data.names);
  weeklyChart(document.getElementById("connection-chart"), data.weekly, "connected", data.names);
  doneChart(document.getElementById("done-chart"), data.weekly);
}
