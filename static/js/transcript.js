// The transcript page: the ratings chart and a print button (local-time.js shows the times).
import { sessionChart } from "./charts.js";

const data = JSON.parse(document.getElementById("chart-data").textContent);
const canvas = document.getElementById("session-chart");
if (canvas) sessionChart(canvas, data.ratings, data.partners, data.measures);

const printButton = document.getElementById("print-button");
if (printButton) printButton.addEventListener("click", () => window.print());
