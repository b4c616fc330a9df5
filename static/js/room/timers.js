// Time: the countdown on the server's clock, breathing together, and when a timer runs out, the
// alert (page title, tone, vibration).

import { trimIso } from "../charts.js";
import { observer, room, serverNow } from "./state.js";
import { $, announce } from "./dom.js";

// Countdown from deadline_at and the server's clock, never the local clock alone.
export function tick() {
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

export function renderBreathing() {
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
export function timeIsUp(ev) {
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
