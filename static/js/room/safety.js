// The safety bar, always in a partner's reach: time-out, pause (with a private reason), end.

import { observer } from "./state.js";
import { $, announce, status } from "./dom.js";
import { act } from "./socket.js";

export function renderSafetyBar(v) {
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

export function callTimeout(e) {
  const button = e && e.target;
  if (button) button.disabled = true;
  act("timeout", null, {}, (ack) => {
    if (button) button.disabled = false;
    if (ack.ok) announce("Your time-out has started.");
    else status(ack.error.message);
  });
}

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
