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
//
// The room's parts are in static/js/room/: connection.js (the socket's events, joining, live
// messages) sets the rest going; socket.js sends the actions; stage.js renders the engine's view,
// with forms.js, partner.js, close.js, endings.js; timeline.js and presence.js; timers.js,
// safety.js (the safety bar) and observer-chart.js (the therapist's). Shared: state.js, dom.js.

import "./room/connection.js";
import "./room/timers.js";
import "./room/safety.js";
import "./room/observer-chart.js";
import { room } from "./room/state.js";

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
