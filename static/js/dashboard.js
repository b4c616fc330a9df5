// Dashboards that keep up: the partner's dashboard and practice page, the therapist's dashboard
// and couples page. Every few seconds (while the page is visible and has been used in the last
// quarter of an hour) we ask GET /api/v1/dashboard whether anything changed (a 304 says no); when
// it did, we say what in plain words (#live-notice) and redraw the page's live parts from the
// server's own rendering of it, so the words on the page are written once, in the templates.
// Why a poll and not a socket: couples/pairing/live.py.

import { localiseTimes } from "./local-time.js";

const root = document.getElementById("live");
const IDLE_AFTER = 15 * 60 * 1000; // then stop asking, so that an open page does not keep a login alive
let status = JSON.parse(root.dataset.status);
let version = root.dataset.version;
let lastUsed = Date.now();
let timer = null;
const every = Math.max(1, Number(root.dataset.every) || 4) * 1000;

for (const kind of ["pointerdown", "keydown", "scroll", "focus"]) {
  window.addEventListener(kind, () => {
    const wasIdle = Date.now() - lastUsed > IDLE_AFTER;
    lastUsed = Date.now();
    if (wasIdle) poll();
  }, { passive: true });
}
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) poll();
});

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(poll, every);
}

async function poll() {
  clearTimeout(timer);
  if (document.hidden || Date.now() - lastUsed > IDLE_AFTER) return; // resumed by the listeners above
  try {
    const resp = await fetch(root.dataset.url, {
      headers: { Accept: "application/json", "If-None-Match": `"${version}"` },
      credentials: "same-origin", cache: "no-store",
    });
    if (resp.status === 200) {
      const next = await resp.json();
      if (next.version !== version) await changed(status, next);
      status = next;
      version = next.version;
    }
  } catch {
    // Offline or the server restarting: ask again at the next turn.
  }
  schedule();
}

// --------------------------------------------------------------------------- what changed

function bdi(text) {
  const node = document.createElement("bdi");
  node.textContent = String(text ?? "");
  return node;
}

function pair(names) {
  return [bdi(names.a), " and ", bdi(names.b)];
}

/** Sentences (arrays of text and <bdi> names) saying what changed between two statuses. */
function partnerNews(old, next) {
  const news = [];
  if (old.couple && !next.couple) return [["Your couple has ended. Your past sessions stay yours to read."]];
  if (!old.couple || !next.couple) return news;
  const other = next.couple.me === "a" ? "b" : "a";
  const name = next.couple.partners[other] || old.couple.partners[other];
  if (!old.couple.partners[other] && next.couple.partners[other]) news.push([bdi(name), " joined your couple."]);
  for (const t of old.couple.therapists) {
    if (!next.couple.therapists.includes(t)) news.push([bdi(t), "'s access was removed. They can no longer see your couple."]);
  }
  for (const t of next.couple.therapists) {
    if (!old.couple.therapists.includes(t)) news.push([bdi(t), " can now see your couple: you both agreed."]);
  }
  if (!old.couple.held && next.couple.held) news.push(["Your therapist has paused joint practice for now."]);
  if (old.couple.held && !next.couple.held) news.push(["Your therapist opened joint practice again."]);
  const was = old.session;
  const now = next.session;
  if (now && (!was || was.id !== now.id)) {
    if (now.started_by === other) news.push([bdi(name), now.here[other] ? " started a session and is in the room now." : " started a session."]);
    else if (now.here[other]) news.push([bdi(name), " joined the session."]);
  } else if (now && was && !was.here[other] && now.here[other]) {
    news.push([bdi(name), " joined the session."]);
  }
  if (was && !now) news.push(["The session has ended. You can read it under your past sessions."]);
  return news;
}

function therapistNews(old, next) {
  const news = [];
  const before = new Map(old.couples.map((c) => [c.id, c]));
  const after = new Map(next.couples.map((c) => [c.id, c]));
  for (const [id, c] of before) if (!after.has(id)) news.push([...pair(c.partners), " are no longer linked to you."]);
  for (const [id, c] of after) {
    const was = before.get(id);
    if (!was) {
      news.push([...pair(c.partners), " linked you: you can now see their couple."]);
      continue;
    }
    if (c.session && (!was.session || was.session.id !== c.session.id)) news.push([...pair(c.partners), " started a session."]);
    if (was.session && !c.session) news.push([...pair(c.partners), "'s session has ended."]);
    if (c.unread > was.unread) news.push([...pair(c.partners), ": a new safety signal."]);
  }
  return news;
}

async function changed(old, next) {
  const news = next.role === "therapist" ? therapistNews(old, next) : partnerNews(old, next);
  const structural = next.role === "therapist"
    ? old.couples.map((c) => c.id).join() !== next.couples.map((c) => c.id).join()
    : Boolean(old.couple) !== Boolean(next.couple)
      || Object.keys((old.couple || {}).partners || {}).length !== Object.keys((next.couple || {}).partners || {}).length;
  const redrawn = await redraw(structural);
  tell(news, redrawn);
}

function tell(news, redrawn) {
  const box = document.getElementById("live-notice");
  if (!news.length && redrawn) return;
  const lines = news.map((parts) => {
    const p = document.createElement("p");
    p.append(...parts);
    return p;
  });
  if (!redrawn) {
    const p = document.createElement("p");
    const a = document.createElement("a");
    a.href = location.pathname;
    a.textContent = "Reload the page to see everything that changed";
    p.append(a, " (what you typed here would be lost).");
    lines.push(p);
  }
  box.replaceChildren(...lines);
}

// --------------------------------------------------------------------------- redrawing

/** Anything typed into a field of the live parts, which a redraw would lose. */
function typedIn(scope) {
  return Array.from(scope.querySelectorAll("input:not([type=hidden]), textarea"))
    .some((f) => (f.type === "checkbox" || f.type === "radio" ? f.checked !== f.defaultChecked : f.value !== f.defaultValue));
}

/** The page's live parts from the server's own rendering; false when typed text kept us from it. */
async function redraw(structural) {
  let html;
  try {
    const resp = await fetch(location.pathname, { headers: { Accept: "text/html" }, credentials: "same-origin", cache: "no-store" });
    if (!resp.ok || resp.redirected) return false;
    html = await resp.text();
  } catch {
    return false;
  }
  const fresh = new DOMParser().parseFromString(html, "text/html");
  const page = document.querySelector("[data-live-page]");
  const freshPage = fresh.querySelector("[data-live-page]");
  const keys = (doc) => Array.from(doc.querySelectorAll("[data-live]"), (n) => n.dataset.live).join();
  if (structural || keys(document) !== keys(fresh)) {
    if (!page || !freshPage || typedIn(page)) return false;
    swap(page, freshPage);
    return true;
  }
  let kept = true;
  for (const region of document.querySelectorAll("[data-live]")) {
    const next = fresh.querySelector(`[data-live="${CSS.escape(region.dataset.live)}"]`);
    if (!next) continue;
    if (typedIn(region)) kept = false;
    else swap(region, next);
  }
  return kept;
}

function swap(old, next) {
  const focused = old.contains(document.activeElement) && document.activeElement.id;
  const node = document.importNode(next, true);
  old.replaceWith(node);
  try {
    localiseTimes(node);
  } catch {
    // the server's UTC text stays
  }
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
}

schedule();
