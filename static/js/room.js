// The live practice room: joins the session over Socket.IO, renders what the server's engine says
// this viewer sees (engine.view), and sends actions with client-generated ids.
//
// Resuming (see docs/protocol.md):
// - A dropped connection: socket.io reconnects, we rejoin with the last seq we applied, apply the
//   missed events in order, then resend every unacknowledged action with its original id (the
//   server answers a repeated id with the original result and changes nothing).
// - A page reload: nothing private is kept in browser storage (no text, no pending actions, not
//   even seq numbers), so the page joins from seq 0 and rebuilds its timeline from the server's log.
//   An action that had not been acknowledged before the reload is not resent: its words were held
//   only in memory. The partner sees the server's state and can answer again if it never arrived.

import { io } from "../vendor/socket.io.esm.min.js";
import { ratingsFrom, sessionChart, trimIso } from "./charts.js";
import { vocabulary } from "./vocabulary.js";

const config = JSON.parse(document.getElementById("room-config").textContent);
const $ = (id) => document.getElementById(id);
const observer = config.role === "therapist";
const me = config.role;
const partnerSeat = me === "a" ? "b" : "a";
const names = config.partners;
// The log's sentences, step titles and answers: the server's vocabulary (review/vocabulary.py),
// so the room reads exactly as the transcript does.
const vocab = vocabulary(config.sentences, { viewer: me, names, steps: config.steps, measures: config.measures });

const room = {
  view: null,
  lastSeq: 0,
  events: [],
  presence: null,
  clockOffset: 0, // server time minus local time, in ms: countdowns use the server's clock
  pending: new Map(), // action id -> {payload, done}: in memory only
  joined: false,
  buffer: [], // live messages that arrive while a join is in flight
  formKey: null,
  fatal: "", // once set, why this page stopped: it will not reconnect
  chart: null,
  limited: 0, // connects refused in a row as too many (rate_limited): the wait before the next grows
};

// --------------------------------------------------------------------------- small helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A name or a person's own words inside a sentence goes in a <bdi> (as textContent): a name in a
// right-to-left script, or an old one holding a direction override, cannot reorder the sentence.
function bdi(text) {
  return el("bdi", { text: String(text ?? "") });
}

// A sentence as DOM parts, to append or replaceChildren with: sentence`${bdi(name)} is here`
function sentence(strings, ...values) {
  return strings.flatMap((s, i) => (i < values.length ? [s, values[i]] : [s])).flat(Infinity).filter((p) => p !== "");
}

// The words of some parts, for the screen reader announcer (bdi is transparent to it).
function plain(parts) {
  return [parts].flat(Infinity).map((p) => (p instanceof Node ? p.textContent : String(p ?? ""))).join("");
}

function nameOf(seat) {
  return dom(vocab.name(seat));
}

function namesOf(seats) {
  return seats.flatMap((seat, i) => (i ? [" and ", bdi(names[seat])] : [bdi(names[seat])]));
}

function stepTitle(exercise, step) {
  return vocab.stepTitle(exercise, step);
}

// The vocabulary's parts as DOM parts: a name or a person's words in a <bdi>, as textContent.
function dom(parts) {
  return (parts || []).map((p) => (typeof p === "string" ? p : bdi(p.bdi)));
}

function newId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function serverNow() {
  return Date.now() + room.clockOffset;
}

function setClock(serverIso) {
  const t = Date.parse(trimIso(serverIso));
  if (!Number.isNaN(t)) room.clockOffset = t - Date.now();
}

// Messages that arrive together (an answer, then the new turn) are read out together.
let announceTimer = null;
let announceQueue = [];
function announce(parts) {
  announceQueue.push(plain(parts));
  if (announceTimer) return;
  announceTimer = setTimeout(() => {
    $("announcer").textContent = announceQueue.join(" ");
    announceQueue = [];
    announceTimer = null;
  }, 150);
}

let statusTimer = null;
function status(text, fade = false) {
  $("form-status").textContent = text || "";
  clearTimeout(statusTimer);
  if (fade) statusTimer = setTimeout(() => { $("form-status").textContent = ""; }, 3000);
}

// --------------------------------------------------------------------------- connection

const CONNECTION_TEXT = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting… Your answers are kept and sent when we are back.",
  offline: "Offline. We will reconnect when your connection returns.",
};

/** The connection line; `link` ({href, text}) is the one step that helps, when there is one. */
function setConnection(kind, text, link) {
  const box = $("connection");
  box.className = `conn conn-${kind}`;
  $("connection-text").textContent = text || CONNECTION_TEXT[kind];
  const a = $("connection-link");
  a.hidden = !link;
  a.textContent = link ? link.text : "";
  if (link) a.href = link.href;
  else a.removeAttribute("href");
}

const LOG_IN_AGAIN = { href: config.login_url, text: "Log in again" };
const RELOAD = { href: location.pathname, text: "Reload the page" };
const HOME = { href: config.home_url, text: observer ? "Back to your couples" : "Back to practice" };

// WebSocket only: the server refuses long-polling (docs/protocol.md §1, docs/security.md).
const socket = io({ transports: ["websocket"], reconnectionDelay: 500, reconnectionDelayMax: 4000, timeout: 8000 });

socket.on("connect", () => {
  room.limited = 0;
  join();
});
socket.on("disconnect", (reason) => {
  room.joined = false;
  room.presence = null; // unknown until we are back: never show a stale "is here"
  renderPresence();
  // After stop() our own disconnect lands here too: keep its message, we are not coming back.
  if (room.fatal) return;
  if (reason === "io server disconnect") {
    stop("The connection was closed by the server. Please reload the page to continue.", RELOAD);
  } else {
    setConnection(navigator.onLine ? "reconnecting" : "offline");
  }
});
socket.io.on("reconnect_attempt", () => {
  if (!room.fatal) setConnection(navigator.onLine ? "reconnecting" : "offline");
});
socket.on("connect_error", (err) => {
  if (room.fatal) return;
  // The server's refusal carries its code in err.data (docs/protocol.md §1).
  const code = err && err.data && err.data.code;
  if (code === "rate_limited") {
    // Too many connections of this person (or from this address) just now: not a reason to stop,
    // but the client will not retry a refusal by itself. Try again later, a little later each time.
    room.limited += 1;
    const wait = Math.min(60000, 5000 * 2 ** Math.min(room.limited - 1, 4)) * (0.75 + Math.random() / 2);
    setConnection("reconnecting", "Too many connections just now. Trying again shortly…");
    setTimeout(() => {
      if (!room.fatal && !socket.connected) socket.connect();
    }, wait);
    return;
  }
  if (code === "unauthenticated" || !socket.active) stop("We could not connect. Please log in again, then come back to this page.", LOG_IN_AGAIN);
  else setConnection(navigator.onLine ? "reconnecting" : "offline");
});
socket.on("revoked", (msg) => {
  const cause = (msg && msg.cause) || (msg && msg.reason);
  if (cause === "logged_out") {
    stop("You have been logged out. Please log in again to continue.", LOG_IN_AGAIN);
    return;
  }
  // Every other cause is a dead end: say what happened and what can be done next (docs/protocol.md §2).
  const told = deadEnd(cause);
  stop(plain(told.line), null);
  showDeadEnd(told);
});
// Around the room, not in it: a partner removed the therapist's access (the partners stay).
socket.on("notice", (msg) => {
  if (!msg || msg.session_id !== config.session_id || msg.cause !== "link_removed" || observer) return;
  const who = msg.by === me ? "You" : bdi(names[msg.by]);
  const parts = sentence`${who} removed ${bdi(msg.therapist)}'s access. ${bdi(msg.therapist)} can no longer watch or read your sessions.`;
  const box = el("p", { class: "room-notice", id: "room-notice", role: "status" }, parts, " ",
    el("a", { href: "/dashboard", text: "Who can see your data" }));
  const old = $("room-notice");
  if (old) old.replaceWith(box);
  else $("presence").after(box);
  announce(parts);
});
// One message per change: the events this viewer may see, in order, then its new view if any.
// Its last_seq is how far our log should now go: short of it, we missed a message.
socket.on("update", (msg) => {
  for (const ev of msg.events || []) live({ kind: "event", ev: { ...ev, session_id: msg.session_id } });
  live({ kind: "view", msg: { session_id: msg.session_id, view: msg.view, last_seq: msg.last_seq } });
});
socket.on("presence", (msg) => {
  if (msg.session_id === config.session_id) {
    room.presence = msg.presence;
    renderPresence();
  }
});
window.addEventListener("offline", () => setConnection("offline"));
window.addEventListener("online", () => {
  if (!socket.connected && !room.fatal) {
    setConnection("reconnecting");
    if (!socket.active) socket.connect();
  }
});

// --------------------------------------------------------------------------- dead ends

/** Why the session ended, from its session_ended event, and where to go from here. */
function endedPanel() {
  const ended = [...room.events].reverse().find((ev) => ev.type === "session_ended");
  const d = (ended && ended.data) || {};
  let why;
  if (d.reason === "ended_by_partner" && d.by === me) why = "You ended the session.";
  else if (d.reason === "ended_by_partner" && d.by) why = sentence`${bdi(names[d.by])} ended the session.`;
  else if (d.reason === "rescheduled") why = observer ? "The partners chose to continue another time." : "You chose to continue another time.";
  else if (d.reason === "continue_another_day") why = "The break went on for a long time, so the session ended, to continue another day.";
  else why = "The session has ended.";
  const next = observer
    ? "Everything that happened is in the transcript, with your private notes."
    : d.by && d.by !== me
      ? "Stopping is always all right. What you both shared is kept in the transcript, and you can start again whenever you both feel ready."
      : "What you both shared is kept in the transcript. You can start again whenever you both feel ready.";
  return el("div", { class: "ended-panel", id: "ended-panel" },
    el("p", { class: "ended-why" }, why), el("p", {}, next),
    el("p", { class: "button-row" }, el("a", { href: config.transcript_url, class: "button button-primary", text: "Read the transcript" }),
      el("a", { href: config.home_url, text: observer ? "Back to your couples" : "Back to practice" })));
}

const HELP = { href: "/help", text: "Where to find support" };
const TRANSCRIPT = { href: config.transcript_url, text: "Read what you did together" };
const DASHBOARD = { href: "/dashboard", text: "Go to your dashboard" };
const COUPLES = { href: config.home_url, text: "Back to your couples" };

/** What a cut socket's `cause` means for this viewer: a short line, a title, the words and the
 * next steps. `clear`: the couple's content leaves this page (a therapist whose access ended). */
function deadEnd(cause) {
  const other = bdi(names[partnerSeat]);
  if (observer) {
    if (cause === "link_removed") {
      return { line: "Your access to this couple was removed.", title: "Your access was removed", clear: true,
        words: ["One of the partners removed your access to their couple, so their session is no longer shown here. They can link you again with your share code if they wish."],
        links: [COUPLES] };
    }
    if (cause === "couple_ended") {
      return { line: "This couple has ended.", title: "This couple has ended", clear: true,
        words: ["One of the partners ended the couple, so your access to it ended too and their session is no longer shown here."],
        links: [COUPLES] };
    }
    return { line: "You no longer have access to this session.", title: "You no longer have access", clear: true,
      words: ["This session is no longer shown here."], links: [COUPLES] };
  }
  if (cause === "partner_left") {
    return { line: sentence`${bdi(names[partnerSeat])} has left the couple.`, title: sentence`${other} has left the couple`,
      words: [sentence`${bdi(names[partnerSeat])} ended your couple, so this session has ended and you cannot practise together here any more.`,
        "What you did together stays yours to read. This can be hard to take in: you do not have to work it out alone."],
      links: [TRANSCRIPT, HELP, DASHBOARD] };
  }
  if (cause === "partner_deleted") {
    return { line: sentence`${bdi(names[partnerSeat])} deleted their account.`, title: sentence`${other} deleted their account`,
      words: ["Deleting an account ends the couple, so this session has ended and you cannot practise together here any more.",
        "What you shared with each other stays yours to read. This can be hard to take in: you do not have to work it out alone."],
      links: [TRANSCRIPT, HELP, DASHBOARD] };
  }
  if (cause === "left_couple") {
    return { line: "You left the couple.", title: "You left the couple",
      words: ["Your couple has ended, so this session has ended too. What you did together stays yours to read."],
      links: [TRANSCRIPT, DASHBOARD] };
  }
  if (cause === "account_deleted") {
    return { line: "Your account was deleted.", title: "Your account was deleted",
      words: ["This page can no longer show the session. Thank you for the care you put into it."],
      links: [{ href: "/", text: "Go to the start page" }] };
  }
  return { line: "You no longer have access to this session.", title: "You no longer have access to this session",
    words: ["Your couple or your access to it has changed. Your dashboard shows where things stand now."],
    links: [DASHBOARD] };
}

/** The explanation of a dead end, in place of the room's controls: what happened, what next. */
function showDeadEnd(told) {
  const links = el("ul", { class: "dead-end-links" }, told.links.map((l) => el("li", {}, el("a", { href: l.href, text: l.text }))));
  const card = el("section", { class: "card dead-end", id: "dead-end", "aria-labelledby": "dead-end-title" },
    el("h2", { id: "dead-end-title", tabindex: "-1" }, told.title), told.words.map((w) => el("p", {}, w)), links);
  const old = $("dead-end");
  if (old) old.remove();
  if (told.clear) clearCoupleContent();
  else {
    // The stage and its controls can no longer act: only the log stays, theirs to read.
    for (const node of $("room").children) {
      if (!node.classList.contains("room-head") && !node.contains($("timeline"))) node.hidden = true;
    }
  }
  $("room").querySelector(".room-head").after(card);
  $("dead-end-title").focus();
  announce(plain(told.title));
}

/** A therapist whose access ended: nothing of the couple stays on this page (names, the log,
 * the chart, the stage, the notes), at once. The elements stay, empty and hidden, for the timers. */
function clearCoupleContent() {
  room.view = null;
  room.events = [];
  if (room.chart) room.chart.update([]);
  room.chart = null;
  $("room").querySelector("h1").textContent = "Observing";
  for (const id of ["presence", "timeline", "prompt", "turn", "step-title", "exercise-name", "action-area", "live-table", "suggestions"]) {
    if ($(id)) $(id).replaceChildren();
  }
  for (const node of $("room").children) {
    if (!node.classList.contains("room-head")) node.hidden = true;
  }
}

/** The end of this page's connection: it will not reconnect, and says why and what to do. */
function stop(message, link) {
  room.fatal = message;
  room.joined = false;
  setConnection("offline", message, link);
  status(room.pending.size ? "Your last answer was not sent." : "");
  // Nothing here can be sent any more: the controls say so by being off, rather than by failing
  // when pressed. The message above says what to do next.
  document.querySelectorAll("#safety-bar :is(button, textarea), #action-area :is(button, input, textarea, select)")
    .forEach((control) => { control.disabled = true; });
  if ($("end-confirm")) $("end-confirm").hidden = true;
  $("turn").textContent = ""; // not "Your turn." on a page that can no longer take it
  $("room").classList.add("room-stopped");
  socket.disconnect();
}

function join() {
  if (room.fatal) return;
  room.joined = false;
  setConnection(room.lastSeq ? "reconnecting" : "connecting", room.lastSeq ? "Catching up…" : undefined);
  socket.timeout(10000).emit("join", { session_id: config.session_id, last_seq: room.lastSeq }, (err, ack) => {
    if (err) {
      socket.disconnect().connect(); // no answer: start the connection again
      return;
    }
    if (!ack.ok && ack.error.code === "rate_limited") {
      setTimeout(() => {
        if (socket.connected && !room.joined) join();
      }, 5000); // this person sent too much at once: join again shortly
      return;
    }
    if (!ack.ok) {
      stop(ack.error.message, HOME);
      return;
    }
    const snap = ack.snapshot;
    setClock(snap.server_now);
    const catchingUp = room.lastSeq > 0;
    for (const ev of ack.events) applyEvent(ev, catchingUp);
    room.presence = snap.presence;
    renderPresence();
    setView(snap.view, snap.last_seq);
    room.joined = true;
    const buffered = room.buffer;
    room.buffer = [];
    buffered.forEach(live);
    setConnection("connected");
    resendPending();
  });
}

/** A live message: applied in seq order; a gap means we missed something, so rejoin. */
function live(msg) {
  if (!room.joined) {
    room.buffer.push(msg);
    return;
  }
  if (msg.kind === "event") {
    const ev = msg.ev;
    if (ev.session_id && ev.session_id !== config.session_id) return;
    if (ev.seq <= room.lastSeq) return;
    if (ev.seq > room.lastSeq + 1) {
      join();
      return;
    }
    applyEvent(ev, true);
  } else {
    const { view, last_seq: seq } = msg.msg;
    if (msg.msg.session_id && msg.msg.session_id !== config.session_id) return;
    if (seq > room.lastSeq) {
      join(); // events we never received (e.g. a reply lost in an outage): the join brings them
      return;
    }
    if (seq < room.lastSeq || !view) return; // an older view than the events we have
    setView(view, seq);
  }
}

setInterval(() => {
  if (!room.joined) return;
  socket.timeout(5000).emit("heartbeat", { session_id: config.session_id }, (err, ack) => {
    if (!err && ack && ack.ok) setClock(ack.server_now);
  });
}, 20000);

// --------------------------------------------------------------------------- actions

function act(kind, step, data, done) {
  const id = newId();
  room.pending.set(id, { payload: { session_id: config.session_id, id, kind, step, data }, done });
  send(id);
}

function send(id) {
  const entry = room.pending.get(id);
  if (!entry) return;
  clearTimeout(entry.timer);
  if (room.fatal) {
    status(`This page is no longer connected, so your answer was not sent. ${room.fatal}`);
    return;
  }
  if (!room.joined) {
    status("Not connected right now. Your answer is kept and will be sent when we reconnect.");
    return;
  }
  socket.timeout(15000).emit("action", entry.payload, (err, ack) => {
    if (err) return; // no answer yet: it stays pending and is resent after the next (re)join
    if (!room.pending.has(id)) return;
    if (!ack.ok && RETRY_CODES.has(ack.error && ack.error.code)) {
      // "Not now", not "no": the same id again shortly. If the first try was in fact saved,
      // the server answers "already received" and brings both pages up to date.
      entry.tries = (entry.tries || 0) + 1;
      status("We could not save that just now. Trying again…");
      clearTimeout(entry.timer);
      entry.timer = setTimeout(() => send(id), Math.min(15000, 1000 * 2 ** Math.min(entry.tries, 4)));
      return;
    }
    room.pending.delete(id);
    if (entry.done) entry.done(ack);
  });
}

// Answers that mean the server could not act on it yet (its database was unreachable, the
// session was busy, or this person sent too much at once): kept and resent with the same id, so
// it is saved once, whenever it can be.
const RETRY_CODES = new Set(["unavailable", "busy", "rate_limited"]);

function resendPending() {
  for (const id of room.pending.keys()) send(id);
}

// --------------------------------------------------------------------------- events and timeline

function applyEvent(ev, fresh) {
  if (ev.seq <= room.lastSeq) return;
  room.lastSeq = ev.seq;
  room.events.push(ev);
  const line = describe(ev);
  if (line) {
    $("timeline").append(line);
    $("timeline-empty").hidden = true;
  }
  if (fresh) announceEvent(ev);
  if (fresh && ev.type === "timer_fired") timeIsUp(ev);
  if (room.chart && ev.type === "step_submitted") updateChart();
}

function answersList({ texts, ratings }) {
  return [
    texts.length ? el("dl", { class: "answers" }, texts.map(([label, shown]) => [el("dt", { text: label }), el("dd", { dir: "auto", text: String(shown) })])) : null,
    ratings.length ? el("ul", { class: "rating-badges" }, ratings.map(([label, value]) => el("li", {}, `${label}: `, el("strong", { text: String(value) })))) : null,
  ];
}

function timeOf(iso) {
  const t = new Date(Date.parse(trimIso(iso)));
  return el("time", { datetime: iso, text: t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) });
}

// One entry of the timeline, worded and laid out as on the transcript page.
function describe(ev) {
  const entry = vocab.entry(ev);
  if (!entry) return null;
  if (entry.sentence) {
    return el("li", { class: "entry entry-system", "data-seq": ev.seq },
      el("p", { class: "entry-head" }, timeOf(ev.at), " ", el("span", {}, dom(entry.sentence))));
  }
  return el("li", { class: `entry entry-${entry.seat}`, "data-seq": ev.seq },
    el("p", { class: "entry-head" }, timeOf(ev.at), " ", el("strong", {}, dom(entry.who)), " ", el("span", { text: entry.title })),
    answersList(entry));
}

function announceEvent(ev) {
  const parts = vocab.announcement(ev);
  if (parts) announce(dom(parts));
}

// --------------------------------------------------------------------------- presence

function renderPresence() {
  const p = room.presence;
  const list = $("presence");
  list.replaceChildren();
  if (!p) return;
  const seats = observer ? ["a", "b"] : [partnerSeat];
  for (const seat of seats) {
    const here = p[seat] && p[seat].online;
    list.append(el("li", { class: here ? "here" : "away" },
      el("span", { class: "dot", "aria-hidden": "true" }),
      here ? sentence`${bdi(names[seat])} is here` : sentence`${bdi(names[seat])} is not connected right now`));
  }
  if (!observer && p.therapist && p.therapist.observing) {
    list.append(el("li", { class: "therapist" }, el("span", { class: "dot", "aria-hidden": "true" }), "Your therapist is observing"));
  }
}

// --------------------------------------------------------------------------- the stage

const PHASE_TITLES = {
  safety: "A private question first",
  hold: "Not today",
  ready: "Choose an exercise",
  ended: "The session has ended",
};

function turnText(v) {
  if (v.phase === "ended") return "";
  if (v.paused) return v.paused_by === me ? "You paused the session." : sentence`${nameOf(v.paused_by)} paused the session.`;
  const waiting = v.waiting_for || [];
  if (observer) {
    if (!waiting.length) return v.deadline_at ? "The partners are on a break." : "";
    if (v.either) return sentence`Either ${namesOf(waiting).map((p) => (p === " and " ? " or " : p))} answers, for both.`;
    return sentence`Waiting for ${namesOf(waiting)}.`;
  }
  if (v.your_turn) {
    // Say exactly who decides: one answer for both, or each their own.
    if (v.either) return "Your turn: either of you answers, for you both. The first answer is kept.";
    return waiting.length > 1 ? "Your turn (you both answer this one)." : "Your turn.";
  }
  if (v.phase === "exercise" && !waiting.length) return v.deadline_at ? "You are both on a break." : "";
  if (waiting.includes(partnerSeat)) return sentence`${bdi(names[partnerSeat])}'s turn.`;
  return "";
}

function setView(view) {
  room.view = view;
  if (view.server_now) setClock(view.server_now);
  const v = view;
  $("exercise-name").textContent = v.exercise_title ? `${v.exercise_title}${v.round > 1 ? ` · round ${v.round}` : ""}` : "";
  $("step-count").textContent = v.step_number && !v.paused ? `Step ${v.step_number} of ${v.step_count}` : "";
  $("step-title").textContent = v.paused ? "Paused" : v.step_title || PHASE_TITLES[v.phase] || "";
  $("turn").replaceChildren(...[turnText(v)].flat());
  $("prompt").replaceChildren(...promptParts(v));
  renderPartnerWords(v);
  renderClose(v);
  // Server-rendered in room.html: who else sees the private answer, and help on "not today".
  if ($("safety-audience")) $("safety-audience").hidden = v.phase !== "safety" || !v.your_turn;
  $("crisis-help").hidden = v.phase !== "hold";
  $("held-note").hidden = !v.held || v.phase === "ready"; // when choosing, the prompt says it
  renderSuggestions(v);
  tick();
  renderSafetyBar(v);

  renderBreathing();
  const key = JSON.stringify([v.phase, v.step_id, v.your_turn, v.paused, v.paused && v.ready[me],
    (v.input || []).map((f) => f.name), v.can_start, v.can_timeout, v.suggest_timeout]);
  if (key !== room.formKey) {
    const active = document.activeElement;
    const hadFocus = $("action-area").contains(active) || active === document.body || active === $("step-title");
    const firstRender = room.formKey === null;
    room.formKey = key;
    renderActions(v);
    if (!firstRender && !observer) {
      if (v.your_turn) announce(`Your turn: ${$("step-title").textContent}.`);
      if (hadFocus) showStep();
    }
  }
}

/** A new step: its title takes the focus (one Tab on is the first field), and on a small screen
 * the whole stage comes into view below the sticky bar, when it was not. */
function showStep() {
  $("step-title").focus({ preventScroll: true });
  const bar = $("safety-bar") && !$("safety-bar").hidden ? $("safety-bar") : null;
  const box = $("stage").getBoundingClientRect();
  if (box.top >= (bar ? bar.getBoundingClientRect().bottom : 0) && box.bottom <= window.innerHeight) return;
  // Once scrolled there, the sticky bar sits at the top: the stage goes just under it.
  window.scrollTo({ top: window.scrollY + box.top - (bar ? bar.offsetHeight : 0) });
}

// The engine's prompt may hold slots the page fills: {caller}, a partner's name, and {return_at},
// the break's end in this reader's own local time (the server knows neither).
function promptParts(v) {
  const slots = v.prompt_slots || {};
  return (v.prompt || "").split(/(\{caller\}|\{return_at\})/).filter((p) => p !== "").map((piece) => {
    if (piece === "{caller}") return slots.caller ? bdi(names[slots.caller]) : "Your partner";
    if (piece === "{return_at}") return slots.return_at ? localClock(slots.return_at) : "the agreed time";
    return piece;
  });
}

// "19:45", "00:10 tomorrow" or "07:30 on Tuesday", in the reader's locale and time zone.
function localClock(iso) {
  const t = new Date(Date.parse(trimIso(iso)));
  const time = t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const today = new Date(serverNow());
  const tomorrow = new Date(today.getFullYear(), today.getMonth(), today.getDate() + 1);
  if (t.toDateString() === today.toDateString()) return time;
  if (t.toDateString() === tomorrow.toDateString()) return `${time} tomorrow`;
  return `${time} on ${t.toLocaleDateString([], { weekday: "long" })}`;
}

function renderSuggestions(v) {
  const list = $("suggestions");
  list.replaceChildren(...(v.suggestions || []).map((s) => el("li", { text: s })));
  list.hidden = !(v.suggestions || []).length;
}

function renderSafetyBar(v) {
  if (observer) return;
  const ended = v.phase === "ended";
  $("safety-bar").hidden = ended;
  const pause = $("pause-button");
  pause.disabled = Boolean(v.paused);
  pause.textContent = v.paused ? "Paused" : "Pause";
  $("pause-reason-box").hidden = Boolean(v.paused);
  // One press, from any step, any waiting screen and a pause: nothing is asked first.
  $("timeout-button").hidden = !v.can_timeout;
}

// Countdown from deadline_at and the server's clock, never the local clock alone.
function tick() {
  const v = room.view;
  const box = $("countdown");
  if (!v || !v.deadline_at || v.paused) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  // A step nobody answers is a break; any other step with a deadline is a timed turn.
  const label = (v.waiting_for || []).length ? "Time left for this step" : "Time left in the break";
  if ($("countdown-label").textContent !== label) $("countdown-label").textContent = label;
  const left = Math.max(0, Date.parse(trimIso(v.deadline_at)) - serverNow());
  const secs = Math.ceil(left / 1000);
  const h = Math.floor(secs / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const s = secs % 60;
  const pad = (n) => String(n).padStart(2, "0");
  $("countdown-time").textContent = secs > 0
    ? (h ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`)
    : "Time to come back";
}
setInterval(tick, 1000);

function renderActions(v) {
  const area = $("action-area");
  area.replaceChildren();
  status("");
  if (v.phase === "ended") {
    area.append(endedPanel());
    return;
  }
  if (observer) return;
  if (v.suggest_timeout) area.append(timeoutSuggestion());
  if (v.paused) {
    area.append(pausedPanel(v));
    return;
  }
  if (v.input && (v.your_turn || v.input.length)) {
    const kind = v.phase === "safety" ? "safety" : "submit";
    const logOnly = !v.your_turn; // a break: partners may note what helped, nothing is asked
    const form = stepForm(v.input, {
      kind,
      step: kind === "submit" ? v.step : null,
      submit: kind === "safety" ? "Send my private answer" : logOnly ? "Save this note" : "Share",
      idPrefix: `f${v.step_id}`,
      id: "step-form",
    });
    // Nothing is asked at a break: its notes wait, folded, for whoever wants them.
    area.append(logOnly ? el("details", { class: "log-form", id: "log-form" },
      el("summary", { text: "Note how you feel, or ask for longer (optional)" }), form) : form);
  }
  if (v.phase === "ready" && v.can_start) area.append(exerciseChooser(v));
}

function pausedPanel(v) {
  const mine = v.ready && v.ready[me];
  const box = el("div", { class: "paused-panel" });
  if (config.cycle) {
    box.append(el("p", { class: "cycle-note", id: "cycle-note" }, "Your cycle: ", el("strong", {}, bdi(config.cycle.name)), ". ",
      config.cycle.sign ? ["Early sign: ", bdi(config.cycle.sign), "."] : null));
  }
  if (v.pause_reason) box.append(el("p", { class: "muted" }, "Your private reason: ", bdi(v.pause_reason)));
  if (v.pause_check && !mine) {
    // The pause technique: name it, rate it, choose what next; every part optional.
    box.append(el("h3", { text: "A moment for yourself" }),
      el("p", { class: "muted", text: "If it helps: name what you feel, how strong it is, and what would help now. All of it is optional, and it stays private unless you choose to show it." }),
      stepForm(v.pause_check, { kind: "pause_check", step: null, submit: "Save", idPrefix: `pc${v.step_id}`, id: "pause-check-form" }));
  }
  if (!mine) {
    box.append(el("button", {
      type: "button", class: "button button-primary", id: "ready-button", text: "I'm ready to continue",
      onclick: (e) => {
        e.target.disabled = true;
        act("ready", null, {}, (ack) => handleAck(ack, null, e.target));
      },
    }));
  } else {
    box.append(el("p", {}, sentence`Waiting for ${bdi(names[partnerSeat])} to be ready too.`));
  }
  return box;
}

function exerciseChooser(v) {
  const list = el("ul", { class: "exercise-choices" });
  for (const ex of v.exercises || []) {
    if (ex.interrupts) continue; // the time-out has its own button, always in reach
    if (ex.options && ex.options.length) {
      // Exercises with a choice to make first (the greeting: morning or reunion) start from a form.
      list.append(el("li", {},
        el("h3", { text: ex.title }),
        el("p", { text: ex.summary }),
        aboutExercise(ex),
        stepForm(ex.options, {
          kind: "start_exercise", step: null, submit: "Start", idPrefix: `start-${ex.key}`,
          id: `start-${ex.key}`, extra: { exercise: ex.key },
          buttonAttrs: { "data-exercise": ex.key, "aria-label": `Start: ${ex.title}` },
        })));
      continue;
    }
    list.append(el("li", {},
      el("h3", { text: ex.title }),
      el("p", { text: ex.summary }),
      aboutExercise(ex),
      ...(ex.demanding && v.suggest_timeout
        // The choice is visible before pressing: this exercise asks a lot of a flooded body.
        ? [el("p", { class: "muted", text: "Your last rating was high, and this exercise asks a lot. A time-out first may help." })]
        : []),
      el("button", {
        type: "button", class: "button button-primary", "data-exercise": ex.key,
        "aria-label": `Start: ${ex.title}`, text: ex.demanding && v.suggest_timeout ? "Start anyway" : "Start",
        onclick: (e) => {
          e.target.disabled = true;
          const data = { exercise: ex.key, ...(ex.demanding && v.suggest_timeout ? { start_anyway: true } : {}) };
          act("start_exercise", null, data, (ack) => handleAck(ack, null, e.target));
        },
      })));
  }
  return el("div", { class: "chooser" }, list);
}

// How long it takes, and when not to use it (the catalogue's minutes and not_when).
function aboutExercise(ex) {
  return el("p", { class: "exercise-about" },
    ex.minutes ? el("span", { class: "exercise-minutes", text: `About ${plural(ex.minutes, "minute", "minutes")}.` }) : null,
    ex.minutes && ex.not_when ? " " : null,
    ex.not_when ? el("span", { class: "exercise-not-when" }, el("strong", { text: "Not when: " }), ex.not_when) : null);
}

// Shown only to the partner whose own last rating was 7 or more (the view says so privately).
function timeoutSuggestion() {
  return el("div", { class: "suggest-timeout", id: "suggest-timeout", role: "note" },
    el("p", { text: "Your last rating was high. A time-out can help your body settle before you go on." }),
    el("button", { type: "button", class: "button button-secondary", text: "Take a time-out now", onclick: callTimeout }));
}

function callTimeout(e) {
  const button = e && e.target;
  if (button) button.disabled = true;
  act("timeout", null, {}, (ack) => {
    if (button) button.disabled = false;
    if (ack.ok) announce("Your time-out has started.");
    else status(ack.error.message);
  });
}

// Breathing together: both screens count the same 4-in, 6-out phases from one server time.
function breathingPhase(b, now) {
  const elapsed = (now - Date.parse(trimIso(b.started_at))) / 1000;
  if (elapsed < 0 || elapsed >= b.seconds) return null;
  const cycle = b.inhale + b.exhale;
  const into = elapsed % cycle;
  return into < b.inhale
    ? { phase: "in", left: Math.ceil(b.inhale - into) }
    : { phase: "out", left: Math.ceil(cycle - into) };
}

function renderBreathing() {
  const box = $("breathing");
  const b = room.view && room.view.breathing;
  const now = serverNow();
  const p = b ? breathingPhase(b, now) : null;
  if (!p) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  if (box.dataset.phase !== p.phase) box.dataset.phase = p.phase;
  const words = p.phase === "in" ? "Breathe in" : "Breathe out";
  if ($("breathing-phase").textContent !== words) $("breathing-phase").textContent = words;
  $("breathing-count").textContent = String(p.left);
}
setInterval(renderBreathing, 100);

// --------------------------------------------------------------------------- the partner's words

// The steps the engine adds around every exercise: a check-in, who goes first, a check-out.
const AROUND = new Set(["suds_before", "choose_speaker", "suds_after"]);
const RUN_STARTS = new Set(["exercise_started", "roles_swapped"]);

/**
 * The words a step answers: in this run of the current exercise, the other partner's latest
 * entry since the responder's own last one, and before it, while each is one answer, up to three
 * more (a needs request's four parts, one step each), oldest first. From the log this viewer
 * may see, so a private answer never shows; no exercise is named here.
 */
function wordsToAnswer(v) {
  if (v.phase !== "exercise" || v.paused || !v.exercise) return null;
  const waiting = v.waiting_for || [];
  const responder = observer ? (waiting.length === 1 ? waiting[0] : null) : v.your_turn ? me : null;
  if (!responder) return null;
  const from = responder === "a" ? "b" : "a";
  const found = [];
  for (let i = room.events.length - 1; i >= 0 && found.length < 4; i -= 1) {
    const ev = room.events[i];
    const d = ev.data || {};
    if (RUN_STARTS.has(ev.type) && (ev.type === "roles_swapped" || d.exercise === v.exercise)) break;
    if (ev.type !== "step_submitted" || d.exercise !== v.exercise || AROUND.has(d.step) || d.step_id === v.step_id) continue;
    if (d.by === responder) break;
    const { texts } = vocab.answers(d.exercise, d.step, d.data);
    if (!texts.length) continue;
    if (found.length && (texts.length > 1 || found[0].texts.length > 1)) break;
    found.unshift({ seq: ev.seq, title: vocab.stepTitle(d.exercise, d.step), texts });
  }
  return found.length ? { from, entries: found } : null;
}

function renderPartnerWords(v) {
  const box = $("partner-words");
  const words = wordsToAnswer(v);
  box.hidden = !words;
  if (!words) {
    box.replaceChildren();
    return;
  }
  const key = `${words.from}:${words.entries.map((e) => e.seq).join(",")}`;
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.replaceChildren(
    el("h3", { class: "partner-words-title", id: "partner-words-title" }, sentence`${bdi(names[words.from])} wrote:`),
    // One flowing paragraph, each answer named: by its step when the step asked one thing (a
    // request's parts), else by its field.
    el("p", { class: "partner-entries" }, words.entries.flatMap(({ title, texts }) => (texts.length === 1 ? [[title, texts[0][1]]] : texts))
      .map(([label, shown]) => el("span", { class: "partner-entry" },
        el("span", { class: "partner-entry-step", text: `${label}: ` }),
        el("bdi", { class: "partner-entry-words", text: String(shown) })))));
}

// --------------------------------------------------------------------------- the close

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/** The exercise just finished, in phase ready: its completion event and its run's events. */
function lastCompleted() {
  for (let i = room.events.length - 1; i >= 0; i -= 1) {
    const ev = room.events[i];
    if (ev.type === "exercise_completed") {
      let start = i;
      while (start > 0 && !(room.events[start].type === "exercise_started" && room.events[start].data.exercise === ev.data.exercise)) start -= 1;
      return { done: ev, run: room.events.slice(start, i) };
    }
    if (["exercise_started", "exercise_abandoned", "session_ended"].includes(ev.type)) return null;
  }
  return null;
}

/** Each rating asked before and after (check-in, check-out), per partner: [[label, seat, before, after]]. */
function ratingChanges(run, exercise) {
  const at = { suds_before: {}, suds_after: {} };
  for (const ev of run) {
    const d = ev.data || {};
    if (ev.type !== "step_submitted" || !(d.step in at) || d.exercise !== exercise) continue;
    const kinds = vocab.stepInfo(d.exercise, d.step).kinds;
    for (const [name, value] of Object.entries(d.data || {})) {
      if (kinds[name] === "rating" && typeof value === "number") at[d.step][`${name}:${d.by}`] = value;
    }
  }
  const out = [];
  for (const [k, before] of Object.entries(at.suds_before)) {
    if (!(k in at.suds_after)) continue;
    const [name, seat] = k.split(":");
    out.push([config.measures[name] || name, seat, before, at.suds_after[k]]);
  }
  // Distress first, then the others by name; within one, this viewer's own first.
  const rank = (row) => `${row[0] === config.measures.suds ? 0 : 1}${row[0]}:${row[1] === me ? "0" : row[1]}`;
  return out.sort((x, y) => rank(x).localeCompare(rank(y)));
}

function renderClose(v) {
  const box = $("exercise-close");
  const last = v.phase === "ready" ? lastCompleted() : null;
  box.hidden = !last;
  if (!last) {
    box.replaceChildren();
    delete box.dataset.seq;
    return;
  }
  if (box.dataset.seq === String(last.done.seq)) return;
  box.dataset.seq = String(last.done.seq);
  const d = last.done.data;
  const title = (config.steps[d.exercise] || {}).title || d.exercise;
  const minutes = Math.max(1, Math.round((d.duration_seconds || 0) / 60));
  const answers = last.run.filter((ev) => ev.type === "step_submitted" && !AROUND.has(ev.data.step)).length;
  const who = observer ? [bdi(names.a), " and ", bdi(names.b)] : ["You"];
  const did = sentence`${who} finished ${title} together, in ${plural(minutes, "minute", "minutes")}${d.rounds > 1 ? `, over ${d.rounds} rounds` : ""}${answers ? `, with ${plural(answers, "answer", "answers")} shared` : ""}.`;
  const changes = ratingChanges(last.run, d.exercise).map(([label, seat, before, after]) => el("li", {},
    seat === me ? `Your ${label.toLowerCase()}` : sentence`${bdi(names[seat])}'s ${label.toLowerCase()}`,
    `: ${before} before, ${after} after`, before === after ? "." : ` (${after < before ? "down" : "up"} ${Math.abs(after - before)}).`));
  box.replaceChildren(...[
    el("h3", { id: "exercise-close-title", class: "exercise-close-title", text: observer ? "An exercise finished" : "Well done, both of you" }),
    el("p", {}, did),
    changes.length ? el("ul", { class: "close-ratings", "aria-label": "Ratings before and after" }, changes) : null,
    observer ? null : el("p", { class: "muted", text: "Take a moment with that before you choose what comes next." }),
  ].filter(Boolean));
}

// --------------------------------------------------------------------------- time is up

const BASE_TITLE = document.title;
let audio = null;

// Sound needs the page to have been touched once: the context is made on the first press.
function unlockAudio() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!audio && Ctx) audio = new Ctx();
  if (audio && audio.state === "suspended") audio.resume().catch(() => {});
}

/** A soft two-note tone, a second and a half long. */
function chime() {
  if (!audio || audio.state !== "running") return;
  const t = audio.currentTime;
  [[523.25, 0], [659.25, 0.4]].forEach(([frequency, at]) => {
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.type = "sine";
    tone.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, t + at);
    gain.gain.exponentialRampToValueAtTime(0.1, t + at + 0.05);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + at + 1.1);
    tone.connect(gain).connect(audio.destination);
    tone.start(t + at);
    tone.stop(t + at + 1.2);
  });
}

/** A step's timer ran out (the break's end, a timed turn's): said in the page title, with a
 * tone and a vibration where the device allows, so that someone away from the screen knows. */
function timeIsUp(ev) {
  const v = room.view;
  const wasBreak = v && v.step === ev.data.step && !(v.waiting_for || []).length;
  const words = wasBreak ? "The break is over" : "Time is up";
  document.title = `${words} · ${BASE_TITLE}`;
  if (observer) return;
  announce(`${words}.`);
  chime();
  if (navigator.vibrate && (!navigator.userActivation || navigator.userActivation.hasBeenActive)) navigator.vibrate([300, 150, 300]);
}

function seen() {
  if (document.title !== BASE_TITLE) document.title = BASE_TITLE;
}

for (const kind of ["pointerdown", "keydown"]) {
  document.addEventListener(kind, () => {
    unlockAudio();
    seen();
  }, { passive: true });
}

// --------------------------------------------------------------------------- unsent words

/** Typed but not sent (or sent and not yet acknowledged): leaving would lose it. Nothing is
 * kept in browser storage, so the browser's own "leave this page?" is the only guard. */
function unsentWords() {
  if (room.fatal) return false;
  if (room.pending.size) return true;
  const boxes = document.querySelectorAll('#action-area textarea, #action-area input[type="text"], #pause-reason');
  return Array.from(boxes).some((box) => box.value.trim() !== "");
}

window.addEventListener("beforeunload", (e) => {
  if (!unsentWords()) return;
  e.preventDefault();
  e.returnValue = "";
});

// --------------------------------------------------------------------------- generic forms

function hintFor(field) {
  if (field.kind === "minutes") {
    const hours = field.max / 60;
    return `Between ${plural(field.min, "minute", "minutes")} and ${Number.isInteger(hours) ? plural(hours, "hour", "hours") : plural(field.max, "minute", "minutes")}.`;
  }
  return null;
}

function fieldBlock(field, prefix) {
  const id = `${prefix}-${field.name}`;
  const hint = hintFor(field);
  const hintNode = hint ? el("p", { class: "hint", id: `${id}-hint`, text: hint }) : null;
  const error = el("p", { class: "error-message", id: `${id}-error`, hidden: true });
  const described = [hint ? `${id}-hint` : null].filter(Boolean).join(" ") || null;
  let control;
  switch (field.kind) {
    case "rating":
      control = radioGroup(field, id, [...Array(11).keys()].map((n) => [String(n), String(n)]), "scale", hintNode, error);
      break;
    case "choice":
      control = radioGroup(field, id, field.options.map((o) => [o, (field.labels || {})[o] || o]), "choices", hintNode, error);
      break;
    case "bool":
      // With a default (share with my partner) it is a switch, one line; without, a yes or no
      // that must be given.
      control = field.default === undefined
        ? radioGroup(field, id, [["true", "Yes"], ["false", "No"]], "choices", hintNode, error)
        : el("div", { class: "field checkbox", "data-field": field.name },
          el("input", { type: "checkbox", id, name: field.name, checked: field.default === true, "aria-describedby": described }),
          el("label", { for: id, text: field.label }), hintNode, error);
      break;
    case "feeling":
    case "need": // the same picker: suggested words, or one's own
      control = feelingPicker(field, id, hintNode, error);
      break;
    case "minutes":
      control = el("div", { class: "field", "data-field": field.name },
        el("label", { for: id, text: field.label }), hintNode, error,
        el("input", { id, name: field.name, type: "number", inputmode: "numeric", min: field.min, max: field.max,
          step: 5, value: field.default ?? "", required: field.required, "aria-describedby": described, class: "input-short" }));
      break;
    case "date": {
      const today = new Date(serverNow()).toISOString().slice(0, 10);
      control = el("div", { class: "field", "data-field": field.name },
        el("label", { for: id, text: field.label }), hintNode, error,
        el("input", { id, name: field.name, type: "date", min: today, required: field.required, "aria-describedby": described, class: "input-short" }));
      break;
    }
    default: {
      const long = (field.max_length || 1000) > 300;
      control = el("div", { class: "field", "data-field": field.name },
        el("label", { for: id, text: field.label }), hintNode, error,
        long
          ? el("textarea", { id, name: field.name, rows: 3, maxlength: field.max_length, required: field.required, "aria-describedby": described })
          : el("input", { id, name: field.name, type: "text", maxlength: field.max_length, required: field.required, "aria-describedby": described, autocomplete: "off" }));
    }
  }
  return field.hints && field.hints.length ? withGentleHints(field, id, control) : control;
}

// Gentle hints (view.input[].hints): shown under the field as the person types, read out politely;
// never an error, sending stays allowed. The same rule as couples/exercises/inputs.hints_for:
// any rule word or phrase appearing as whole words.
function wordsOf(text) {
  return (text || "").toLowerCase().replace(/\u2019/g, "'").match(/[\p{L}\p{N}]+(?:'[\p{L}\p{N}]+)*/gu) || [];
}

function hintsFor(field, text) {
  const said = wordsOf(text);
  return field.hints.filter((rule) => rule.words.some((phrase) => {
    const want = wordsOf(phrase);
    return want.length > 0 && said.some((_, i) => want.every((w, j) => said[i + j] === w));
  })).map((rule) => rule.hint);
}

function withGentleHints(field, id, control) {
  const live = el("p", { class: "hint hint-gentle", id: `${id}-gentle`, "aria-live": "polite" });
  const update = (e) => {
    if (typeof e.target.value !== "string") return;
    const text = hintsFor(field, e.target.value).join(" ");
    if (live.textContent !== text) live.textContent = text;
  };
  control.addEventListener("input", update);
  control.addEventListener("change", update);
  control.append(live);
  return control;
}

function radioGroup(field, id, options, style, hintNode, error) {
  const legendId = `${id}-legend`;
  const set = el("fieldset", { class: `field radios radios-${style}`, "data-field": field.name, "aria-describedby": hintNode ? `${id}-hint` : null },
    el("legend", { id: legendId, text: field.label }), hintNode, error);
  const row = el("div", { class: "radio-row" });
  options.forEach(([value, label], i) => {
    const optionId = `${id}-${i}`;
    row.append(el("div", { class: "radio" },
      el("input", { type: "radio", id: optionId, name: field.name, value, required: field.required && i === 0,
        checked: field.default !== undefined && String(field.default) === value }),
      el("label", { for: optionId, text: label })));
  });
  set.append(row);
  return set;
}

function feelingPicker(field, id, hintNode, error) {
  const set = el("fieldset", { class: "field radios radios-feelings", "data-field": field.name },
    el("legend", { text: field.label }), hintNode, error);
  const options = field.options || [];
  const common = (field.common || []).filter((word) => options.includes(word));
  const first = common.length ? common : options;
  const rest = options.filter((word) => !first.includes(word));
  const chip = (word) => {
    const optionId = `${id}-${options.indexOf(word)}`;
    return el("div", { class: "radio chip" },
      el("input", { type: "radio", id: optionId, name: field.name, value: word }),
      el("label", { for: optionId, text: word }));
  };
  // "More" ends the row of common words; opened, the rest follow below, and a box for one's own.
  const own = el("input", { type: "text", id: `${id}-own`, "data-own": field.name, maxlength: field.max_length || 40, autocomplete: "off" });
  set.append(el("div", { class: "radio-row" }, first.map(chip),
    el("details", { class: "more-words" },
      el("summary", { text: rest.length ? "Other words" : "Your own words" }),
      rest.length ? el("div", { class: "radio-row" }, rest.map(chip)) : null,
      el("div", { class: "own-word" }, el("label", { for: `${id}-own`, text: "In your own words" }), own))));
  return set;
}

function readField(form, field) {
  if (field.kind === "feeling" || field.kind === "need") {
    const own = form.querySelector(`[data-own="${field.name}"]`).value.trim();
    if (own) return own;
  }
  if (field.kind === "bool" && field.default !== undefined) {
    return form.querySelector(`input[name="${field.name}"]`).checked;
  }
  if (["rating", "choice", "bool", "feeling", "need"].includes(field.kind)) {
    const checked = form.querySelector(`input[name="${field.name}"]:checked`);
    if (!checked) return undefined;
    if (field.kind === "rating") return Number(checked.value);
    if (field.kind === "bool") return checked.value === "true";
    return checked.value;
  }
  const input = form.querySelector(`[name="${field.name}"]`);
  const raw = input.value.trim();
  if (!raw) return undefined;
  if (field.kind === "minutes") return Number(raw);
  return raw;
}

function stepForm(fields, { kind, step, submit, idPrefix, id, extra = {}, buttonAttrs = {} }) {
  const form = el("form", { class: "step-form stack", novalidate: true, id });
  const summary = el("div", { class: "error-summary", role: "alert", tabindex: "-1", hidden: true });
  form.append(summary, ...fields.map((f) => fieldBlock(f, idPrefix)));
  const button = el("button", { type: "submit", class: "button button-primary", text: submit, ...buttonAttrs });
  form.append(el("div", { class: "button-row" }, button));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = { ...extra };
    const errors = {};
    for (const f of fields) {
      const value = readField(form, f);
      if (value === undefined) {
        if (f.required && f.default === undefined) errors[f.name] = f.kind === "text" ? "Please write something here." : "Please choose one.";
        continue;
      }
      data[f.name] = value;
    }
    showErrors(form, summary, fields, errors, idPrefix);
    if (Object.keys(errors).length) return;
    button.disabled = true;
    button.textContent = "Sending…";
    const either = Boolean(room.view && room.view.either);
    act(kind, step, data, (ack) => {
      button.textContent = submit;
      handleAck(ack, { form, summary, fields, idPrefix, either }, button);
      if (ack.ok && kind === "submit" && room.view && !room.view.your_turn) {
        // A note at a break (nobody's turn): the form stays for the next one.
        form.reset();
        button.disabled = false;
      }
    });
  });
  return form;
}

function showErrors(form, summary, fields, errors, prefix) {
  const labels = Object.fromEntries(fields.map((f) => [f.name, f.label]));
  summary.replaceChildren();
  form.querySelectorAll(".field").forEach((node) => {
    node.classList.remove("field-error");
    const msg = node.querySelector(":scope > .error-message");
    if (msg) { msg.hidden = true; msg.textContent = ""; }
    node.querySelectorAll("input, textarea").forEach((i) => i.removeAttribute("aria-invalid"));
  });
  const names = Object.keys(errors);
  if (!names.length) {
    summary.hidden = true;
    return;
  }
  const items = [];
  for (const name of names) {
    const node = form.querySelector(`[data-field="${name}"]`);
    const message = String(errors[name]);
    if (node) {
      node.classList.add("field-error");
      const msg = node.querySelector(":scope > .error-message");
      msg.textContent = message;
      msg.hidden = false;
      const input = node.querySelector("input, textarea");
      node.querySelectorAll("input, textarea").forEach((i) => i.setAttribute("aria-invalid", "true"));
      const target = input ? input.id : null;
      items.push(el("li", {}, target ? el("a", { href: `#${target}`, text: `${labels[name] || name}: ${message}` }) : `${labels[name] || name}: ${message}`));
    } else {
      items.push(el("li", { text: message }));
    }
  }
  summary.append(el("h3", { class: "error-summary-title", text: "Please check your answer" }), el("ul", {}, items));
  summary.hidden = false;
  summary.focus();
}

function handleAck(ack, formParts, button) {
  if (ack.ok) {
    status(ack.duplicate ? "Already received." : "Sent.", true);
    return;
  }
  if (button) button.disabled = false;
  const err = ack.error || { message: "Something went wrong." };
  if (err.code === "stale_step" && formParts && formParts.either) {
    status("Your partner answered this step first, for you both. Here is the next one.");
    return;
  }
  if (formParts && err.fields && Object.keys(err.fields).length) {
    const flat = {};
    for (const [k, v] of Object.entries(err.fields)) flat[k] = Array.isArray(v) ? v.join(" ") : typeof v === "object" ? Object.values(v).flat().join(" ") : v;
    showErrors(formParts.form, formParts.summary, formParts.fields, flat, formParts.idPrefix);
  }
  status(err.message);
}

// --------------------------------------------------------------------------- pause and end

if (!observer) {
  $("timeout-button").addEventListener("click", callTimeout);
  $("pause-button").addEventListener("click", () => {
    const reasonBox = $("pause-reason");
    const reason = reasonBox.value.trim();
    const flag = $("pause-for-therapist");
    $("pause-button").disabled = true;
    act("pause", null, reason ? { reason, for_therapist: Boolean(flag && flag.checked) } : {}, (ack) => {
      if (ack.ok) {
        reasonBox.value = "";
        if (flag) flag.checked = false;
        $("pause-reason-box").open = false;
        announce("The session is paused.");
      } else {
        $("pause-button").disabled = false;
        status(ack.error.message);
      }
    });
  });
  $("end-button").addEventListener("click", () => {
    $("end-confirm").hidden = false;
    $("end-no").focus(); // the safe choice first: ending is one deliberate press away
  });
  $("end-no").addEventListener("click", () => {
    $("end-confirm").hidden = true;
    $("end-button").focus();
  });
  $("end-yes").addEventListener("click", () => {
    $("end-yes").disabled = true;
    act("end", null, {}, (ack) => {
      $("end-yes").disabled = false;
      $("end-confirm").hidden = true;
      if (!ack.ok) status(ack.error.message);
    });
  });
}

// --------------------------------------------------------------------------- the observer's chart

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

function updateChart() {
  room.chart.update(currentRatings());
  renderTable();
}

if (observer) {
  room.chart = sessionChart($("live-chart"), [], names, config.measures);
  renderTable();
}
