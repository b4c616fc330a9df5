"""A couple links their therapist: active only with both partners' consent, revocable at once."""
import pytest
from sqlalchemy import select

from couples import access
from couples.extensions import db
from couples.models import TherapistLink, User
from support.errors import refused


@pytest.fixture
def dr(make_user):
    return make_user("dr.kim@example.com", role="therapist", display_name="Dr Kim")


@pytest.fixture
def as_dr(api_as, dr):
    return api_as(dr)


def invite(side, **body):
    return side.post("/api/v1/couple/therapists", json=body)


def viewers(side):
    return sorted((v["role"], v["display_name"]) for v in side.get("/api/v1/couple").get_json()["can_see_our_data"])


def test_the_link_is_active_only_once_both_partners_consent(couple, dr, as_dr):
    resp = invite(couple.as_alice, email="Dr.Kim@example.com")
    assert resp.status_code == 201
    link = resp.get_json()
    assert link["consent_a_at"] and link["consent_b_at"] is None and link["active"] is False
    assert link["therapist"] == {"display_name": "Dr Kim", "email": "dr.kim@example.com"}

    # Alice alone is not enough: the therapist sees nothing yet.
    assert as_dr.get("/api/v1/therapist/couples").get_json() == {"couples": []}
    refused(as_dr.get(f"/api/v1/therapist/couples/{couple.id}"), 403, "no_consent")
    assert ("therapist", "Dr Kim") not in viewers(couple.as_bob)

    # Bob sees the pending link with each partner's consent state, and agrees.
    pending = couple.as_bob.get("/api/v1/couple").get_json()["therapists"]
    assert [(t["id"], t["active"]) for t in pending] == [(link["id"], False)]
    resp = couple.as_bob.post(f"/api/v1/couple/therapists/{link['id']}/consent")
    assert resp.status_code == 200 and resp.get_json()["active"] is True

    linked = as_dr.get("/api/v1/therapist/couples").get_json()["couples"]
    assert [(c["couple_id"], c["partners"]) for c in linked] == [(couple.id, ["Alice", "Bob"])]
    assert set(linked[0]) == {"couple_id", "partners", "invited_at", "linked_at"}
    assert as_dr.get(f"/api/v1/therapist/couples/{couple.id}").status_code == 200
    for side in (couple.as_alice, couple.as_bob):
        assert viewers(side) == [("partner", "Alice"), ("partner", "Bob"), ("therapist", "Dr Kim")]


def test_inviting_with_the_therapists_share_code(couple, dr, as_dr):
    link = invite(couple.as_bob, code=dr.therapist_code.lower()).get_json()
    assert link["consent_b_at"] and link["consent_a_at"] is None
    couple.as_alice.post(f"/api/v1/couple/therapists/{link['id']}/consent")
    assert len(as_dr.get("/api/v1/therapist/couples").get_json()["couples"]) == 1


def test_consenting_twice_changes_nothing(couple, dr):
    link = invite(couple.as_alice, email=dr.email).get_json()
    again = couple.as_alice.post(f"/api/v1/couple/therapists/{link['id']}/consent").get_json()
    assert again["consent_a_at"] == link["consent_a_at"] and again["active"] is False


def test_either_partner_revokes_and_it_takes_effect_at_once(app, couple, dr, as_dr):
    link = invite(couple.as_alice, email=dr.email).get_json()
    couple.as_bob.post(f"/api/v1/couple/therapists/{link['id']}/consent")
    resp = couple.as_bob.post(f"/api/v1/couple/therapists/{link['id']}/revoke")
    assert resp.status_code == 200 and resp.get_json()["revoked_at"] and resp.get_json()["active"] is False
    assert as_dr.get("/api/v1/therapist/couples").get_json() == {"couples": []}
    refused(as_dr.get(f"/api/v1/therapist/couples/{couple.id}"), 403, "no_consent")
    assert viewers(couple.as_alice) == [("partner", "Alice"), ("partner", "Bob")]
    with app.app_context():
        row = db.session.get(TherapistLink, link["id"])
        assert row.live_key is None and row.revoked_by_id == couple.bob.id
        assert access.active_link(db.session.get(User, dr.id), couple.id) is None
    # Revoked means revoked: no consent revives it, and it may be invited afresh.
    refused(couple.as_alice.post(f"/api/v1/couple/therapists/{link['id']}/consent"), 409, "link_revoked")
    refused(couple.as_alice.post(f"/api/v1/couple/therapists/{link['id']}/revoke"), 409, "link_revoked")
    assert invite(couple.as_alice, email=dr.email).status_code == 201


def test_revoking_a_pending_invitation(couple, dr):
    link = invite(couple.as_alice, email=dr.email).get_json()
    assert couple.as_alice.post(f"/api/v1/couple/therapists/{link['id']}/revoke").status_code == 200
    assert couple.as_bob.get("/api/v1/couple").get_json()["therapists"] == []


def test_leaving_the_couple_ends_the_therapists_access(couple, dr, as_dr):
    link = invite(couple.as_alice, email=dr.email).get_json()
    couple.as_bob.post(f"/api/v1/couple/therapists/{link['id']}/consent")
    couple.as_alice.post("/api/v1/couple/leave")
    assert as_dr.get("/api/v1/therapist/couples").get_json() == {"couples": []}


def test_the_same_therapist_cannot_be_invited_twice(couple, dr):
    invite(couple.as_alice, email=dr.email)
    refused(invite(couple.as_bob, code=dr.therapist_code), 409, "therapist_already_linked")


def test_a_therapist_only_sees_couples_that_linked_them(couple, dr, as_dr, make_user, api_as):
    other = api_as(make_user("dana@example.com"))
    other.post("/api/v1/couple")
    with_others = invite(other, email=dr.email).get_json()  # Dana alone: never consented by a partner
    assert with_others["active"] is False
    assert as_dr.get("/api/v1/therapist/couples").get_json() == {"couples": []}
    for couple_id in (couple.id, 9999):
        refused(as_dr.get(f"/api/v1/therapist/couples/{couple_id}"), 403, "no_consent")


def test_inviting_someone_who_is_not_a_therapist(couple, make_user):
    """Answered exactly like an unknown email: inviting does not tell who has an account."""
    make_user("carol@example.com")
    refused(invite(couple.as_alice, email="carol@example.com"), 404, "therapist_not_found")


def test_inviting_an_unknown_therapist(couple):
    refused(invite(couple.as_alice, email="nobody@example.com"), 404, "therapist_not_found")
    refused(invite(couple.as_alice, code="ZZZZZZZZ"), 404, "therapist_not_found")


@pytest.mark.parametrize("body", [{}, {"email": "a@example.com", "code": "ABC"}, {"email": None},
                                  {"email": "not an email"}, {"code": 12345}, {"name": "Dr Kim"}])
def test_invite_needs_exactly_one_of_email_and_code(couple, body):
    refused(invite(couple.as_alice, **body), 422, "invalid_input")


def test_a_partner_without_a_couple_cannot_invite(make_user, api_as, dr):
    refused(invite(api_as(make_user("solo@example.com")), email=dr.email), 409, "not_in_couple")


def test_links_of_another_couple_are_not_found(couple, dr, make_user, api_as):
    link = invite(couple.as_alice, email=dr.email).get_json()
    outsider = api_as(make_user("eve@example.com"))
    outsider.post("/api/v1/couple")
    refused(outsider.post(f"/api/v1/couple/therapists/{link['id']}/consent"), 404, "link_not_found")
    refused(outsider.post(f"/api/v1/couple/therapists/{link['id']}/revoke"), 404, "link_not_found")
    refused(couple.as_alice.post("/api/v1/couple/therapists/424242/consent"), 404, "link_not_found")


def test_a_therapist_cannot_consent_or_invite_for_a_couple(couple, dr, as_dr):
    link = invite(couple.as_alice, email=dr.email).get_json()
    refused(as_dr.post(f"/api/v1/couple/therapists/{link['id']}/consent"), 403, "not_a_partner")
    refused(as_dr.post(f"/api/v1/couple/therapists/{link['id']}/revoke"), 403, "not_a_partner")
    refused(invite(as_dr, email=dr.email), 403, "not_a_partner")


def test_a_partner_cannot_use_the_therapist_views(couple):
    refused(couple.as_alice.get("/api/v1/therapist/couples"), 403, "therapist_only")
    refused(couple.as_alice.get(f"/api/v1/therapist/couples/{couple.id}"), 403, "therapist_only")


def test_one_live_link_per_therapist_and_couple_is_a_database_rule(app, couple, dr):
    invite(couple.as_alice, email=dr.email)
    from sqlalchemy.exc import IntegrityError
    with app.app_context():
        db.session.add(TherapistLink(couple_id=couple.id, therapist_id=dr.id, live_key=f"{couple.id}:{dr.id}"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


# --- the same story through the HTML pages ---------------------------------------------------

def test_consent_and_revocation_through_the_pages(app, couple, dr, login):
    alice, bob = app.test_client(), app.test_client()
    login(alice, couple.alice.email)
    login(bob, couple.bob.email)
    resp = alice.post("/couple/therapists", data={"email": "", "code": dr.therapist_code}, follow_redirects=True)
    assert b"Therapist invited" in resp.data and b"Waiting for your partner to agree" in resp.data
    with app.app_context():
        link_id = db.session.scalar(select(TherapistLink.id))
    page = bob.get("/dashboard")
    assert b"I agree to share with <bdi>Dr Kim</bdi>" in page.data
    resp = bob.post(f"/couple/therapists/{link_id}/consent", follow_redirects=True)
    assert b"Both of you agreed" in resp.data

    therapist = app.test_client()
    login(therapist, dr.email)
    page = therapist.get("/dashboard")
    assert b"<bdi>Alice</bdi> and <bdi>Bob</bdi>" in page.data and dr.therapist_code.encode() in page.data

    alice.post(f"/couple/therapists/{link_id}/revoke")
    assert b"No couple has linked you yet" in therapist.get("/dashboard").data


def test_the_invite_form_shows_its_errors_beside_the_fields(couple, login, app):
    alice = app.test_client()
    login(alice, couple.alice.email)
    resp = alice.post("/couple/therapists", data={"email": "nobody@example.com", "code": ""})
    assert resp.status_code == 404 and b"No therapist has this email or code" in resp.data
    resp = alice.post("/couple/therapists", data={"email": "bad", "code": ""})
    assert resp.status_code == 422 and b'id="therapist-email-error"' in resp.data


def test_each_page_says_who_sees_what_to_the_person_reading_it(couple, dr, login, app):
    """Partners are told their words stay with the two of them and their chosen therapist; a
    therapist is told they see a couple only with both partners' consent, and that looking is
    recorded (the audit log), not the partners' promise."""
    alice, therapist = app.test_client(), app.test_client()
    login(alice, couple.alice.email)
    login(therapist, dr.email)
    partner_page, therapist_page = alice.get("/dashboard").data, therapist.get("/dashboard").data
    assert b"Your words stay between the two of you" in partner_page
    assert b"Your words stay between the two of you" not in therapist_page
    assert b"only while both partners consent, and each time you look is recorded" in therapist_page
    assert b"Your words stay between the two of you" in app.test_client().get("/login").data
