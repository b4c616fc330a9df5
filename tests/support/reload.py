"""Live equals reloaded: what a viewer was shown live against what a fresh join (last_seq 0),
the events endpoint and the transcript endpoint show afterwards."""

VOLATILE = ("server_now", "seconds_left")


def stable_view(view):
    """The view without what changes with time alone (the clock and the seconds left)."""
    return {k: v for k, v in (view or {}).items() if k not in VOLATILE}


def _core(e):
    return {k: e.get(k) for k in ("seq", "type", "actor", "data", "at")}


def compare(name, live_log: dict, live_view, fresh_events, fresh_view, api_events, transcript) -> list:
    bad = []
    n = len(fresh_events)
    if [e["seq"] for e in fresh_events] != list(range(1, n + 1)):
        bad.append(f"{name}: fresh join events not 1..N: {[e['seq'] for e in fresh_events]}")
    if sorted(live_log) != list(range(1, n + 1)):
        bad.append(f"{name}: saw live seqs {sorted(live_log)}, reload has 1..{n}")
    for e in fresh_events:
        got = live_log.get(e["seq"])
        if got is not None and _core(got) != _core(e):
            bad.append(f"{name}: seq {e['seq']} live {_core(got)} != reloaded {_core(e)}")
    if [_core(e) for e in api_events] != [_core(e) for e in fresh_events]:
        bad.append(f"{name}: events endpoint differs from a fresh join "
                   f"({len(api_events)} vs {len(fresh_events)} events)")
    entries = [x for ex in transcript["exercises"] for x in ex["entries"]] + transcript["general"]
    seqs = sorted(x["seq"] for x in entries)
    if seqs != list(range(1, n + 1)):
        bad.append(f"{name}: transcript entries {seqs} != 1..{n}")
    by_seq = {e["seq"]: e for e in fresh_events}
    for x in entries:
        e = by_seq.get(x["seq"])
        if e is not None and (x["type"] != e["type"] or x["actor"] != e["actor"]):
            bad.append(f"{name}: transcript entry {x} != event {e}")
    if stable_view(live_view) != stable_view(fresh_view):
        diff = {k: (stable_view(live_view).get(k), v) for k, v in stable_view(fresh_view).items()
                if stable_view(live_view).get(k) != v}
        bad.append(f"{name}: live view differs from a fresh join's: {diff}")
    return bad
