// Small helpers: building elements, names and people's words in a <bdi>, sentences, and the two
// lines that speak (the screen reader's announcer, the form's status).

import { names, vocab } from "./state.js";

export const $ = (id) => document.getElementById(id);

export function el(tag, attrs = {}, ...children) {
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
export function bdi(text) {
  return el("bdi", { text: String(text ?? "") });
}

// A sentence as DOM parts, to append or replaceChildren with: sentence`${bdi(name)} is here`
export function sentence(strings, ...values) {
  return strings.flatMap((s, i) => (i < values.length ? [s, values[i]] : [s])).flat(Infinity).filter((p) => p !== "");
}

// The words of some parts, for the screen reader announcer (bdi is transparent to it).
export function plain(parts) {
  return [parts].flat(Infinity).map((p) => (p instanceof Node ? p.textContent : String(p ?? ""))).join("");
}

export function nameOf(seat) {
  return dom(vocab.name(seat));
}

export function namesOf(seats) {
  return seats.flatMap((seat, i) => (i ? [" and ", bdi(names[seat])] : [bdi(names[seat])]));
}

export function stepTitle(exercise, step) {
  return vocab.stepTitle(exercise, step);
}

// The vocabulary's parts as DOM parts: a name or a person's words in a <bdi>, as textContent.
export function dom(parts) {
  return (parts || []).map((p) => (typeof p === "string" ? p : bdi(p.bdi)));
}

// Messages that arrive together (an answer, then the new turn) are read out together.
let announceTimer = null;
let announceQueue = [];
export function announce(parts) {
  announceQueue.push(plain(parts));
  if (announceTimer) return;
  announceTimer = setTimeout(() => {
    $("announcer").textContent = announceQueue.join(" ");
    announceQueue = [];
    announceTimer = null;
  }, 150);
}

let statusTimer = null;
export function status(text, fade = false) {
  $("form-status").textContent = text || "";
  clearTimeout(statusTimer);
  if (fade) statusTimer = setTimeout(() => { $("form-status").textContent = ""; }, 3000);
}

export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}
