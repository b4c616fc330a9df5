// The gentle hints' rule, written twice: here and in couples/exercises/inputs.hints_for
// (tests/review/test_hint_rule.py runs this file's wordsOf and hintsFor against it).

import { el } from "./dom.js";

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

export function withGentleHints(field, id, control) {
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
