"""Invariants read straight from the database (session_events, client_actions), compared with
what each client was told. Every function returns a list of violations (empty: all good)."""
from collections import Counter
from datetime import datetime, timezone

from sqlalchemy import create_engine, text


def _iso(v):
    if isinstance(v, str):
        v = datetime.fromisoformat(v)
    if v.tzinfo is None:
        v = v.replace(tzinfo=timezone.utc)
    return v.astimezone(timezone.utc).isoformat()


class Log:
    """A session's log and client actions, read with plain SQL (not through the app)."""

    def __init__(self, db_url: str, public_id: str):
        engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg2://", 1))
        with engine.connect() as c:
            self.session = c.execute(text(
                "SELECT id, last_seq, version, state, deadline_at FROM practice_sessions WHERE public_id = :p"),
                {"p": public_id}).mappings().one()
            sid = self.session["id"]
            self.rows = [dict(r) for r in c.execute(text(
                "SELECT seq, type, seat, actor_id, audience, data, created_at FROM session_events "
                "WHERE session_id = :s ORDER BY seq"), {"s": sid}).mappings()]
            self.actions = [dict(r) for r in c.execute(text(
                "SELECT user_id, client_id, seq, created_at FROM client_actions WHERE session_id = :s "
                "ORDER BY seq"), {"s": sid}).mappings()]
        engine.dispose()
        import json
        for r in self.rows:
            for k in ("audience", "data"):
                if isinstance(r[k], str):
                    r[k] = json.loads(r[k])

    def visible(self, viewer):
        """The viewer's log as the protocol numbers it: position among the events it may see."""
        out, n = [], 0
        for r in self.rows:
            if viewer in r["audience"]:
                n += 1
                out.append({"seq": n, "type": r["type"], "actor": r["seat"], "data": r["data"],
                            "at": _iso(r["created_at"]), "global": r["seq"]})
        return out


def gap_free(log: Log) -> list:
    seqs = [r["seq"] for r in log.rows]
    bad = []
    if seqs != list(range(1, len(seqs) + 1)):
        bad.append(f"session_events seqs are not 1..N: {seqs[:50]}...")
    if log.session["last_seq"] != len(seqs):
        bad.append(f"practice_sessions.last_seq {log.session['last_seq']} != {len(seqs)} events")
    return bad


def peer_matches_log(peer, log: Log) -> tuple[int, int, list]:
    """(events the peer was told of, of those missing or different in the DB, violations)."""
    expected = {e["seq"]: e for e in log.visible(peer.role)}
    told = lost = 0
    bad = []
    for seq, got in sorted(peer.log.items()):
        told += 1
        want = expected.get(seq)
        if want is None or {k: want[k] for k in ("type", "actor", "data")} != {k: got[k] for k in ("type", "actor", "data")} \
                or _iso(want["at"]) != _iso(got["at"]):
            lost += 1
            bad.append(f"{peer.name} seq {seq}: told {got}, log has {want}")
    # and the peer, after its last join, has the whole log: nothing missing, nothing extra
    if sorted(peer.log) != sorted(expected):
        bad.append(f"{peer.name} holds seqs {_ranges(sorted(peer.log))}, log has {_ranges(sorted(expected))}")
    return told, lost, bad


def acked_actions_kept(peer, user_id, log: Log) -> tuple[int, list]:
    """Every action acknowledged ok:true has its ClientAction row, its events in the same commit
    (same created_at) with one by this user, and the ack's seq matches the log."""
    rows = {a["client_id"]: a for a in log.actions if a["user_id"] == user_id}
    visible = log.visible(peer.role)
    n, bad = 0, []
    for cid, ack in peer.acks.items():
        if not ack.get("ok"):
            if cid in rows:
                bad.append(f"{peer.name} {cid}: refused ({ack}) but recorded {rows[cid]}")
            continue
        n += 1
        row = rows.get(cid)
        if row is None:
            bad.append(f"{peer.name} {cid}: acknowledged {ack} but no client_actions row (LOST)")
            continue
        commit = [r for r in log.rows if _iso(r["created_at"]) == _iso(row["created_at"]) and r["seq"] <= row["seq"]]
        if not any(r["actor_id"] == user_id for r in commit):
            bad.append(f"{peer.name} {cid}: no event by the user in its commit {commit}")
        mine = [e for e in visible if e["global"] <= row["seq"]]
        if ack["seq"] != len(mine):
            bad.append(f"{peer.name} {cid}: ack seq {ack['seq']} but {len(mine)} visible events up to it")
        if row["seq"] not in {r["seq"] for r in log.rows}:
            bad.append(f"{peer.name} {cid}: client_actions.seq {row['seq']} not in the log")
    # every repeat of an id got the same seq as the first ack
    for cid, ack in peer.ack_history:
        first = peer.acks[cid]
        if ack.get("ok") and not first.get("ok"):
            bad.append(f"{peer.name} {cid}: acknowledged {ack}, later refused {first}")
        if ack.get("ok") and first.get("ok") and ack["seq"] != first["seq"]:
            bad.append(f"{peer.name} {cid}: acks disagree {first} vs {ack}")
    return n, bad


def peers_against_log(log: Log, peers, partners) -> tuple[int, int, int, list]:
    """`peer_matches_log` for every peer and `acked_actions_kept` for each (partner peer, user id),
    summed: (events told, of those lost, actions acknowledged, violations with the peers' own
    wire problems)."""
    told = lost = acked = 0
    bad = []
    for p in peers:
        n, lost_p, problems = peer_matches_log(p, log)
        told, lost, bad = told + n, lost + lost_p, bad + problems + p.problems
    for p, uid in partners:
        n, problems = acked_actions_kept(p, uid, log)
        acked, bad = acked + n, bad + problems
    return told, lost, acked, bad


def applied_once(log: Log) -> list:
    """No step answer applied twice: one step_submitted per (step_id, by)."""
    c = Counter((r["data"].get("step_id"), r["data"].get("by")) for r in log.rows if r["type"] == "step_submitted")
    return [f"step {k} submitted {v} times" for k, v in c.items() if v > 1]


def timers_once(log: Log) -> tuple[int, list]:
    c = Counter(r["data"].get("step_id") for r in log.rows if r["type"] == "timer_fired")
    return sum(c.values()), [f"timer of step {k} fired {v} times" for k, v in c.items() if v > 1]


def position(events):
    """Where the log says the session is: (exercise, step, step_id) or the phase."""
    pos = None
    for e in events:
        t, d = e["type"], e["data"]
        if t in ("step_started", "exercise_resumed"):
            pos = (d["exercise"], d["step"], d["step_id"])
        elif t == "exercise_completed":
            pos = "ready"
        elif t == "exercise_interrupted":
            pos = "interrupted"
        elif t == "session_ended":
            pos = "ended"
    return pos


def view_position(view):
    if view["phase"] == "exercise":
        return (view["exercise"], view["step"], view["step_id"])
    return view["phase"]


def _ranges(xs):
    if not xs:
        return "[]"
    out, start, prev = [], xs[0], xs[0]
    for x in xs[1:]:
        if x != prev + 1:
            out.append(f"{start}-{prev}")
            start = x
        prev = x
    out.append(f"{start}-{prev}")
    return ",".join(out)
