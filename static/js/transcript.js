// The transcript page: local times, the ratings chart, and a print button.
import { sessionChart, trimIso } from "./charts.js";

for (const node of document.querySelectorAll("time.local-time")) {
  const t = new Date(Date.parse(trimIso(node.getAttribute("datetime"))));
  if (!Number.isNaN(t.getTime())) node.textContent = t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

const data = JSON.parse(document.getElementById("chart-data").textContent);
const canvas = document.getElementById("session-chart");
if (canvas) sessionChart(canvas, data.ratings, data.partners, data.measures);

const printButton = document.getElementById("print-button");
if (printButton) printButton.addEventListener("click", () => window.print());
