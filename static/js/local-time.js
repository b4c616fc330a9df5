// Progressive enhancement: the server writes every moment in UTC ("27 Nov 2026, 14:05 UTC", see
// couples/web/times.py); here each one is rewritten in the reader's own time zone and date format
// (Intl.DateTimeFormat with the browser's locale), naming the zone. A calendar day (a week's
// Monday: data-local-time="day") has no zone, so only its format changes. Without JavaScript, or
// if a date cannot be read, the server's text stays as it is.

const FORMATS = {
  datetime: { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" },
  time: { hour: "2-digit", minute: "2-digit", timeZoneName: "short" },
  date: { day: "numeric", month: "short", year: "numeric" },
  day: { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" }, // "2026-12-13" is UTC midnight
};

const formatters = {};

function formatter(style) {
  formatters[style] ??= new Intl.DateTimeFormat(undefined, FORMATS[style]);
  return formatters[style];
}

/** An ISO string as a Date (Python may write microseconds: keep milliseconds), or null. */
function parse(iso) {
  const at = new Date(Date.parse(String(iso || "").replace(/(\.\d{3})\d+/, "$1")));
  return Number.isNaN(at.getTime()) ? null : at;
}

/** The moment an element stands for: a <time>'s datetime, or data-datetime (an <option> cannot hold a <time>). */
function momentOf(node) {
  return parse(node.getAttribute("datetime") || node.dataset.datetime);
}

/** A calendar day ("2026-12-13") in the reader's format ("13 Dec 2026", "Dec 13, 2026"...); the
 *  ISO text itself if it cannot be read. For the charts' week labels. */
export function formatDay(iso) {
  const at = parse(iso);
  try {
    return at ? formatter("day").format(at) : String(iso);
  } catch {
    return String(iso);
  }
}

export function localiseTimes(root = document) {
  for (const node of root.querySelectorAll("[data-local-time]")) {
    const style = node.dataset.localTime in FORMATS ? node.dataset.localTime : "datetime";
    const at = momentOf(node);
    if (!at) continue;
    node.textContent = formatter(style).format(at);
  }
}

try {
  localiseTimes();
} catch {
  // An old browser without Intl options keeps the readable UTC text.
}
