// Progressive enhancement: the server writes every moment in UTC ("27 Nov 2026, 14:05 UTC", see
// couples/times.py); here each one is rewritten in the reader's own time zone, naming that zone.
// Without JavaScript, or if a date cannot be read, the UTC text stays as it is.

const FORMATS = {
  datetime: { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" },
  time: { hour: "2-digit", minute: "2-digit", timeZoneName: "short" },
  date: { day: "numeric", month: "short", year: "numeric" },
};

/** The moment an element stands for: a <time>'s datetime, or data-datetime (an <option> cannot hold a <time>). */
function momentOf(node) {
  const iso = node.getAttribute("datetime") || node.dataset.datetime || "";
  // Python may write microseconds; keep milliseconds so every browser parses the string.
  const at = new Date(Date.parse(iso.replace(/(\.\d{3})\d+/, "$1")));
  return Number.isNaN(at.getTime()) ? null : at;
}

export function localiseTimes(root = document) {
  const formatters = {};
  for (const node of root.querySelectorAll("[data-local-time]")) {
    const style = node.dataset.localTime in FORMATS ? node.dataset.localTime : "datetime";
    const at = momentOf(node);
    if (!at) continue;
    formatters[style] ??= new Intl.DateTimeFormat(undefined, FORMATS[style]);
    node.textContent = formatters[style].format(at);
  }
}

try {
  localiseTimes();
} catch {
  // An old browser without Intl options keeps the readable UTC text.
}
