// The room's shared state: this page's config (the server's, in room.html), who is viewing, the
// vocabulary, and `room`, what this page knows of the session; and the server's clock.

import { trimIso } from "../charts.js";
import { vocabulary } from "../vocabulary.js";

export const config = JSON.parse(document.getElementById("room-config").textContent);
export const observer = config.role === "therapist";
export const me = config.role;
export const partnerSeat = me === "a" ? "b" : "a";
export const names = config.partners;
// The log's sentences, step titles and answers: the server's vocabulary (review/vocabulary.py),
// so the room reads exactly as the transcript does.
export const vocab = vocabulary(config.sentences, { viewer: me, names, steps: config.steps, measures: config.measures });

export const room = {
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

export function serverNow() {
  return Date.now() + room.clockOffset;
}

export function setClock(serverIso) {
  const t = Date.parse(trimIso(serverIso));
  if (!Number.isNaN(t)) room.clockOffset = t - Date.now();
}
