"""A couple's saved greeting ritual on their practice page (and their therapist's page for them):
the latest one saved, the couple's words escaped, and nobody else's."""
from sqlalchemy import select, update

from couples.extensions import db
from couples.models import TherapistLink, User, utcnow
from couples.review.rituals import latest_ritual
from support.inprocess import Room, logged_in
from support.people import form_couple, make_account

SAFE_WORDS = "<script>alert(1)</script> & a kettle"


def greet_and_save(room, when, what, gesture=None):
    """A whole greeting whose ritual Alice writes down and Bob keeps."""
    room.ok("alice", "start_exercise", {"exercise": "greeting"})
    moves = [("alice", {"connected": 5}), ("bob", {"connected": 6}), ("alice", {"first": "me"}),
             ("alice", {"greeting": "Hi"}), ("bob", {"greeting": "Hi you"}),
             ("alice", {"day": "Busy"}), ("bob", {"way": "reflect", "words": "A full one"}),
             ("bob", {"day": "Calm"}), ("alice", {"way": "reflect", "words": "Good"}),
             ("alice", {"appreciation": "Tea"}), ("bob", {"thanks": "Thanks"}),
             ("bob", {"appreciation": "Jokes"}), ("alice", {"thanks": "Ta"}),
             ("alice", {"decision": "save"}),
             ("alice", {"when": when, "what": what, **({"gesture": gesture} if gesture else {})}),
             ("bob", {"agree": "keep"}),
             ("alice", {"suds": 2, "connected": 8}), ("bob", {"suds": 2, "connected": 8})]
    for who, data in moves:
        room.submit(who, data)
    assert room.row().state["phase"] == "ready"


def test_the_practice_page_shows_the_latest_saved_ritual_escaped(app, world, clock):
    with app.app_context():
        room = Room(world)
        room.safe()
        page = logged_in(app, "alice").get("/practice").get_data(as_text=True)
        assert "Your greeting ritual" not in page  # none saved yet
        greet_and_save(room, "Mornings", "Coffee first")
        greet_and_save(room, "When we get home", SAFE_WORDS, "A six-second kiss")
    for who in ("alice", "bob"):
        page = logged_in(app, who).get("/practice").get_data(as_text=True)
        assert "Your greeting ritual" in page
        assert "<bdi>When we get home</bdi>" in page and "A six-second kiss" in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; a kettle" in page
        assert "<script>alert(1)" not in page
        assert "Mornings" not in page  # the new ritual replaced the first
        assert "written by <bdi>Alice</bdi>, agreed by <bdi>Bob</bdi>" in page


def test_another_couple_never_sees_it(app, world, clock):
    with app.app_context():
        room = Room(world)
        room.safe()
        greet_and_save(room, "Mornings", "Coffee first")
        eve, dan = db.session.get(User, world.eve), make_account("dan@example.com")
        theirs = form_couple(eve, dan).id
        db.session.commit()
    page = logged_in(app, "eve").get("/practice").get_data(as_text=True)
    assert "Practice together" in page and "Start a session" in page
    assert "greeting ritual" not in page and "Coffee first" not in page
    with app.app_context():
        assert latest_ritual(world.couple_id, "a")["what"] == "Coffee first"
        assert latest_ritual(theirs, "a") is None and latest_ritual(theirs, "therapist") is None


def test_the_linked_therapist_sees_it_only_while_the_link_is_active(app, world, clock):
    with app.app_context():
        room = Room(world)
        room.safe()
        greet_and_save(room, "Evenings", "A walk round the block", "A long hug")
    theo = logged_in(app, "theo")
    page = theo.get(f"/therapist/couples/{world.couple_id}").get_data(as_text=True)
    assert "Their greeting ritual" in page and "A walk round the block" in page
    with app.app_context():
        link = db.session.scalar(select(TherapistLink).where(TherapistLink.couple_id == world.couple_id))
        db.session.execute(update(TherapistLink).where(TherapistLink.id == link.id)
                           .values(revoked_at=utcnow(), revoked_by_id=world.alice))
        db.session.commit()
    after = theo.get(f"/therapist/couples/{world.couple_id}")
    assert after.status_code == 403 and "A walk round the block" not in after.get_data(as_text=True)
