// The vocabulary of a session's log in the browser: what each event reads as, step titles and
// answers, rendered from the table the server puts in the room's config (`sentences`, from
// couples/review/vocabulary.py export()), so that the live room words the log exactly as the
// transcript page and the API do.
//
// Pure: no DOM and no page globals, so that Node can run it too (tests/test_vocabulary.py).
// A sentence comes back as parts: strings, and {bdi: text} for a name or a person's own words,
// which the page shows as the textContent of a <bdi> element (never as markup).

const SLOT = /\{(\w+)\}/;

const blank = (v) => v === null || v === undefined || v === "";

// A data value as the table's cases and value slots spell it (as Python's vocabulary does).
function key(v) {
  if (v === true) return "true";
  if (v === false) return "false";
  return blank(v) ? "" : String(v);
}

function capitalize(s) {
  return s ? s.charAt(0).toUpperCase() + s.slice(1).toLowerCase() : s;
}

function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, k) => key(values[k]));
}

/** The words of some parts, as plain text. */
export function plain(parts) {
  return (parts || []).map((p) => (typeof p === "string" ? p : p.bdi)).join("");
}

/**
 * The vocabulary for one viewer: `table` is the config's `sentences`, `viewer` "a", "b" or
 * "therapist", `names` {a, b}, `steps` the config's step catalogue, `measures` the rating names.
 */
export function vocabulary(table, { viewer, names, steps = {}, measures = {} }) {
  const values = table.values;

  function stepInfo(exercise, step) {
    const ex = steps[exercise];
    return (ex && ex.steps[step]) || { title: capitalize((step || "").replace(/_/g, " ")), order: [], labels: {}, kinds: {}, options: {} };
  }

  function stepTitle(exercise, step) {
    return stepInfo(exercise, step).title;
  }

  /** {texts, ratings}: each answer as [label, shown value], the 0-10 ratings apart; in the
   * step's order of fields (stored JSON may reorder keys). */
  function answers(exercise, step, data) {
    const info = stepInfo(exercise, step);
    const given = data || {};
    const texts = [];
    const ratings = [];
    const order = [...info.order.filter((n) => n in given), ...Object.keys(given).filter((n) => !info.order.includes(n)).sort()];
    for (const name of order) {
      const value = given[name];
      if (blank(value) || (table.hidden || []).includes(name)) continue;
      const label = info.labels[name] || capitalize(name.replace(/_/g, " "));
      const kind = info.kinds[name];
      if (kind === "rating") {
        ratings.push([measures[name] || label, value]);
        continue;
      }
      let shown = value;
      if (typeof value === "boolean") shown = values[value ? "true" : "false"];
      else if (info.options[name]) shown = info.options[name][value] ?? value;
      else if (kind === "minutes") shown = format(values.minutes, { value });
      texts.push([label, shown]);
    }
    return { texts, ratings };
  }

  /** A seat's name as parts: the partner's name (isolated), or the session itself. */
  function nameParts(seat) {
    if (!seat) return [table.nobody];
    return [{ bdi: names[seat] || format(table.unnamed, { seat: seat.toUpperCase() }) }];
  }

  function source(d, slot) {
    const { kind, from } = table.slots[slot];
    if (kind === "step") return d.step;
    if (kind === "answers") {
      const { texts, ratings } = answers(d.exercise, d.step, d.data);
      return [...texts, ...ratings];
    }
    const field = from.find((f) => !blank(d[f]));
    return field === undefined ? null : d[field];
  }

  function choose(t, d) {
    if (typeof t === "string") return [t];
    if (Array.isArray(t)) return t.flatMap((part) => choose(part, d));
    if (t.viewer) return choose(t.viewer[viewer === "therapist" ? "therapist" : "partner"], d);
    if (t.field !== undefined) {
      const k = key(d[t.field]);
      return choose(k in t.cases ? t.cases[k] : (t.else ?? ""), d);
    }
    if (t.if !== undefined) {
      const v = source(d, t.if);
      const present = !(blank(v) || (Array.isArray(v) && !v.length));
      return choose(present ? t.then : (t.else ?? ""), d);
    }
    throw new Error(`not a template: ${JSON.stringify(t)}`);
  }

  function fill(text, d) {
    return text.split(SLOT).flatMap((piece, i) => {
      if (i % 2 === 0) return [piece];
      const { kind } = table.slots[piece];
      const v = source(d, piece);
      if (kind === "name") return nameParts(v);
      if (kind === "words") return [{ bdi: blank(v) ? "" : String(v) }];
      if (kind === "step") return [stepTitle(d.exercise, d.step)];
      if (kind === "answers") return [v.map(([label, value]) => format(values.pair, { label, value })).join(values.separator)];
      return [key(v)];
    }).filter((p) => (typeof p === "string" ? p !== "" : p.bdi !== ""));
  }

  /** The sentence of an event as parts, or null for a type the table does not know. */
  function sentence(ev) {
    const template = table.sentences[ev.type];
    if (template === undefined) return null;
    const d = ev.data || {};
    return choose(template, d).flatMap((t) => fill(t, d));
  }

  /**
   * An entry of the timeline, as the transcript page shows it: {seat, who, title, texts, ratings}
   * for answers, {sentence} for anything else; null to leave the event out (quiet or unknown).
   */
  function entry(ev) {
    const d = ev.data || {};
    if (table.answer_events.includes(ev.type)) {
      return { seat: d.by, who: nameParts(d.by), title: stepTitle(d.exercise, d.step), ...answers(d.exercise, d.step, d.data) };
    }
    if (table.quiet.includes(ev.type)) return null;
    const parts = sentence(ev);
    return parts === null ? null : { sentence: parts };
  }

  /** What a screen reader hears as an event happens, or null: someone else's answers, and the
   * turns that change what the room is doing. */
  function announcement(ev) {
    const d = ev.data || {};
    if (table.answer_events.includes(ev.type)) {
      return viewer === "therapist" || d.by !== viewer ? fill(table.announce_answer, d) : null;
    }
    return table.announced.includes(ev.type) ? sentence(ev) : null;
  }

  return { name: nameParts, stepInfo, stepTitle, answers, sentence, entry, announcement };
}
