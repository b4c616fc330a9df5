// Charts of the partners' 0-10 ratings, drawn with Chart.js (loaded as static/vendor/chart.umd.min.js).
// Every chart has a table twin in the page, so nothing is only in the picture.

const SEAT_COLOURS = { a: "#1d5c63", b: "#a3480a" }; // both at least 5:1 on white
const MEASURE_STYLE = {
  suds: { dash: [], point: "circle" },
  connected: { dash: [6, 4], point: "triangle" },
  arousal: { dash: [2, 3], point: "rectRot" },
};

const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

function chartLib() {
  return window.Chart || null;
}

// A canvas holds no <bdi>: a name in a legend or tooltip goes between FIRST STRONG ISOLATE and
// POP DIRECTIONAL ISOLATE instead, so a right-to-left name cannot reorder the label around it.
function isolate(name) {
  return `\u2068${name}\u2069`;
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

/** One dataset per partner and measure, a point at each rating moment. */
function datasetsFor(ratings, partners, measures) {
  const moments = momentsOf(ratings);
  const out = [];
  for (const measure of Object.keys(measures)) {
    for (const seat of ["a", "b"]) {
      const mine = ratings.filter((r) => r.seat === seat && r.measure === measure);
      if (!mine.length) continue;
      const data = moments.labels.map(() => null);
      for (const r of mine) data[moments.index(r)] = r.value;
      const style = MEASURE_STYLE[measure] || MEASURE_STYLE.suds;
      out.push({
        label: `${measures[measure]}, ${isolate(partners[seat])}`,
        data,
        spanGaps: true,
        borderColor: SEAT_COLOURS[seat],
        backgroundColor: SEAT_COLOURS[seat],
        borderDash: style.dash,
        pointStyle: style.point,
        pointRadius: 5,
        borderWidth: 2,
        tension: 0,
      });
    }
  }
  return { labels: moments.labels, datasets: out };
}

function baseOptions(xTitle, yMax = 10) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: reducedMotion ? false : { duration: 250 },
    plugins: {
      legend: { position: "bottom", labels: { usePointStyle: true, color: "#1f2933" } },
      tooltip: {
        callbacks: {
          label: (item) => `${item.dataset.label}: ${item.parsed.y}`,
        },
      },
    },
    scales: {
      x: { type: "category", title: { display: true, text: xTitle, color: "#1f2933" }, ticks: { color: "#1f2933" } },
      y: { min: 0, max: yMax, ticks: { stepSize: 1, color: "#1f2933" }, title: { display: true, text: "Rating, 0 to 10", color: "#1f2933" } },
    },
  };
}

/** A line chart of a session's ratings; returns {update(ratings)} (or a no-op without Chart.js). */
export function sessionChart(canvas, ratings, partners, measures) {
  const Chart = chartLib();
  if (!Chart || !canvas) return { update() {} };
  const chart = new Chart(canvas, {
    type: "line",
    data: datasetsFor(ratings, partners, measures),
    options: baseOptions("Moments in the session, in order"),
  });
  return {
    update(next) {
      chart.data = datasetsFor(next, partners, measures);
      chart.update();
    },
  };
}

const PHASE_STYLE = {
  before: { dash: [6, 4], fill: "#ffffff", word: "before" }, // hollow points on a dashed line
  after: { dash: [], fill: null, word: "after" },
};

/** Change (after minus before) as the progress table writes it: "+6.0", "-1.5", "0.0". */
function signed(change) {
  if (change === null || change === undefined) return "";
  return change ? `${change > 0 ? "+" : ""}${change.toFixed(1)}` : "0.0";
}

/** One measure's weekly averages before and after the finished exercises, per partner: the
 *  same numbers as the table beside it (the change is in the table and in the tooltips). */
export function weeklyChart(canvas, weekly, key, names) {
  const Chart = chartLib();
  if (!Chart || !canvas) return;
  const labels = weekly.map((w) => w.label || w.week);
  const datasets = [];
  for (const seat of ["a", "b"]) {
    for (const phase of ["before", "after"]) {
      const style = PHASE_STYLE[phase];
      datasets.push({
        label: `${isolate(names[seat])}, ${style.word}`,
        data: weekly.map((w) => w[key][seat][phase]),
        changes: weekly.map((w) => w[key][seat].change),
        phase,
        borderColor: SEAT_COLOURS[seat],
        backgroundColor: style.fill || SEAT_COLOURS[seat],
        borderDash: style.dash,
        pointStyle: seat === "a" ? "circle" : "triangle",
        pointRadius: 5,
        borderWidth: 2,
        spanGaps: true,
      });
    }
  }
  const options = baseOptions("Week starting");
  options.scales.x.offset = true; // a week's points in the middle of its band, as in the bar chart
  options.plugins.tooltip.callbacks.label = (item) => {
    const change = item.dataset.phase === "after" ? signed(item.dataset.changes[item.dataIndex]) : "";
    return `${item.dataset.label}: ${item.parsed.y.toFixed(1)}${change ? ` (change ${change})` : ""}`;
  };
  new Chart(canvas, { type: "line", data: { labels, datasets }, options });
}

/** Exercises completed per week (bars). */
export function doneChart(canvas, weekly) {
  const Chart = chartLib();
  if (!Chart || !canvas) return;
  const max = Math.max(4, ...weekly.map((w) => w.done));
  const options = baseOptions("Week starting", max);
  options.scales.x = { type: "category", ticks: { color: "#1f2933" } };
  options.scales.y.title.text = "Exercises";
  options.plugins.legend.display = false;
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: weekly.map((w) => w.label || w.week),
      datasets: [{ label: "Exercises completed", data: weekly.map((w) => w.done), backgroundColor: SEAT_COLOURS.a }],
    },
    options,
  });
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
