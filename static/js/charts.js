// Charts of the partners' 0-10 ratings, drawn with Chart.js (loaded as static/vendor/chart.umd.min.js).
// Every chart has a table twin in the page, so nothing is only in the picture. The colours are the
// page's design tokens (app.css), read when drawn and again when the colour scheme changes; no
// marker can hide another: points that share a moment sit side by side, each partner has its own
// shape, and "before" is hollow on a dashed line where "after" is filled.
import { formatDay } from "./local-time.js";

const MEASURE_STYLE = {
  suds: { dash: [], point: "circle" },
  connected: { dash: [6, 4], point: "triangle" },
  arousal: { dash: [2, 3], point: "rectRot" },
};
const SEAT_POINT = { a: "circle", b: "triangle" };
const NARROW = 480; // px of canvas: below it, shorter tick labels and smaller markers

const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
const darkScheme = window.matchMedia("(prefers-color-scheme: dark)");
const drawn = []; // [chart, paint(chart)] for every chart on the page, repainted on a scheme change

function chartLib() {
  return window.Chart || null;
}

/** The design tokens the charts use, as the page has them now (light or dark). */
function tokens() {
  const style = getComputedStyle(document.documentElement);
  const read = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
  return {
    a: read("--seat-a", "#23615b"), b: read("--seat-b", "#a5461d"), text: read("--text", "#242a30"),
    muted: read("--muted", "#57606a"), line: read("--line", "#ddd5c8"), card: read("--card", "#ffffff"),
  };
}

function repaint() {
  for (const [chart, paint] of drawn) {
    paint(chart, tokens());
    chart.update(); // a short colour fade, or none under prefers-reduced-motion: reduce
  }
}
darkScheme.addEventListener("change", repaint);

// A canvas holds no <bdi>: a name in a legend or tooltip goes between FIRST STRONG ISOLATE and
// POP DIRECTIONAL ISOLATE instead, so a right-to-left name cannot reorder the label around it.
function isolate(name) {
  return `\u2068${name}\u2069`;
}

function shorten(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The rating moments in order (one per step visit, so both partners' answers line up). */
function momentsOf(ratings) {
  const order = [];
  const seen = new Map();
  for (const r of ratings) {
    const key = r.step_id ?? `${r.minutes}-${r.step}`;
    if (!seen.has(key)) {
      seen.set(key, order.length);
      order.push(r.step);
    }
  }
  return { labels: order.map((step, i) => `${i + 1}. ${step}`), index: (r) => seen.get(r.step_id ?? `${r.minutes}-${r.step}`) };
}

/** Side by side: the x of the j-th of k points that share one moment or week (the band is 1 wide). */
function spread(j, k) {
  const gap = Math.min(0.22, 0.8 / Math.max(k, 1));
  return (j - (k - 1) / 2) * gap;
}

/** One dataset per partner and measure; points that share a moment are spread across it. */
function datasetsFor(ratings, partners, measures) {
  const moments = momentsOf(ratings);
  const series = [];
  for (const measure of Object.keys(measures)) {
    for (const seat of ["a", "b"]) {
      const mine = ratings.filter((r) => r.seat === seat && r.measure === measure);
      if (mine.length) series.push({ measure, seat, mine });
    }
  }
  const atMoment = moments.labels.map(() => []); // which series have a point at each moment
  for (const s of series) for (const r of s.mine) atMoment[moments.index(r)].push(s);
  const datasets = series.map((s) => {
    const style = MEASURE_STYLE[s.measure] || MEASURE_STYLE.suds;
    const data = s.mine.map((r) => {
      const i = moments.index(r);
      const here = [...new Set(atMoment[i])];
      return { x: i + spread(here.indexOf(s), here.length), y: r.value, moment: i };
    });
    return {
      label: `${measures[s.measure]}, ${isolate(partners[s.seat])}`,
      data, seat: s.seat, borderDash: style.dash, pointStyle: style.point,
      borderWidth: 2, tension: 0, spanGaps: true,
    };
  });
  return { labels: moments.labels, datasets };
}

/** The token colours on a chart, or on its config before it is built (both have data and options). */
function seatPaint(chart, colours) {
  for (const ds of chart.data.datasets) {
    const colour = colours[ds.seat] || colours.a;
    ds.borderColor = colour;
    ds.pointBorderColor = colour;
    ds.backgroundColor = ds.hollow ? colours.card : colour;
    ds.pointBackgroundColor = ds.hollow ? colours.card : colour;
  }
  const { scales, plugins } = chart.options;
  plugins.legend.labels.color = colours.text;
  for (const axis of Object.values(scales)) {
    axis.ticks.color = colours.text;
    if (axis.title) axis.title.color = colours.text;
    axis.grid = { ...(axis.grid || {}), color: colours.line };
    axis.border = { ...(axis.border || {}), color: colours.muted };
  }
}

function baseOptions(yTitle, yMax = 10) {
  const colours = tokens();
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: reducedMotion ? false : { duration: 250 },
    layout: { padding: { top: 8, right: 8 } },
    elements: { point: { radius: 5, hoverRadius: 7, borderWidth: 2 } },
    plugins: {
      colors: { enabled: false }, // every colour is a design token, set by seatPaint
      legend: { position: "bottom", labels: { usePointStyle: true, color: colours.text, padding: 14, font: { size: 14 } } },
      tooltip: { callbacks: {} },
    },
    scales: {
      x: { ticks: { color: colours.text, font: { size: 13 } }, grid: { color: colours.line } },
      y: {
        min: 0, max: yMax,
        ticks: { stepSize: yMax > 10 ? undefined : 1, precision: 0, color: colours.text, font: { size: 13 } },
        title: { display: true, text: yTitle, color: colours.text, font: { size: 13 } },
        grid: { color: colours.line },
      },
    },
    onResize: (chart, size) => fitToWidth(chart, size.width),
  };
}

/** On a narrow canvas: smaller markers and short tick labels (the tooltip and table have them whole). */
function fitToWidth(chart, width) {
  const narrow = width < NARROW;
  chart.options.elements.point.radius = narrow ? 4 : 5;
  chart.options.plugins.legend.labels.font.size = narrow ? 13 : 14;
  chart.$narrow = narrow;
}

/** The x axis of a chart whose points sit side by side within each band: one tick per band. */
function bandAxis(labels, short) {
  return {
    type: "linear", min: -0.5, max: labels.length - 0.5, offset: false,
    afterBuildTicks: (axis) => { axis.ticks = labels.map((_, i) => ({ value: i })); },
    ticks: { autoSkip: true, maxRotation: 50, minRotation: 0, font: { size: 13 },
             callback(value) { return Number.isInteger(value) ? short(labels[value], this.chart) : ""; } },
    grid: { offset: false },
  };
}

function draw(canvas, config, paint) {
  const Chart = chartLib();
  paint(config, tokens()); // coloured before the first frame: the opening animation has the right target
  const chart = new Chart(canvas, config);
  fitToWidth(chart, chart.width);
  drawn.push([chart, paint]);
  return chart;
}

/** A line chart of a session's ratings; returns {update(ratings)} (or a no-op without Chart.js). */
export function sessionChart(canvas, ratings, partners, measures) {
  if (!chartLib() || !canvas) return { update() {} };
  const data = datasetsFor(ratings, partners, measures);
  const options = baseOptions("Rating, 0 to 10");
  const setAxis = (labels) => {
    options.scales.x = { ...bandAxis(labels, (l, chart) => (chart.$narrow ? shorten(l, 12) : shorten(l, 28))),
                         title: { display: true, text: "Moments in the session, in order", font: { size: 13 } } };
  };
  setAxis(data.labels);
  options.plugins.tooltip.callbacks = {
    title: (items) => (items.length ? data.labels[items[0].raw.moment] : ""),
    label: (item) => `${item.dataset.label}: ${item.raw.y}`,
  };
  const chart = draw(canvas, { type: "line", data, options }, seatPaint);
  return {
    update(next) {
      const fresh = datasetsFor(next, partners, measures);
      data.labels = fresh.labels;
      chart.data.datasets = fresh.datasets;
      setAxis(fresh.labels);
      chart.options.scales.x = options.scales.x;
      seatPaint(chart, tokens());
      chart.update();
    },
  };
}

const PHASES = ["before", "after"];

/** Change (after minus before) as the progress table writes it: "+6.0", "-1.5", "0.0". */
function signed(change) {
  if (change === null || change === undefined) return "";
  return change ? `${change > 0 ? "+" : ""}${change.toFixed(1)}` : "0.0";
}

/** One measure's weekly averages before and after the finished exercises, per partner: the
 *  same numbers as the table beside it (the change is in the table and in the tooltips). Each
 *  week's four points sit side by side: partner a before, after; partner b before, after. */
export function weeklyChart(canvas, weekly, key, names) {
  if (!chartLib() || !canvas) return;
  const labels = weekly.map((w) => formatDay(w.week));
  const datasets = [];
  ["a", "b"].forEach((seat, s) => {
    PHASES.forEach((phase, p) => {
      const offset = spread(s * 2 + p, 4);
      datasets.push({
        label: `${isolate(names[seat])}, ${phase}`,
        data: weekly.map((w, i) => ({ x: i + offset, y: w[key][seat][phase], change: w[key][seat].change }))
          .filter((point) => point.y !== null && point.y !== undefined),
        phase, seat, hollow: phase === "before",
        borderDash: phase === "before" ? [6, 4] : [],
        pointStyle: SEAT_POINT[seat],
        borderWidth: 2, spanGaps: true,
      });
    });
  });
  const options = baseOptions("Average, 0 to 10");
  options.scales.x = { ...bandAxis(labels, (l) => l), title: { display: true, text: "Week starting", font: { size: 13 } } };
  options.plugins.tooltip.callbacks = {
    title: (items) => (items.length ? labels[Math.round(items[0].raw.x)] : ""),
    label: (item) => {
      const change = item.dataset.phase === "after" ? signed(item.raw.change) : "";
      return `${item.dataset.label}: ${item.raw.y.toFixed(1)}${change ? ` (change ${change})` : ""}`;
    },
  };
  draw(canvas, { type: "line", data: { datasets }, options }, seatPaint);
}

/** Exercises completed per week (bars). */
export function doneChart(canvas, weekly) {
  if (!chartLib() || !canvas) return;
  const max = Math.max(4, ...weekly.map((w) => w.done));
  const options = baseOptions("Exercises", max);
  options.scales.x = { type: "category", ticks: { font: { size: 13 } } };
  options.scales.y.ticks.stepSize = 1;
  options.plugins.legend.display = false;
  const data = {
    labels: weekly.map((w) => formatDay(w.week)),
    datasets: [{ label: "Exercises completed", data: weekly.map((w) => w.done), seat: "a" }],
  };
  draw(canvas, { type: "bar", data, options }, seatPaint);
}

/** The ratings in a session's events (as room.js receives them), like the server's ratings_of. */
export function ratingsFrom(events, startedAt, measures, stepTitle) {
  const start = Date.parse(trimIso(startedAt));
  const out = [];
  for (const ev of events) {
    if (ev.type !== "step_submitted") continue;
    const d = ev.data || {};
    for (const [key, value] of Object.entries(d.data || {})) {
      if (!(key in measures) || typeof value !== "number") continue;
      out.push({
        seat: d.by, measure: key, value, step_id: d.step_id,
        minutes: Math.round((Date.parse(trimIso(ev.at)) - start) / 6000) / 10,
        step: stepTitle(d.exercise, d.step),
      });
    }
  }
  return out;
}

/** ISO strings from Python carry microseconds; keep milliseconds so every browser parses them. */
export function trimIso(iso) {
  return String(iso).replace(/(\.\d{3})\d+/, "$1");
}
