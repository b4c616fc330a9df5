// Who is here: the presence list.

import { names, observer, partnerSeat, room } from "./state.js";
import { $, bdi, el, sentence } from "./dom.js";

export function renderPresence() {
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
