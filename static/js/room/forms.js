// The step forms, built from the view's input fields: the fields, reading them, errors, acks.

import { room, serverNow } from "./state.js";
import { el, plural, status } from "./dom.js";
import { act } from "./socket.js";
import { withGentleHints } from "./hints.js";

function hintFor(field) {
  if (field.kind === "minutes") {
    const hours = field.max / 60;
    return `Between ${plural(field.min, "minute", "minutes")} and ${Number.isInteger(hours) ? plural(hours, "hour", "hours") : plural(field.max, "minute", "minutes")}.`;
  }
  return null;
}

function fieldBlock(field, prefix) {
  const id = `${prefix}-${field.name}`;
  const hint = hintFor(field);
  const hintNode = hint ? el("p", { class: "hint", id: `${id}-hint`, text: hint }) : null;
  const error = el("p", { class: "error-message", id: `${id}-error`, hidden: true });
  const described = [hint ? `${id}-hint` : null].filter(Boolean).join(" ") || null;
  let control;
  switch (field.kind) {
    case "rating":
      control = radioGroup(field, id, [...Array(11).keys()].map((n) => [String(n), String(n)]), "scale", hintNode, error);
      break;
    case "choice":
      control = radioGroup(field, id, field.options.map((o) => [o, (field.labels || {})[o] || o]), "choices", hintNode, error);
      break;
    case "bool":
      // With a default (share with my partner) it is a switch, one line; without, a yes or no
      // that must be given.
      control = field.default === undefined
        ? radioGroup(field, id, [["true", "Yes"], ["false", "No"]], "choices", hintNode, error)
        : el("div", { class: "field checkbox", "data-field": field.name },
          el("input", { type: "checkbox", id, name: field.name, checked: field.default === true, "aria-describedby": described }),
          el("label", { for: id, text: field.label }), hintNode, error);
      break;
    case "feeling":
    case "need": // the same picker: suggested words, or one's own
      control = feelingPicker(field, id, hintNode, error);
      break;
    case "minutes":
      control = el("div", { class: "field", "data-field": field.name },
        el("label", { for: id, text: field.label }), hintNode, error,
        el("input", { id, name: field.name, type: "number", inputmode: "numeric", min: field.min, max: field.max,
          step: 5, value: field.default ?? "", required: field.required, "aria-describedby": described, class: "input-short" }));
      break;
    case "date": {
      const today = new Date(serverNow()).toISOString().slice(0, 10);
      control = el("div", { class: "field", "data-field": field.name },
        el("label", { for: id, text: field.label }), hintNode, error,
        el("input", { id, name: field.name, type: "date", min: today, required: field.required, "aria-describedby": described, class: "input-short" }));
      break;
    }
    default: {
      const long = (field.max_length || 1000) > 300;
      control = el("div", { class: "field", "data-field": field.name },
        el("label", { for: id, text: field.label }), hintNode, error,
        long
          ? el("textarea", { id, name: field.name, rows: 3, maxlength: field.max_length, required: field.required, "aria-describedby": described })
          : el("input", { id, name: field.name, type: "text", maxlength: field.max_length, required: field.required, "aria-describedby": described, autocomplete: "off" }));
    }
  }
  return field.hints && field.hints.length ? withGentleHints(field, id, control) : control;
}

function radioGroup(field, id, options, style, hintNode, error) {
  const legendId = `${id}-legend`;
  const set = el("fieldset", { class: `field radios radios-${style}`, "data-field": field.name, "aria-describedby": hintNode ? `${id}-hint` : null },
    el("legend", { id: legendId, text: field.label }), hintNode, error);
  const row = el("div", { class: "radio-row" });
  options.forEach(([value, label], i) => {
    const optionId = `${id}-${i}`;
    row.append(el("div", { class: "radio" },
      el("input", { type: "radio", id: optionId, name: field.name, value, required: field.required && i === 0,
        checked: field.default !== undefined && String(field.default) === value }),
      el("label", { for: optionId, text: label })));
  });
  set.append(row);
  return set;
}

function feelingPicker(field, id, hintNode, error) {
  const set = el("fieldset", { class: "field radios radios-feelings", "data-field": field.name },
    el("legend", { text: field.label }), hintNode, error);
  const options = field.options || [];
  const common = (field.common || []).filter((word) => options.includes(word));
  const first = common.length ? common : options;
  const rest = options.filter((word) => !first.includes(word));
  const chip = (word) => {
    const optionId = `${id}-${options.indexOf(word)}`;
    return el("div", { class: "radio chip" },
      el("input", { type: "radio", id: optionId, name: field.name, value: word }),
      el("label", { for: optionId, text: word }));
  };
  // "More" ends the row of common words; opened, the rest follow below, and a box for one's own.
  const own = el("input", { type: "text", id: `${id}-own`, "data-own": field.name, maxlength: field.max_length || 40, autocomplete: "off" });
  set.append(el("div", { class: "radio-row" }, first.map(chip),
    el("details", { class: "more-words" },
      el("summary", { text: rest.length ? "Other words" : "Your own words" }),
      rest.length ? el("div", { class: "radio-row" }, rest.map(chip)) : null,
      el("div", { class: "own-word" }, el("label", { for: `${id}-own`, text: "In your own words" }), own))));
  return set;
}

function readField(form, field) {
  if (field.kind === "feeling" || field.kind === "need") {
    const own = form.querySelector(`[data-own="${field.name}"]`).value.trim();
    if (own) return own;
  }
  if (field.kind === "bool" && field.default !== undefined) {
    return form.querySelector(`input[name="${field.name}"]`).checked;
  }
  if (["rating", "choice", "bool", "feeling", "need"].includes(field.kind)) {
    const checked = form.querySelector(`input[name="${field.name}"]:checked`);
    if (!checked) return undefined;
    if (field.kind === "rating") return Number(checked.value);
    if (field.kind === "bool") return checked.value === "true";
    return checked.value;
  }
  const input = form.querySelector(`[name="${field.name}"]`);
  const raw = input.value.trim();
  if (!raw) return undefined;
  if (field.kind === "minutes") return Number(raw);
  return raw;
}

export function stepForm(fields, { kind, step, submit, idPrefix, id, extra = {}, buttonAttrs = {} }) {
  const form = el("form", { class: "step-form stack", novalidate: true, id });
  const summary = el("div", { class: "error-summary", role: "alert", tabindex: "-1", hidden: true });
  form.append(summary, ...fields.map((f) => fieldBlock(f, idPrefix)));
  const button = el("button", { type: "submit", class: "button button-primary", text: submit, ...buttonAttrs });
  form.append(el("div", { class: "button-row" }, button));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = { ...extra };
    const errors = {};
    for (const f of fields) {
      const value = readField(form, f);
      if (value === undefined) {
        if (f.required && f.default === undefined) errors[f.name] = f.kind === "text" ? "Please write something here." : "Please choose one.";
        continue;
      }
      data[f.name] = value;
    }
    showErrors(form, summary, fields, errors, idPrefix);
    if (Object.keys(errors).length) return;
    button.disabled = true;
    button.textContent = "Sending…";
    const either = Boolean(room.view && room.view.either);
    act(kind, step, data, (ack) => {
      button.textContent = submit;
      handleAck(ack, { form, summary, fields, idPrefix, either }, button);
      if (ack.ok && kind === "submit" && room.view && !room.view.your_turn) {
        // A note at a break (nobody's turn): the form stays for the next one.
        form.reset();
        button.disabled = false;
      }
    });
  });
  return form;
}

function showErrors(form, summary, fields, errors, prefix) {
  const labels = Object.fromEntries(fields.map((f) => [f.name, f.label]));
  summary.replaceChildren();
  form.querySelectorAll(".field").forEach((node) => {
    node.classList.remove("field-error");
    const msg = node.querySelector(":scope > .error-message");
    if (msg) { msg.hidden = true; msg.textContent = ""; }
    node.querySelectorAll("input, textarea").forEach((i) => i.removeAttribute("aria-invalid"));
  });
  const names = Object.keys(errors);
  if (!names.length) {
    summary.hidden = true;
    return;
  }
  const items = [];
  for (const name of names) {
    const node = form.querySelector(`[data-field="${name}"]`);
    const message = String(errors[name]);
    if (node) {
      node.classList.add("field-error");
      const msg = node.querySelector(":scope > .error-message");
      msg.textContent = message;
      msg.hidden = false;
      const input = node.querySelector("input, textarea");
      node.querySelectorAll("input, textarea").forEach((i) => i.setAttribute("aria-invalid", "true"));
      const target = input ? input.id : null;
      items.push(el("li", {}, target ? el("a", { href: `#${target}`, text: `${labels[name] || name}: ${message}` }) : `${labels[name] || name}: ${message}`));
    } else {
      items.push(el("li", { text: message }));
    }
  }
  summary.append(el("h3", { class: "error-summary-title", text: "Please check your answer" }), el("ul", {}, items));
  summary.hidden = false;
  summary.focus();
}

export function handleAck(ack, formParts, button) {
  if (ack.ok) {
    status(ack.duplicate ? "Already received." : "Sent.", true);
    return;
  }
  if (button) button.disabled = false;
  const err = ack.error || { message: "Something went wrong." };
  if (err.code === "stale_step" && formParts && formParts.either) {
    status("Your partner answered this step first, for you both. Here is the next one.");
    return;
  }
  if (formParts && err.fields && Object.keys(err.fields).length) {
    const flat = {};
    for (const [k, v] of Object.entries(err.fields)) flat[k] = Array.isArray(v) ? v.join(" ") : typeof v === "object" ? Object.values(v).flat().join(" ") : v;
    showErrors(formParts.form, formParts.summary, formParts.fields, flat, formParts.idPrefix);
  }
  status(err.message);
}
