"""A couple's named cycle ("Our cycle") on their practice page, their therapist's page for them,
and in the live room's configuration, for the pause: the latest one agreed, the couple's words
escaped, and nobody else's."""
import html
import json
import re

from couples.extensions import db
from couples.models import User
from couples.review.cycles import latest_cycle
from support.inprocess import Room, logged_in
from support.people import form_couple, make_account

SAFE_WORDS = "<script>alert(1)</script> & a slammed door"


def name_cycle(room, name, sign, agree="keep"):
    """A whole "Our cycle": both maps shared, Bob writes the name down, Alice keeps it."""
    room.ok("alice", "start_exercise", {"exercise": "cycle"})
    moves = [("alice", {"suds": 2}), ("bob", {"suds": 3}),
             ("alice", {"do": "I chase", "feel": "scared", "fear": "Being left", "need": "reassurance"}),
             ("bob", {"do": "I go quiet", "feel": "overwhelmed", "fear": "Failing", "need": "space"}),
             ("alice", {"reveal": "share"}), ("bob", {"reveal": "share"}),
             ("bob", {"name": name, "sign": sign}), ("alice", {"agree": agree}),
             ("alice", {"suds": 1}), ("bob", {"suds": 2})]
    for who, data in moves:
        room.submit(who, data)
    assert room.row().state["phase"] == "ready"


def room_config(app, who, public_id) -> dict:
    page = logged_in(app, who).get(f"/practice/{public_id}").get_data(as_text=True)
    found = re.search(r'<script[^>]*id="room-config"[^>]*>(.*?)</script>', page, re.S)
    return json.loads(html.unescape(found.group(1)))


def test_the_practice_page_and_the_room_show_the_latest_named_cycle_escaped(app, world, clock):
    with app.app_context():
        room = Room(world)
        room.safe()
        public_id = room.row().public_id
    assert "Your cycle" not in logged_in(app, "alice").get("/practice").get_data(as_text=True)
    assert room_config(app, "alice", public_id)["cycle"] is None
    with app.app_context():
        name_cycle(room, "the storm", "Sighing")
        name_cycle(room, "the tug of war", SAFE_WORDS)
        name_cycle(room, "not this one", "Nor this", agree="skip")  # not kept: no change
    for who in ("alice", "bob"):
        page = logged_in(app, who).get("/practice").get_data(as_text=True)
        assert "Your cycle" in page and "<bdi>the tug of war</bdi>" in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; a slammed door" in page
        assert "<script>alert(1)" not in page and "the storm" not in page and "not this one" not in page
        assert "written by <bdi>Bob</bdi>, agreed by <bdi>Alice</bdi>" in page
    for who in ("alice", "bob", "theo"):
        assert room_config(app, who, public_id)["cycle"] == {"name": "the tug of war", "sign": SAFE_WORDS}
    page = logged_in(app, "theo").get(f"/therapist/couples/{world.couple_id}").get_data(as_text=True)
    assert "Their cycle" in page and "<bdi>the tug of war</bdi>" in page and "<script>alert(1)" not in page


def test_another_couple_never_sees_it(app, world, clock):
    with app.app_context():
        room = Room(world)
        room.safe()
        name_cycle(room, "the storm", "Sighing")
        eve, dan = db.session.get(User, world.eve), make_account("dan@example.com")
        theirs = form_couple(eve, dan).id
        db.session.commit()
    page = logged_in(app, "eve").get("/practice").get_data(as_text=True)
    assert "Your cycle" not in page and "the storm" not in page
    with app.app_context():
        assert latest_cycle(world.couple_id, "b")["name"] == "the storm"
        assert latest_cycle(theirs, "a") is None and latest_cycle(theirs, "therapist") is None
