"""Two partners become a couple, and part: the stories and every refusal on the way."""
from datetime import timedelta

from sqlalchemy import select, update

from couples.privacy import audit
from couples.extensions import db
from couples.models import CoupleMember, Invitation, utcnow
from support.errors import refused


def test_alice_creates_a_couple_and_gets_an_invitation(make_user, api_as):
    as_alice = api_as(make_user("alice@example.com", display_name="Alice"))
    resp = as_alice.post("/api/v1/couple")
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["my_seat"] == "a" and body["couple"]["active"] is True
    assert [p["display_name"] for p in body["partners"]] == ["Alice"]
    invite = body["invitation"]
    assert invite["url"].endswith(f"/join/{invite['code']}") and invite["expires_at"]
    assert [v["display_name"] for v in body["can_see_our_data"]] == ["Alice"]


def test_bob_joins_with_the_code_and_both_see_the_couple(couple):
    for side in (couple.as_alice, couple.as_bob):
        body = side.get("/api/v1/couple").get_json()
        assert [(p["seat"], p["display_name"]) for p in body["partners"]] == [("a", "Alice"), ("b", "Bob")]
        assert body["invitation"] is None
        assert sorted(v["display_name"] for v in body["can_see_our_data"]) == ["Alice", "Bob"]
    assert couple.as_bob.get("/api/v1/couple").get_json()["my_seat"] == "b"


def test_the_code_is_forgiving_about_case_and_spaces(make_user, api_as):
    as_alice, as_bob = api_as(make_user("alice@example.com")), api_as(make_user("bob@example.com"))
    code = as_alice.post("/api/v1/couple").get_json()["invitation"]["code"]
    messy = " " + code[:3].lower() + " " + code[3:] + " "
    assert as_bob.post("/api/v1/couple/join", json={"code": messy}).status_code == 200


def test_a_full_couple_cannot_invite_anyone_else(couple):
    assert couple.as_alice.get("/api/v1/couple").get_json()["invitation"] is None
    refused(couple.as_alice.post("/api/v1/couple/invitations"), 409, "couple_full")


def test_a_third_person_with_the_used_code_is_refused(app, couple, make_user, api_as):
    with app.app_context():
        code = db.session.scalar(select(Invitation.code).where(Invitation.used_at.is_not(None)))
    refused(api_as(make_user("carol@example.com")).post("/api/v1/couple/join", json={"code": code}),
            409, "invite_used")


def test_a_used_invite_cannot_be_reused(app, make_user, api_as):
    as_alice, as_bob = api_as(make_user("alice@example.com")), api_as(make_user("bob@example.com"))
    code = as_alice.post("/api/v1/couple").get_json()["invitation"]["code"]
    as_bob.post("/api/v1/couple/join", json={"code": code})
    as_bob.post("/api/v1/couple/leave")
    as_carol = api_as(make_user("carol@example.com"))
    refused(as_carol.post("/api/v1/couple/join", json={"code": code}), 409, "invite_used")


def test_an_expired_invite_is_refused(app, make_user, api_as):
    as_alice, as_bob = api_as(make_user("alice@example.com")), api_as(make_user("bob@example.com"))
    code = as_alice.post("/api/v1/couple").get_json()["invitation"]["code"]
    with app.app_context():
        db.session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    refused(as_bob.post("/api/v1/couple/join", json={"code": code}), 410, "invite_expired")
    assert as_alice.get("/api/v1/couple").get_json()["invitation"] is None


def test_a_new_invitation_replaces_the_old_one(make_user, api_as):
    as_alice, as_bob = api_as(make_user("alice@example.com")), api_as(make_user("bob@example.com"))
    old = as_alice.post("/api/v1/couple").get_json()["invitation"]["code"]
    resp = as_alice.post("/api/v1/couple/invitations")
    assert resp.status_code == 201
    new = resp.get_json()["code"]
    assert new != old and as_alice.get("/api/v1/couple").get_json()["invitation"]["code"] == new
    refused(as_bob.post("/api/v1/couple/join", json={"code": old}), 410, "invite_revoked")
    assert as_bob.post("/api/v1/couple/join", json={"code": new}).status_code == 200


def test_an_unknown_code(make_user, api_as):
    refused(api_as(make_user("bob@example.com")).post("/api/v1/couple/join", json={"code": "NOPE1234"}),
            404, "invite_not_found")


def test_joining_your_own_couple(make_user, api_as):
    as_alice = api_as(make_user("alice@example.com"))
    code = as_alice.post("/api/v1/couple").get_json()["invitation"]["code"]
    as_alice.post("/api/v1/couple/leave")
    refused(as_alice.post("/api/v1/couple/join", json={"code": code}), 409, "own_invite")


def test_a_person_cannot_be_in_two_active_couples(make_user, api_as):
    as_alice, as_bob = api_as(make_user("alice@example.com")), api_as(make_user("bob@example.com"))
    as_alice.post("/api/v1/couple")
    refused(as_alice.post("/api/v1/couple"), 409, "already_in_couple")
    code = as_bob.post("/api/v1/couple").get_json()["invitation"]["code"]
    refused(as_alice.post("/api/v1/couple/join", json={"code": code}), 409, "already_in_couple")


def test_the_database_itself_refuses_a_second_active_seat(app, make_user, api_as, monkeypatch):
    from couples import access
    from couples.pairing import service as pairing
    from couples.errors import DomainError
    from couples.models import User
    alice = make_user("alice@example.com")
    api_as(alice).post("/api/v1/couple")
    # Skip the friendly pre-check, as a concurrent request would: the UNIQUE column still holds.
    monkeypatch.setattr(access, "active_membership", lambda _user: None)
    with app.app_context():
        try:
            pairing.create_couple(db.session.get(User, alice.id))
        except DomainError as err:
            assert (err.code, err.status) == ("already_in_couple", 409)
        else:
            raise AssertionError("a second active couple was created")
        assert db.session.scalar(select(db.func.count(CoupleMember.id))) == 1


def test_a_therapist_cannot_do_partner_things(make_user, api_as, couple):
    as_dr = api_as(make_user("dr@example.com", role="therapist"))
    refused(as_dr.post("/api/v1/couple"), 403, "not_a_partner")
    refused(as_dr.get("/api/v1/couple"), 403, "not_a_partner")
    code_owner = api_as(make_user("carol@example.com"))
    code = code_owner.post("/api/v1/couple").get_json()["invitation"]["code"]
    refused(as_dr.post("/api/v1/couple/join", json={"code": code}), 403, "not_a_partner")
    refused(as_dr.post("/api/v1/couple/leave"), 403, "not_a_partner")


def test_actions_that_need_a_couple(make_user, api_as):
    as_alice = api_as(make_user("alice@example.com"))
    refused(as_alice.post("/api/v1/couple/invitations"), 409, "not_in_couple")
    refused(as_alice.post("/api/v1/couple/leave"), 409, "not_in_couple")
    body = as_alice.get("/api/v1/couple").get_json()
    assert body["couple"] is None and body["partners"] == [] and body["past_couples"] == []


def test_leaving_ends_the_couple_for_both_and_keeps_the_past(app, couple, make_user, api_as):
    resp = couple.as_bob.post("/api/v1/couple/leave")
    assert resp.status_code == 200
    for side in (couple.as_alice, couple.as_bob):
        body = side.get("/api/v1/couple").get_json()
        assert body["couple"] is None
        assert [c["id"] for c in body["past_couples"]] == [couple.id] and body["past_couples"][0]["ended_at"]
    with app.app_context():
        members = db.session.scalars(select(CoupleMember)).all()
        assert all(m.left_at is not None and m.active_user_id is None for m in members)
        from couples import access
        from couples.models import Couple, User
        former = db.session.get(User, couple.alice.id)
        c = db.session.get(Couple, couple.id)
        assert access.role_for(former, c, live=False) == "a"   # history stays readable
        assert access.role_for(former, c, live=True) is None   # but nothing live
    # Both are free to start again, with anyone.
    assert couple.as_alice.post("/api/v1/couple").status_code == 201
    assert couple.as_bob.post("/api/v1/couple").status_code == 201


def test_every_change_is_in_the_audit_chain(app, couple):
    couple.as_alice.post("/api/v1/couple/leave")
    with app.app_context():
        from couples.models import AuditEntry
        actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert actions == ["couple_created", "couple_joined", "couple_ended"]
        assert audit.verify()  # tampering is the audit suite's story


def test_join_code_missing_or_wrong_type(make_user, api_as):
    as_bob = api_as(make_user("bob@example.com"))
    for body in ({}, {"code": None}, {"code": 123}, {"code": ""}, {"code": ["A"]}, {"code": "A", "x": 1}):
        refused(as_bob.post("/api/v1/couple/join", json=body), 422, "invalid_input")


# --- the same story through the HTML pages ---------------------------------------------------

def test_pairing_through_the_pages(app, register, login, client):
    register(client, "alice@example.com", display_name="Alice")
    resp = client.post("/couple", follow_redirects=True)
    assert b"Your couple is ready" in resp.data and b"Invite your partner" in resp.data
    with app.app_context():
        code = db.session.scalar(select(Invitation.code))
    assert f"/join/{code}".encode() in resp.data
    client.post("/logout")

    bob = app.test_client()
    register(bob, "bob@example.com", display_name="Bob")
    page = bob.get(f"/join/{code.lower()}")
    assert page.status_code == 200 and f'value="{code}"'.encode() in page.data
    resp = bob.post("/join", data={"code": code, "from": "join"}, follow_redirects=True)
    assert b"You have joined your partner" in resp.data and b"Alice" in resp.data

    confirm = bob.get("/couple/leave")
    assert b"ends the couple for both of you" in confirm.data
    resp = bob.post("/couple/leave", follow_redirects=True)
    assert b"The couple has ended for both of you" in resp.data and b"Earlier couples" in resp.data


def test_the_join_link_asks_for_a_login_first(client):
    resp = client.get("/join/ABCDEF")
    assert resp.status_code == 302 and "/login?next=%2Fjoin%2FABCDEF" in resp.headers["Location"]


def test_a_wrong_code_on_the_page_shows_beside_the_field(client, register):
    register(client, "bob@example.com")
    resp = client.post("/join", data={"code": "NOPE"})
    assert resp.status_code == 404 and b'id="join-code-error"' in resp.data
    assert b'aria-describedby="join-code-error"' in resp.data


def test_a_refused_action_on_the_page_is_flashed(client, register):
    register(client, "alice@example.com")
    client.post("/couple")
    resp = client.post("/couple", follow_redirects=True)
    assert b"You are already in a couple" in resp.data and b"flash-error" in resp.data


def test_the_demo_command_makes_a_linked_couple_and_can_run_again(app, runner):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "Demo accounts created." in first.output and "/login" in first.output
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0 and "already exist" in again.output
    logins = lambda out: [line for line in out.splitlines() if "password:" in line]  # noqa: E731
    assert logins(first.output) == logins(again.output) and len(logins(first.output)) == 3
    from couples import access
    from couples.models import User
    with app.app_context():
        therapist = db.session.scalar(select(User).where(User.role == "therapist"))
        assert len(access.linked_couple_ids(therapist)) == 1
