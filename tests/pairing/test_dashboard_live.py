"""GET /api/v1/dashboard: what a dashboard shows live, and only to whom it belongs. A partner sees
their own couple and its open session ("Join" until they have been in it); a therapist only the
couples whose both partners consent now; a stranger nothing of anyone. The therapist's private
note saved in place (JSON) keeps the note route's rules."""
from sqlalchemy import select

from couples.extensions import db
from couples.models import Connection, TherapistLink
from couples.room import presence
from support.inprocess import ApiClient, seed_world, start_session
from support.people import form_couple, link_therapist, register_people, tokens_for


def dashboard(app, world, who):
    return ApiClient(app.test_client(), world.tokens[who]).get("/api/v1/dashboard")


def other_world(app, world):
    """A second couple (Kim and Lou) linked to their own therapist (Pat), and Theo invited by them
    but with only one partner's consent; tokens added to `world`."""
    with app.app_context():
        users = register_people(["kim", "lou", "pat"], therapists=("pat",))
        couple = form_couple(users["kim"], users["lou"])
        link_therapist(couple, users["pat"])
        theo = db.session.get(type(users["kim"]), world.theo)
        db.session.add(TherapistLink(couple_id=couple.id, therapist_id=theo.id, consent_a_at=couple.created_at,
                                     live_key=f"{couple.id}:{theo.id}"))
        db.session.commit()
        world.tokens.update(tokens_for(users))
        world.other_couple = couple.id
        db.session.remove()


def test_each_person_sees_only_their_own_couple(app):
    world = seed_world(app)
    other_world(app, world)
    pid = start_session(app, world)

    alice = dashboard(app, world, "alice").get_json()
    assert alice["role"] == "partner" and alice["couple"]["id"] == world.couple_id
    assert alice["couple"]["partners"] == {"a": "Alice", "b": "Bob"} and alice["couple"]["therapists"] == ["Theo"]
    assert alice["session"]["id"] == pid and alice["session"]["started_by"] == "a"
    kim = dashboard(app, world, "kim").get_json()
    assert kim["couple"]["id"] == world.other_couple and kim["session"] is None
    assert kim["couple"]["therapists"] == ["Pat"]  # Theo is not linked until Lou consents too
    eve = dashboard(app, world, "eve").get_json()  # in no couple: nobody's couple, nobody's session
    assert (eve["role"], eve["couple"], eve["session"]) == ("partner", None, None)
    theo = dashboard(app, world, "theo").get_json()
    assert [c["id"] for c in theo["couples"]] == [world.couple_id]  # not Kim and Lou's: one consent only
    # A therapist learns who is in the room only by observing (audited): not from here.
    assert theo["couples"][0]["session"]["id"] == pid and not {"joined", "here"} & set(theo["couples"][0]["session"])
    pat = dashboard(app, world, "pat").get_json()
    assert [c["id"] for c in pat["couples"]] == [world.other_couple]
    assert app.test_client().get("/api/v1/dashboard").status_code == 401


def test_a_partner_who_never_joined_is_asked_to_join_and_sees_who_is_in_the_room(app):
    world = seed_world(app)
    pid = start_session(app, world)
    bob = dashboard(app, world, "bob").get_json()
    assert bob["session"]["joined"] is False and bob["session"]["here"] == {"a": False, "b": False}
    assert dashboard(app, world, "alice").get_json()["session"]["joined"] is True  # she started it
    with app.app_context():  # Alice's socket is in the room
        from couples.models import AuthSession, PracticeSession
        login = db.session.scalar(select(AuthSession.id).where(AuthSession.user_id == world.alice))
        session = db.session.scalar(select(PracticeSession).where(PracticeSession.public_id == pid))
        db.session.add(Connection(sid="s-alice", user_id=world.alice, auth_session_id=login,
                                  session_id=session.id, role="a", process=presence.PROCESS))
        db.session.commit()
    assert dashboard(app, world, "bob").get_json()["session"]["here"] == {"a": True, "b": False}


def test_an_unchanged_status_is_answered_304_and_a_revoked_link_changes_it(app):
    world = seed_world(app)
    first = dashboard(app, world, "theo")
    etag = first.headers["ETag"]
    assert etag == f'"{first.get_json()["version"]}"'
    theo = ApiClient(app.test_client(), world.tokens["theo"])
    assert theo.get("/api/v1/dashboard", headers={"If-None-Match": etag}).status_code == 304
    alice = ApiClient(app.test_client(), world.tokens["alice"])
    link = alice.get("/api/v1/couple").get_json()["therapists"][0]["id"]
    assert alice.post(f"/api/v1/couple/therapists/{link}/revoke", json={}).status_code == 200
    after = theo.get("/api/v1/dashboard", headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.get_json()["couples"] == []
    assert dashboard(app, world, "bob").get_json()["couple"]["therapists"] == []


def test_a_note_saved_in_place_answers_json_and_only_to_the_consented_therapist(app):
    world = seed_world(app)
    other_world(app, world)
    pid = start_session(app, world)
    wants_json = {"Accept": "application/json"}
    theo = ApiClient(app.test_client(), world.tokens["theo"])
    saved = theo.post(f"/sessions/{pid}/notes", data={"body": "Bob <b>softened</b>", "back": "room"},
                      json=None, headers=wants_json)
    assert saved.status_code == 201
    assert saved.get_json()["note"]["body"] == "Bob <b>softened</b>"  # as written; the page sets it as text
    empty = theo.post(f"/sessions/{pid}/notes", data={"body": "  "}, json=None, headers=wants_json)
    assert empty.status_code == 422 and empty.get_json()["error"]["fields"] == {"body": empty.get_json()["error"]["message"]}
    for outsider in ("alice", "pat", "eve"):  # a partner, another couple's therapist, a stranger
        resp = ApiClient(app.test_client(), world.tokens[outsider]).post(
            f"/sessions/{pid}/notes", data={"body": "x"}, json=None, headers=wants_json)
        assert resp.status_code == 403, outsider
    # Without JavaScript the same form still posts and comes back to the room at its notes.
    plain = theo.post(f"/sessions/{pid}/notes", data={"body": "Second note", "back": "room"}, json=None)
    assert plain.status_code == 303 and plain.headers["Location"].endswith(f"/practice/{pid}#notes")
