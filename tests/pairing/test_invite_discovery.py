"""Issue 21, item 7: inviting a therapist tells a partner nothing about who has an account.
A partner's email, a deleted account's, and an email nobody has are answered byte for byte alike,
on the API and on the dashboard's form."""
import re

import pytest

PASSWORD = "correct horse battery"  # the default of the conftest.py helpers


@pytest.fixture
def others(make_user, api_as):
    """Carol: a partner in no couple with Alice; Dana: deleted her account."""
    make_user("carol@example.com")
    dana = make_user("dana@example.com")
    assert api_as(dana).post("/api/v1/me/delete", json={"password": PASSWORD,
                                                         "confirm": "delete my account"}).status_code in (200, 204)


@pytest.mark.parametrize("email", ["carol@example.com", "dana@example.com"])
def test_the_api_answers_an_account_that_is_no_therapist_like_no_account(couple, others, email):
    nobody = couple.as_alice.post("/api/v1/couple/therapists", json={"email": "nobody@example.com"})
    someone = couple.as_alice.post("/api/v1/couple/therapists", json={"email": email})
    assert (someone.status_code, someone.get_json()) == (nobody.status_code, nobody.get_json()) == (
        404, {"error": {"code": "therapist_not_found", "message": "No therapist has this email or code.",
                        "fields": {}}})


def test_the_dashboard_form_answers_a_partner_like_no_account(app, couple, login, others):
    client = app.test_client()
    login(client, "alice@example.com")
    pages = []
    for email in ("carol@example.com", "nobody@example.com"):
        resp = client.post("/couple/therapists", data={"email": email})
        html = re.sub(r'name="csrf_token" value="[^"]+"', "", resp.get_data(as_text=True))
        pages.append((resp.status_code, html.replace(email, "EMAIL")))
    assert pages[0] == pages[1] and pages[0][0] == 404
