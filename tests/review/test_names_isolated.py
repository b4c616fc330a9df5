"""Names, and a person's words inside a sentence, are shown bidi-isolated in a <bdi>: a name in a
right-to-left script, or an old stored one holding a direction override (U+202E, refused at input
today), cannot reorder the sentence around it. Escaping stays as it was."""
import re

import pytest
from sqlalchemy import update

from couples.room import sessions, turns
from couples.extensions import db
from couples.models import User
from support.inprocess import logged_in
from support.people import seed_couple

NOA = "\u05e0\u05d5\u05e2\u05d4"  # Noa, in Hebrew letters
LAYLA = "\u062f. \u0644\u064a\u0644\u0649"  # Dr Layla, in Arabic letters
OLD = "Sam\u202e<b>Lee</b>"  # stored before the input check: an override, and markup for good measure
OLD_SHOWN = "Sam\u202e&lt;b&gt;Lee&lt;/b&gt;"
WATER = "\u05e6\u05e8\u05d9\u05da \u05de\u05d9\u05dd"  # "I need water", in Hebrew


@pytest.fixture
def world(app):
    """Alice (seat a) now named Noa in Hebrew, Bob (seat b) with an old name holding U+202E, and
    their therapist Theo named in Arabic; the names written straight into the table."""
    w = seed_couple(app, ("alice", "bob", "theo"))
    with app.app_context():
        for who, name in (("alice", NOA), ("bob", OLD), ("theo", LAYLA)):
            db.session.execute(update(User).where(User.id == w.ids[who]).values(display_name=name))
        db.session.commit()
    return w


def page_of(app, who, path) -> str:
    resp = logged_in(app, who).get(path)
    assert resp.status_code == 200, (who, path, resp.status_code)
    return resp.get_data(as_text=True)


def practise(app, w) -> str:
    """Both say it is safe, Noa checks in for the greeting, Sam pauses with a private reason in
    Hebrew. The session stays open; returns its public id."""
    with app.app_context():
        noa, sam = db.session.get(User, w.ids["alice"]), db.session.get(User, w.ids["bob"])
        session, _ = sessions.start_or_get(noa)
        steps = [(noa, "a", "safety", {"safe": True}, None), (sam, "b", "safety", {"safe": True}, None),
                 (noa, "a", "start_exercise", {"exercise": "greeting"}, None),
                 (noa, "a", "submit", {"suds": 3, "connected": 6}, "suds_before"),
                 (sam, "b", "pause", {"reason": WATER}, None)]
        for n, (user, seat, kind, data, step) in enumerate(steps):
            out = turns.apply(user.id, session.id, seat, f"client-{n}", kind, step, data)
            assert out.ack["ok"], out.ack
        return session.public_id


def outside_isolation(page: str) -> str:
    """The page without its <bdi> elements and FSI..PDI runs (in the <title>): what must not
    hold a direction override any more."""
    return re.sub(r"<bdi>[^<]*</bdi>|\u2068[^\u2069]*\u2069", "", page)


def test_a_right_to_left_name_given_at_registration_is_isolated_on_the_dashboard(client, register):
    page = register(client, "noa@example.com", display_name=NOA, follow=True).get_data(as_text=True)
    assert f"<h1>Hello, <bdi>{NOA}</bdi></h1>" in page


def test_the_dashboards_and_privacy_pages_isolate_every_name(app, world):
    noa = page_of(app, "alice", "/dashboard")
    assert f"<h1>Hello, <bdi>{NOA}</bdi></h1>" in noa
    assert f"<li><bdi>{NOA}</bdi> (you)" in noa and f"<li><bdi>{OLD_SHOWN}</bdi>\n" in noa
    assert f"<strong><bdi>{LAYLA}</bdi></strong>" in noa and "<bdi>theo@example.com</bdi>" in noa
    assert f"<li><bdi>{LAYLA}</bdi> <span class=\"muted\">(therapist," in noa
    assert f"Remove <bdi>{LAYLA}</bdi></button>" in noa

    assert f"<h1>Hello, <bdi>{OLD_SHOWN}</bdi></h1>" in page_of(app, "bob", "/dashboard")

    theo = page_of(app, "theo", "/dashboard")
    assert f"<h1>Hello, <bdi>{LAYLA}</bdi></h1>" in theo
    assert f"<li><bdi>{NOA}</bdi> and <bdi>{OLD_SHOWN}</bdi>" in theo

    assert f"<li><bdi>{LAYLA}</bdi> (therapist)" in page_of(app, "alice", "/privacy")
    assert f"Your couple with <bdi>{OLD_SHOWN}</bdi> ends" in page_of(app, "alice", "/privacy/delete")


def test_the_room_transcript_and_progress_isolate_names_and_words(app, world):
    public_id = practise(app, world)
    room = page_of(app, "theo", f"/practice/{public_id}")
    assert f"<h1>Observing <bdi>{NOA}</bdi> and <bdi>{OLD_SHOWN}</bdi></h1>" in room

    transcript = page_of(app, "bob", f"/sessions/{public_id}/transcript")
    assert f'<p class="lead"><bdi>{NOA}</bdi> and <bdi>{OLD_SHOWN}</bdi> ·' in transcript
    assert f"<strong><bdi>{NOA}</bdi></strong> <span>Check-in</span>" in transcript
    assert f"<span><bdi>{OLD_SHOWN}</bdi> paused the session.</span>" in transcript
    assert f"<span>Private reason for the pause: <bdi>{WATER}</bdi></span>" in transcript
    assert f"<td><bdi>{NOA}</bdi></td><td>Distress</td>" in transcript

    therapist = page_of(app, "theo", "/therapist")
    assert f"<strong><bdi>{NOA}</bdi> and <bdi>{OLD_SHOWN}</bdi></strong>" in therapist
    assert f"(<bdi>{NOA}</bdi> and <bdi>{OLD_SHOWN}</bdi>)</span></a>" in therapist
    progress = page_of(app, "theo", f"/therapist/couples/{world.couple_id}")
    assert f"<title>Progress of \u2068{NOA}\u2069 and \u2068{OLD_SHOWN}\u2069 · Couples</title>" in progress
    assert f"<h1><bdi>{NOA}</bdi> and <bdi>{OLD_SHOWN}</bdi>: progress</h1>" in progress
    assert f'<th scope="col"><bdi>{OLD_SHOWN}</bdi>, before</th>' in progress

    page_of(app, "theo", f"/sessions/{public_id}/transcript")  # so that the privacy page lists a view
    assert f"<td><bdi>{LAYLA}</bdi></td><td>Opened a transcript</td>" in page_of(app, "alice", "/privacy")


def test_an_old_name_with_a_direction_override_is_shown_escaped_and_only_inside_a_bdi(app, world):
    public_id = practise(app, world)
    pages = {(who, path): page_of(app, who, path) for who, path in [
        ("alice", "/dashboard"), ("bob", "/dashboard"), ("theo", "/dashboard"), ("alice", "/privacy/delete"),
        ("theo", f"/practice/{public_id}"), ("bob", f"/sessions/{public_id}/transcript"),
        ("theo", f"/sessions/{public_id}/transcript"), ("theo", "/therapist"), ("alice", "/progress"),
        ("theo", f"/therapist/couples/{world.couple_id}")]}
    for where, page in pages.items():
        assert f"<bdi>{OLD_SHOWN}</bdi>" in page, where
        assert "<b>Lee" not in page, where
        assert "\u202e" not in outside_isolation(page), where
