// A therapist's private note, saved without leaving the page: the live room and the transcript
// stay where they were. The same route as the form (review.add_note), asked for JSON, with the
// CSRF token in X-CSRFToken. Without JavaScript the form posts and the page comes back at #notes.

import { localiseTimes } from "./local-time.js";

const form = document.getElementById("note-form");
const list = document.getElementById("note-list");
const box = document.getElementById("note-body");
const said = document.getElementById("note-status");

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const button = form.querySelector("button[type=submit]");
  if (!box.value.trim()) {
    said.textContent = "A note needs some text.";
    box.focus();
    return;
  }
  button.disabled = true;
  said.textContent = "Saving…";
  try {
    const resp = await fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": form.elements.csrf_token.value },
    });
    const answer = await resp.json();
    if (!resp.ok) {
      said.textContent = (answer.error && answer.error.message) || "The note could not be saved. Please try again.";
      return;
    }
    list.append(noteItem(answer.note));
    list.hidden = false;
    box.value = "";
    said.textContent = answer.message;
  } catch {
    said.textContent = "The note could not be saved just now. Your text is still here: please try again.";
  } finally {
    button.disabled = false;
  }
});

function noteItem(note) {
  const time = document.createElement("time");
  time.className = "local-time";
  time.dateTime = note.created_at;
  time.dataset.localTime = "datetime";
  time.textContent = note.created_at;
  const body = document.createElement("p");
  body.className = "note-body";
  body.dir = "auto";
  body.textContent = note.body;
  const li = document.createElement("li");
  li.append(time, body);
  try {
    localiseTimes(li);
  } catch {
    // the ISO text stays
  }
  return li;
}
