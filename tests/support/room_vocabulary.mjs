// A session's events rendered as the live room renders them (static/js/vocabulary.js, the module
// room.js builds its timeline from), for tests/test_vocabulary.py.
// stdin: {"table", "steps", "measures", "names", "viewer", "events"} (the room's config parts and
// the events the viewer receives); stdout: [{"seq", "entry", "announcement"}] as JSON.
import { vocabulary } from "../../static/js/vocabulary.js";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { table, steps, measures, names, viewer, events } = JSON.parse(input);
const vocab = vocabulary(table, { viewer, names, steps, measures });
process.stdout.write(JSON.stringify(events.map((ev) => ({
  seq: ev.seq, entry: vocab.entry(ev), announcement: vocab.announcement(ev),
}))));
