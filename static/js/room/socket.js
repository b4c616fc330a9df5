// The one Socket.IO connection, and the actions sent on it with client-generated ids: kept in
// memory until acknowledged, and resent with the same id after a rejoin (see room.js).

import { io } from "../../vendor/socket.io.esm.min.js";
import { config, room } from "./state.js";
import { status } from "./dom.js";

// WebSocket only: the server refuses long-polling (docs/protocol.md §1, docs/security.md).
export const socket = io({ transports: ["websocket"], reconnectionDelay: 500, reconnectionDelayMax: 4000, timeout: 8000 });

function newId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function act(kind, step, data, done) {
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

export function resendPending() {
  for (const id of room.pending.keys()) send(id);
}
