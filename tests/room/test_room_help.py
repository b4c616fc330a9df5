"""Issue 23: the live room says truthfully who sees the private safety answer (never the partner;
the couple's linked therapist, named under the question), and its "not today" screen carries the
crisis services and the emergency sentence (hidden in the page until room.js shows phase "hold";
tests/browser/test_help.py watches it happen)."""
import json
import re
from types import SimpleNamespace

from markupsafe import escape
from sqlalchemy import update

from couples.config import DEFAULT_CRISIS_RESOURCES
from couples.extensions import db
from couples.models import User
from support.inprocess import logged_in, start_session
from support.people import form_couple, link_therapist, register_people, tokens_for

EMERGENCY = "If you are in danger now, call your local emergency number."


def room_page(app, who, public_id) -> str:
    resp = logged_in(app, who).get(f"/practice/{public_id}")
    assert resp.status_code == 200, (who, resp.status_code)
    return resp.get_data(as_text=True)


def config_of(page: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="room-config">(.*?)</script>', page, re.S).group(1))


def crisis_help(page: str) -> str:
    found = re.search(r'<div class="crisis-help" id="crisis-help" hidden>(.*?)</div>', page, re.S)
    assert found, "no crisis help in the room page"
    return found.group(1)


def audience(page: str) -> str | None:
    """The sentence under the safety question naming who else sees the answer, if any."""
    found = re.search(r'<p class="safety-audience" id="safety-audience" hidden>(.*?)</p>', page, re.S)
    return re.sub(r"\s+", " ", found.group(1)) if found else None


def couple_with(app, therapists=(), revoked=()):
    """Alice and Bob in a couple, with an active link to each of `therapists` and a link Alice
    revoked to each of `revoked`; a session Alice started. Returns its public id."""
    with app.app_context():
        people = register_people(("alice", "bob", *therapists, *revoked), therapists=(*therapists, *revoked))
        couple = form_couple(people["alice"], people["bob"])
        for name in therapists:
            link_therapist(couple, people[name])
        for name in revoked:
            link_therapist(couple, people[name], revoked_by=people["alice"])
        db.session.commit()
        tokens = tokens_for({"alice": people["alice"]})
        db.session.remove()
    return start_session(app, SimpleNamespace(tokens=tokens))


def test_the_not_today_screen_carries_the_emergency_sentence_and_the_services(app, world):
    public_id = start_session(app, world)
    for who in ("alice", "bob", "theo"):
        shown = crisis_help(room_page(app, who, public_id))
        assert shown.index(EMERGENCY) < shown.index("<h3>If you need someone to talk to</h3>")
        for entry in DEFAULT_CRISIS_RESOURCES:
            assert str(escape(entry["name"])) in shown and f'href="{entry["url"]}"' in shown
        assert 'href="tel:18007997233"' in shown
        assert "<h4>United Kingdom</h4>" in shown  # under the section's own heading


def test_the_room_shows_the_deployments_own_list(make_app, world, tmp_path, monkeypatch):
    path = tmp_path / "crisis.json"
    path.write_text(json.dumps([{"name": "Local <Line>", "contact": "Call 123.", "phone": "123"}]))
    monkeypatch.setenv("COUPLES_CRISIS_RESOURCES", str(path))
    configured = make_app()
    public_id = start_session(configured, world)
    shown = crisis_help(room_page(configured, "alice", public_id))
    assert EMERGENCY in shown and "Local &lt;Line&gt;" in shown and 'href="tel:123"' in shown
    assert "Samaritans" not in shown


def test_under_the_safety_question_the_page_names_the_linked_therapist(app, world):
    public_id = start_session(app, world)
    for who in ("alice", "bob"):
        page = room_page(app, who, public_id)
        assert audience(page) == "Your therapist, <bdi>Theo</bdi>, will see your answer."
        assert config_of(page)["therapists"] == ["Theo"]
    observing = room_page(app, "theo", public_id)
    assert audience(observing) is None and config_of(observing)["therapists"] == []


def test_without_a_linked_therapist_nobody_is_named(app):
    page = room_page(app, "alice", couple_with(app))
    assert audience(page) is None and config_of(page)["therapists"] == []


def test_a_revoked_therapist_is_not_named_and_two_linked_are(app):
    page = room_page(app, "alice", couple_with(app, therapists=("theo", "tara"), revoked=("rex",)))
    assert audience(page) == "Your therapists, <bdi>Theo</bdi> and <bdi>Tara</bdi>, will see your answer."
    assert config_of(page)["therapists"] == ["Theo", "Tara"]


def test_a_therapist_name_is_escaped_under_the_question(app):
    public_id = couple_with(app, therapists=("theo",))
    with app.app_context():
        db.session.execute(update(User).where(User.email == "theo@example.com").values(display_name="Dr <i>Theo</i>"))
        db.session.commit()
    page = room_page(app, "alice", public_id)
    assert audience(page) == "Your therapist, <bdi>Dr &lt;i&gt;Theo&lt;/i&gt;</bdi>, will see your answer."
