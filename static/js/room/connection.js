// The connection's life: the socket's events, the connection line, joining (and rejoining from
// the last seq), live messages in seq order, the heartbeat, and stop(), when the page gives up.

import { config, me, names, observer, room, setClock } from "./state.js";
import { $, announce, bdi, el, plain, sentence, status } from "./dom.js";
import { resendPending, socket } from "./socket.js";
import { deadEnd, showDeadEnd } from "./endings.js";
import { renderPresence } from "./presence.js";
import { setView } from "./stage.js";
import { applyEvent } from "./timeline.js";

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
