"""Safety signals: a linked therapist sees, per couple, what asks for their attention (a "not safe"
answer, a missed return, a flooding rating, a note left for them when pausing or ending), marks
each read for themselves, and nobody else ever sees them: not the other partner, not a therapist
without an active link. Derived from the event log; each view and mark is audited, in a way that
tells the partners nothing about what the signals were."""
import pytest
from sqlalchemy import func, select, text

from couples.accounts import service as accounts
from couples.extensions import db
from couples.models import AuditEntry, Couple, PracticeSession, SessionEvent, SignalRead, TherapistLink
from couples.pairing import service as pairing
from couples.review import signals
from support.errors import refused
from support.events import append_events, event
from support.inprocess import Room, logged_in, user
from support.people import link_therapist, make_account

NOTE = "I need <b>water</b> & a minute"  # a partner's words: shown escaped, never as markup
ESCAPED = "I need &lt;b&gt;water&lt;/b&gt; &amp; a minute"
SAYS = {
    "safety_concern": "Alice said it did not feel safe to practise today.",
    "return_missed": "Bob did not come back from a time-out.",
    "distress_flagged": "Alice rated their distress 8 of 10.",
    "pause_reason": f"Bob left a note for you when pausing: \u201c{NOTE}\u201d.",
    "end_reason": "Alice left a note for you when ending the session: \u201cWe need you\u201d.",
}


def api(app, token):
    """A JSON client with the bearer token: `call(method, path, json)` -> the response."""
    client = app.test_client()

    def call(method, path, json=None, **kw):
        return client.open(path, method=method, json=json, headers={"Authorization": f"Bearer {token}"}, **kw)
    return call


@pytest.fixture
def therapists(app, world):
    """Tara (a second therapist linked to Alice and Bob) and Uma (a therapist linked to nobody):
    their ids and bearer tokens."""
    with app.app_context():
        tara, uma = make_account("tara@example.com", "therapist"), make_account("uma@example.com", "therapist")
        link_therapist(db.session.get(Couple, world.couple_id), tara)
        db.session.commit()
        out = {"tara": (tara.id, accounts.start_login(tara, "token")),
               "uma": (uma.id, accounts.start_login(uma, "token"))}
        db.session.remove()
    return out


@pytest.fixture
def signalled(world, ctx):
    """Alice says it does not feel safe (the engine), then one event of each other kind is
    appended as the store appends a turn's events, beside a pause reason Bob did NOT mark for
    the therapist (the engine), and one marked but not meant for the therapist. Returns the
    session's public id and the signal ids by type."""
    room = Room(world)
    room.ok("alice", "safety", {"safe": False})
    room.ok("bob", "pause", {"reason": "Only for me and the log"})
    ids = append_events(room.sid,
                        event("return_missed", {"missing": ["b"], "return_at": "2026-03-01T18:20:00+00:00"},
                              ["a", "therapist"]),
                        event("distress_flagged", {"partner": "a", "rating": 8, "step": "suds_before"},
                              ["a", "therapist"], "a"),
                        event("pause_reason", {"by": "b", "reason": NOTE, "for_therapist": True},
                              ["b", "therapist"], "b"),
                        event("end_reason", {"by": "a", "reason": "We need you", "for_therapist": True},
                              ["a", "therapist"], "a"),
                        event("pause_reason", {"by": "b", "reason": "not theirs", "for_therapist": True}, ["b"], "b"))
    concern = db.session.scalar(select(SessionEvent.id).where(
        SessionEvent.session_id == room.sid, SessionEvent.type == "safety_concern"))
    by_type = dict(zip(["return_missed", "distress_flagged", "pause_reason", "end_reason"], ids[:4]))
    by_type["safety_concern"] = concern
    return room.row().public_id, by_type


def _section(page: str) -> str:
    """The couple page's safety signals section."""
    start = page.index('<section class="card signals"')
    return page[start:page.index("</section>", start)]


def _listed(app, token, **query):
    resp = api(app, token)("GET", "/api/v1/therapist/signals", query_string=query)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


# --------------------------------------------------------------------------- what the therapist sees


def test_each_kind_of_signal_reads_in_plain_words(app, world, signalled):
    public_id, ids = signalled
    body = _listed(app, world.tokens["theo"])
    got = {s["type"]: s for s in body["signals"]}
    assert {t: s["text"] for t, s in got.items()} == SAYS
    assert body["unread"] == [{"couple_id": world.couple_id, "unread": 5}]
    assert {s["id"] for s in body["signals"]} == set(ids.values())  # not Bob's own or the unaddressed note
    assert all(s["session_id"] == public_id and s["read_at"] is None for s in body["signals"])
    assert got["distress_flagged"]["rating"] == 8 and got["pause_reason"]["words"] == NOTE
    assert got["return_missed"]["partners"] == [{"seat": "b", "display_name": "Bob"}]
    assert got["return_missed"]["return_at"] == "2026-03-01T18:20:00+00:00"


def test_the_dashboards_count_and_the_couple_page_lists_them(app, world, signalled):
    public_id, ids = signalled
    theo = logged_in(app, "theo")
    assert "5 unread safety signals" in theo.get("/dashboard").get_data(as_text=True)
    home = theo.get("/therapist").get_data(as_text=True)
    assert "5 unread safety signals" in home and f"/therapist/couples/{world.couple_id}#signals" in home
    whole = theo.get(f"/therapist/couples/{world.couple_id}").get_data(as_text=True)
    page = _section(whole)
    assert '<h2 id="signals-title">Safety signals</h2>' in page
    assert "<bdi>Alice</bdi> said it did not feel safe to practise today." in page
    assert "rated their distress 8 of 10" in page and "did not come back from a time-out" in page
    assert f"left a note for you when pausing: &ldquo;<bdi>{ESCAPED}</bdi>&rdquo;" in page
    assert NOTE not in whole and "Only for me and the log" not in whole and "not theirs" not in whole
    assert page.count('datetime="2026-03-01T18:00:00Z"') >= 5  # the local-time markup
    assert page.count(f'href="/sessions/{public_id}/transcript"') == 5
    for signal_id in ids.values():
        assert f'action="/therapist/signals/{signal_id}/read"' in page
    assert f'action="/therapist/couples/{world.couple_id}/signals/read"' in page
    assert page.count(">Mark as read<") == 5 and ">Mark all read</button>" in page


def test_nothing_to_read_says_so(app, world, ctx):
    Room(world).ok("alice", "safety", {"safe": True})
    theo = logged_in(app, "theo")
    assert "No unread safety signals." in theo.get("/therapist").get_data(as_text=True)
    assert "unread safety signal" not in theo.get("/dashboard").get_data(as_text=True)
    page = theo.get(f"/therapist/couples/{world.couple_id}").get_data(as_text=True)
    assert "No unread safety signals." in page and "Mark all read" not in page


# --------------------------------------------------------------------------- marking them read


def test_marking_one_read_is_for_that_therapist_only(app, world, therapists, signalled):
    _, ids = signalled
    theo = logged_in(app, "theo")
    resp = theo.post(f"/therapist/signals/{ids['safety_concern']}/read")
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(f"/therapist/couples/{world.couple_id}#signals")
    assert _listed(app, world.tokens["theo"])["unread"][0]["unread"] == 4
    assert ids["safety_concern"] not in [s["id"] for s in _listed(app, world.tokens["theo"])["signals"]]
    read = _listed(app, world.tokens["theo"], state="read")["signals"]
    assert [s["id"] for s in read] == [ids["safety_concern"]] and read[0]["read_at"]
    # Tara, also linked, still has all five to read.
    assert _listed(app, therapists["tara"][1])["unread"][0]["unread"] == 5
    # Again (another tab): nothing changes, it stays read once.
    again = api(app, world.tokens["theo"])("POST", f"/api/v1/therapist/signals/{ids['safety_concern']}/read", {})
    assert again.status_code == 200 and again.get_json()["signal"]["read_at"] == read[0]["read_at"]
    assert db.session.scalar(select(func.count()).select_from(SignalRead)) == 1
    page = theo.get(f"/therapist/couples/{world.couple_id}").get_data(as_text=True)
    assert page.count(">Mark as read<") == 4 and "Signals you have read" in page


def test_mark_all_read_over_the_api_and_the_page(app, world, therapists, signalled):
    _, ids = signalled
    as_theo = api(app, world.tokens["theo"])
    marked = as_theo("POST", f"/api/v1/therapist/signals/{ids['end_reason']}/read", {})
    assert marked.status_code == 200 and marked.get_json()["signal"]["text"] == SAYS["end_reason"]
    resp = as_theo("POST", f"/api/v1/therapist/couples/{world.couple_id}/signals/read", {})
    assert resp.get_json() == {"marked": 4}
    assert _listed(app, world.tokens["theo"]) == {"signals": [],
                                                  "unread": [{"couple_id": world.couple_id, "unread": 0}]}
    assert len(_listed(app, world.tokens["theo"], state="all")["signals"]) == 5
    tara = logged_in(app, "tara")
    resp = tara.post(f"/therapist/couples/{world.couple_id}/signals/read")
    assert resp.status_code == 303
    assert "Marked 5 signals as read." in tara.get(resp.headers["Location"]).get_data(as_text=True)
    assert _listed(app, therapists["tara"][1])["unread"][0]["unread"] == 0


# --------------------------------------------------------------------------- who may not


def test_a_therapist_without_an_active_link_gets_nothing_and_marks_nothing(app, world, therapists, signalled):
    _, ids = signalled
    uma = api(app, therapists["uma"][1])
    assert _listed(app, therapists["uma"][1]) == {"signals": [], "unread": []}
    refused(uma("GET", "/api/v1/therapist/signals", query_string={"couple_id": world.couple_id}), 403, "no_consent")
    refused(uma("POST", f"/api/v1/therapist/signals/{ids['safety_concern']}/read", {}), 404, "not_found")
    refused(uma("POST", "/api/v1/therapist/signals/999999/read", {}), 404, "not_found")  # alike: no oracle
    refused(uma("POST", f"/api/v1/therapist/couples/{world.couple_id}/signals/read", {}), 403, "no_consent")
    # Alice revokes Theo: from then on he sees nothing of theirs, and can mark nothing.
    link = db.session.scalar(select(TherapistLink.id).where(
        TherapistLink.therapist_id == world.theo, TherapistLink.couple_id == world.couple_id))
    pairing.revoke(user(world.alice), link)
    db.session.commit()
    assert _listed(app, world.tokens["theo"]) == {"signals": [], "unread": []}
    theo = logged_in(app, "theo")
    assert "unread safety signal" not in theo.get("/dashboard").get_data(as_text=True)
    assert theo.post(f"/therapist/signals/{ids['safety_concern']}/read").status_code == 404
    assert theo.post(f"/therapist/couples/{world.couple_id}/signals/read").status_code == 403
    assert theo.get(f"/therapist/couples/{world.couple_id}").status_code == 403
    refused(api(app, world.tokens["theo"])("POST", f"/api/v1/therapist/signals/{ids['distress_flagged']}/read", {}),
            404, "not_found")
    assert db.session.scalar(select(func.count()).select_from(SignalRead)) == 0


def test_an_event_that_is_not_a_signal_cannot_be_marked(app, world, signalled):
    not_signals = db.session.scalars(select(SessionEvent.id).where(SessionEvent.type.in_(
        ["pause_reason", "paused", "safety_answered"]))).all()
    for event_id in not_signals:
        if event_id in signalled[1].values():
            continue
        refused(api(app, world.tokens["theo"])("POST", f"/api/v1/therapist/signals/{event_id}/read", {}),
                404, "not_found")


def test_partners_are_refused_every_signal_route(app, world, signalled):
    public_id, ids = signalled
    for who in ("alice", "bob"):
        as_partner, page = api(app, world.tokens[who]), logged_in(app, who)
        refused(as_partner("GET", "/api/v1/therapist/signals"), 403, "therapist_only")
        refused(as_partner("POST", f"/api/v1/therapist/signals/{ids['safety_concern']}/read", {}), 403,
                "therapist_only")
        refused(as_partner("POST", f"/api/v1/therapist/couples/{world.couple_id}/signals/read", {}), 403,
                "therapist_only")
        assert page.post(f"/therapist/signals/{ids['safety_concern']}/read").status_code == 403
        assert page.post(f"/therapist/couples/{world.couple_id}/signals/read").status_code == 403
        assert page.get(f"/therapist/couples/{world.couple_id}").status_code == 403
    assert db.session.scalar(select(func.count()).select_from(SignalRead)) == 0
    # Neither partner reads the other's signals anywhere: events, transcript, export.
    bobs = api(app, world.tokens["bob"])
    seen = (bobs("GET", f"/api/v1/sessions/{public_id}/events").get_data(as_text=True)
            + bobs("GET", f"/api/v1/sessions/{public_id}/transcript").get_data(as_text=True)
            + bobs("GET", "/api/v1/me/export").get_data(as_text=True))
    for private in ("safety_concern", "distress_flagged", "We need you", "did not feel safe"):
        assert private not in seen
    alices = api(app, world.tokens["alice"])("GET", "/api/v1/me/export").get_data(as_text=True)
    assert "water" not in alices and "return_missed" in alices  # she was there, Bob did not come back


def test_bad_queries_are_refused_in_the_one_error_shape(app, world, signalled):
    as_theo = api(app, world.tokens["theo"])
    for query in ({"state": "everything"}, {"limit": 0}, {"limit": 501}, {"couple_id": "x"}, {"seat": "a"}):
        refused(as_theo("GET", "/api/v1/therapist/signals", query_string=query), 422, "invalid_input")
    refused(as_theo("POST", f"/api/v1/therapist/signals/{signalled[1]['end_reason']}/read", {"x": 1}), 422,
            "invalid_input")
    assert len(_listed(app, world.tokens["theo"], limit=2)["signals"]) == 2


# --------------------------------------------------------------------------- the audit trail


def _entries(after_id=0):
    return [(e.action, e.couple_id, e.subject, e.detail) for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.id > after_id).order_by(AuditEntry.id))]


def test_views_and_marks_are_audited_and_tell_the_partners_nothing(app, world, signalled):
    _, ids = signalled
    db.session.expire_all()
    start = db.session.scalar(select(func.max(AuditEntry.id))) or 0
    theo = logged_in(app, "theo")
    theo.get("/therapist")
    theo.get("/dashboard")
    assert _entries(start) == []  # counts are not a view of the signals themselves
    theo.get(f"/therapist/couples/{world.couple_id}")
    _listed(app, world.tokens["theo"])
    theo.post(f"/therapist/signals/{ids['safety_concern']}/read")
    api(app, world.tokens["theo"])("POST", f"/api/v1/therapist/couples/{world.couple_id}/signals/read", {})
    couple = f"couple:{world.couple_id}"
    assert _entries(start) == [
        ("progress_read", world.couple_id, couple, {}), ("signals_read", world.couple_id, couple, {}),
        ("signals_read", world.couple_id, couple, {}),
        ("signal_marked_read", None, f"signal:{ids['safety_concern']}", {}),
        ("signals_marked_read", None, couple, {"count": 4})]
    # The partners see that their therapist looked at the signals, as on every visit, and not
    # that any was marked read: that would tell one partner the other had raised something.
    for who in ("alice", "bob"):
        viewed = api(app, world.tokens[who])("GET", "/api/v1/couple/audit").get_json()["entries"]
        assert [v["action"] for v in viewed].count("signals_read") == 2
        assert not any("marked" in v["action"] for v in viewed)
        export = api(app, world.tokens[who])("GET", "/api/v1/me/export").get_data(as_text=True)
        assert "marked_read" not in export and "signal:" not in export


# --------------------------------------------------------------------------- deletion and the index


def test_deleting_accounts_erases_the_read_marks(app, world, therapists, signalled):
    _, ids = signalled
    api(app, world.tokens["theo"])("POST", f"/api/v1/therapist/couples/{world.couple_id}/signals/read", {})
    api(app, therapists["tara"][1])("POST", f"/api/v1/therapist/couples/{world.couple_id}/signals/read", {})
    export = api(app, world.tokens["theo"])("GET", "/api/v1/me/export").get_json()
    assert sorted(r["signal"] for r in export["therapist"]["signals_read"]) == sorted(ids.values())
    delete = {"password": "correct horse battery", "confirm": "delete my account"}
    assert api(app, world.tokens["theo"])("POST", "/api/v1/me/delete", delete).status_code == 200
    db.session.expire_all()
    assert db.session.scalars(select(SignalRead.therapist_id).distinct()).all() == [therapists["tara"][0]]
    # Alice deletes hers: what only she (and the therapist) saw is erased, and Tara's marks on it too.
    assert api(app, world.tokens["alice"])("POST", "/api/v1/me/delete", delete).status_code == 200
    db.session.expire_all()
    left = set(db.session.scalars(select(SignalRead.event_id)))
    assert left == {ids["return_missed"], ids["pause_reason"]}  # Bob's, and the one Alice was shown too


def test_finding_signals_stays_on_their_partial_index(app, world, signalled):
    """The query names the same types as the index's WHERE (signals.TYPES): if a kind is added
    without a migration widening ix_session_events_signals, the index no longer applies and this
    fails (PostgreSQL is told to avoid a scan, which it would choose on a table this small)."""
    query = signals._candidates(world.theo).where(PracticeSession.couple_id.in_([world.couple_id]))
    sql = str(query.compile(db.engine, compile_kwargs={"render_postcompile": True, "literal_binds": True}))
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(row[0] for row in db.session.execute(text("EXPLAIN " + sql)))
        db.session.rollback()
    else:
        plan = " ".join(row[-1] for row in db.session.execute(text("EXPLAIN QUERY PLAN " + sql)))
        index = db.session.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'ix_session_events_signals'"))
        assert index.endswith("WHERE type IN ({})".format(", ".join(f"'{t}'" for t in signals.TYPES))), index
    assert "ix_session_events_signals" in plan, plan


def test_the_predicate():
    assert signals.is_signal("safety_concern", ["therapist"], {"partner": "a"})
    assert not signals.is_signal("safety_concern", ["a"], {"partner": "a"})
    assert not signals.is_signal("safety_concern", ["therapist"], {"erased": True})
    assert not signals.is_signal("pause_reason", ["b", "therapist"], {"by": "b", "reason": "x"})
    assert not signals.is_signal("pause_reason", ["b", "therapist"],
                                 {"by": "b", "reason": "x", "for_therapist": "yes"})
    assert signals.is_signal("end_reason", ["b", "therapist"], {"by": "b", "reason": "x", "for_therapist": True})
    assert not signals.is_signal("safety_checked", ["therapist"], {"partner": "a"})
