"""Registering, logging in and out, and bearer tokens: the stories and their refusals."""
import re

import pytest
from sqlalchemy import select

from couples.extensions import db
from couples.models import AuthSession, User
from support.errors import error_of
from support.people import PASSWORD  # the default of the conftest.py helpers


def test_a_partner_registers_and_lands_on_the_dashboard(client, register):
    resp = register(client, "alice@example.com", "partner")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/dashboard")
    page = client.get("/dashboard")
    assert page.status_code == 200 and b"Start as a couple" in page.data


def test_a_therapist_registers_and_sees_their_share_code(app, client, register):
    register(client, "dr@example.com", "therapist", display_name="Dr Kim")
    with app.app_context():
        code = db.session.scalar(select(User.therapist_code).where(User.email == "dr@example.com"))
    page = client.get("/dashboard")
    assert code and code.encode() in page.data and b"Your couples" in page.data


def test_the_password_is_stored_as_an_argon2id_hash(app, client, register):
    register(client, "alice@example.com")
    with app.app_context():
        stored = db.session.scalar(select(User.password_hash))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


@pytest.mark.parametrize("data, field", [
    ({"email": "not-an-email"}, "email"),
    ({"password": "short"}, "password"),
    ({"display_name": "   "}, "display_name"),
    ({"role": "admin"}, "role"),
])
def test_registration_form_shows_each_problem_beside_its_field(client, data, field):
    form = {"email": "a@example.com", "password": PASSWORD, "display_name": "A", "role": "partner", **data}
    resp = client.post("/register", data=form)
    assert resp.status_code == 422
    assert f'id="{field}-error"'.encode() in resp.data or b'id="role-error"' in resp.data
    assert b"Please check the following" in resp.data


def test_the_registration_form_refuses_an_invisible_direction_change_beside_the_name(client):
    form = {"email": "a@example.com", "password": PASSWORD, "display_name": "Sam\u202eeivl", "role": "partner"}
    resp = client.post("/register", data=form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'aria-invalid="true"' in page
    beside = re.search(r'<p class="error-message" id="display_name-error">([^<]*)</p>', page)
    assert beside and "invisible character U+202E (right-to-left override)" in beside.group(1)
    assert '<a href="#display_name">Remove the invisible character' in page


def test_registering_an_email_twice_changes_nothing(client, register, login):
    register(client, "alice@example.com")
    client.post("/logout")
    resp = client.post("/register", data={"email": "ALICE@example.com", "password": "another long password",
                                          "display_name": "Mallory", "role": "partner"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/login")  # as for a new email
    assert login(client, "alice@example.com", password="another long password").status_code == 401
    assert login(client, "alice@example.com").status_code == 302


def test_login_then_logout(client, make_user, login):
    make_user("alice@example.com")
    resp = login(client, "alice@example.com")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/dashboard")
    assert client.get("/dashboard").status_code == 200
    assert client.post("/logout").status_code == 302
    resp = client.get("/dashboard")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client, make_user, login):
    make_user("alice@example.com")
    wrong = login(client, "alice@example.com", password="wrong password!")
    unknown = login(client, "nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert b"That email and password do not match." in wrong.data and b"That email and password do not match." in unknown.data


def test_login_redirects_only_to_a_path_on_this_site(client, make_user):
    make_user("alice@example.com")
    resp = client.post("/login?next=//evil.example/x", data={"email": "alice@example.com", "password": PASSWORD})
    assert resp.headers["Location"].endswith("/dashboard")


def test_logging_out_ends_that_login_on_the_server(app, client, make_user, login):
    make_user("alice@example.com")
    login(client, "alice@example.com")
    with client.session_transaction() as sess:
        saved = dict(sess)
    client.post("/logout")
    with client.session_transaction() as sess:  # replay the old cookie's contents
        sess.update(saved)
    resp = client.get("/dashboard")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_pages_need_a_login(client):
    resp = client.get("/dashboard")
    assert resp.status_code == 302 and "/login?next=" in resp.headers["Location"]


# --- the API --------------------------------------------------------------------------------

def test_register_by_api_and_get_a_token(client):
    resp = client.post("/api/v1/accounts", json={"email": "Alice@Example.com", "password": PASSWORD,
                                                   "display_name": "Alice", "role": "partner"})
    assert resp.status_code == 202 and set(resp.get_json()) == {"message"}  # the same for a taken email
    token = client.post("/api/v1/tokens", json={"email": "alice@example.com", "password": PASSWORD,
                                                "label": "my script"})
    assert token.status_code == 201
    body = token.get_json()
    assert set(body) == {"token", "expires_at", "user"} and body["user"]["email"] == "alice@example.com"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.get_json()["display_name"] == "Alice"


def test_password_hash_never_leaves_the_server(make_user, api_as):
    body = api_as(make_user("alice@example.com")).get("/api/v1/me").get_json()
    assert "password_hash" not in body and "password" not in body


def test_revoking_the_current_token(make_user, api_as):
    as_alice = api_as(make_user("alice@example.com"))
    assert as_alice.delete("/api/v1/tokens/current").status_code == 204
    resp = as_alice.get("/api/v1/me")
    assert resp.status_code == 401 and error_of(resp)["code"] == "unauthenticated"


def test_tokens_are_never_accepted_in_the_url(client, make_user, api_as):
    token = api_as(make_user("alice@example.com")).token
    for param in ("token", "access_token"):
        resp = client.get(f"/api/v1/me?{param}={token}")
        assert resp.status_code == 401 and error_of(resp)["code"] == "unauthenticated"


def test_a_bad_or_malformed_bearer_token_is_401(client):
    for header in ("Bearer nope", "Bearer ", "Basic abc", "Bearer " + "x" * 500):
        resp = client.get("/api/v1/me", headers={"Authorization": header})
        assert resp.status_code == 401 and error_of(resp)["code"] == "unauthenticated"


def test_unauthenticated_api_calls_get_401_json_not_a_redirect(client):
    for method, path in [("GET", "/api/v1/me"), ("GET", "/api/v1/couple"), ("POST", "/api/v1/couple")]:
        resp = client.open(path, method=method)
        assert resp.status_code == 401 and error_of(resp)["code"] == "unauthenticated"


def test_token_with_wrong_password(client, make_user):
    make_user("alice@example.com")
    resp = client.post("/api/v1/tokens", json={"email": "alice@example.com", "password": "wrong password"})
    assert resp.status_code == 401 and error_of(resp)["code"] == "bad_credentials"


@pytest.mark.parametrize("change, field", [
    ({"email": "nope"}, "email"),
    ({"password": "123456789"}, "password"),
    ({"display_name": ""}, "display_name"),
    ({"display_name": "x" * 81}, "display_name"),
    ({"role": "admin"}, "role"),
    ({"role": None}, "role"),
    ({"is_admin": True}, "is_admin"),
])
def test_api_registration_refusals(client, change, field):
    data = {"email": "a@example.com", "password": PASSWORD, "display_name": "A", "role": "partner", **change}
    resp = client.post("/api/v1/accounts", json=data)
    err = error_of(resp)
    assert resp.status_code == 422 and err["code"] == "invalid_input" and field in err["fields"]


# Each one can make a name read differently from what it is, or hide a line break in it.
INVISIBLE = {"right-to-left override": "\u202e", "left-to-right embedding": "\u202a",
             "pop directional formatting": "\u202c", "right-to-left isolate": "\u2067",
             "first strong isolate": "\u2068", "pop directional isolate": "\u2069",
             "left-to-right mark": "\u200e", "right-to-left mark": "\u200f", "arabic letter mark": "\u061c",
             "zero width space": "\u200b", "byte order mark": "\ufeff", "soft hyphen": "\u00ad",
             "line separator": "\u2028", "newline": "\n", "tab": "\t", "C1 next line": "\x85",
             "C0 escape": "\x1b"}


@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_api_registration_refuses_invisible_characters_in_a_name(client, char):
    data = {"email": "a@example.com", "password": PASSWORD, "display_name": f"Sam{char}Lee", "role": "partner"}
    resp = client.post("/api/v1/accounts", json=data)
    err = error_of(resp)
    assert resp.status_code == 422 and err["code"] == "invalid_input" and set(err["fields"]) == {"display_name"}
    assert err["fields"]["display_name"].startswith(f"Remove the invisible character U+{ord(char):04X} (")
    assert "how this text looks to other people" in err["fields"]["display_name"]


def test_a_therapist_email_shown_to_couples_cannot_hide_a_direction_change(client):
    data = {"email": "dr@moc.\u202eexample.com", "password": PASSWORD, "display_name": "Dr Kim", "role": "therapist"}
    err = error_of(client.post("/api/v1/accounts", json=data))
    assert err["code"] == "invalid_input" and "U+202E" in err["fields"]["email"]


@pytest.mark.parametrize("name", ["Zo\u00eb", "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627",
                                  "\u05e0\u05d5\u05e2\u05d4", "Sam \U0001f469\u200d\U0001f469\u200d\U0001f467",
                                  "\u0915\u094d\u200d\u0937"])
def test_names_in_any_script_with_their_joiners_are_welcome(client, name):
    resp = client.post("/api/v1/accounts", json={"email": "a@example.com", "password": PASSWORD,
                                                   "display_name": name, "role": "partner"})
    assert resp.status_code == 202
    token = client.post("/api/v1/tokens", json={"email": "a@example.com", "password": PASSWORD})
    assert token.get_json()["user"]["display_name"] == name


def test_a_name_stored_before_the_rule_still_logs_in_and_reads_back_unchanged(client, make_user, api_as):
    older = make_user("sam@example.com", display_name="Sam\u202eLee")  # written without the schema
    as_sam = api_as(older)
    assert as_sam.get("/api/v1/me").get_json()["display_name"] == "Sam\u202eLee"
    resp = client.post("/login", data={"email": "sam@example.com", "password": PASSWORD}, follow_redirects=True)
    assert resp.status_code == 200 and "Hello, <bdi>Sam\u202eLee</bdi>" in resp.get_data(as_text=True)


def test_api_registration_missing_fields(client):
    err = error_of(client.post("/api/v1/accounts", json={}))
    assert set(err["fields"]) == {"email", "password", "display_name", "role"}


def test_api_registration_of_a_taken_email(client, make_user):
    make_user("alice@example.com")
    resp = client.post("/api/v1/accounts", json={"email": "alice@example.com", "password": PASSWORD,
                                                   "display_name": "A", "role": "partner"})
    new = client.post("/api/v1/accounts", json={"email": "bob@example.com", "password": PASSWORD,
                                                  "display_name": "B", "role": "partner"})
    assert resp.status_code == new.status_code == 202 and resp.get_json() == new.get_json()


def test_each_login_is_its_own_revocable_row(app, make_user, api_as):
    alice = make_user("alice@example.com")
    phone, laptop = api_as(alice), api_as(alice)
    phone.delete("/api/v1/tokens/current")
    assert phone.get("/api/v1/me").status_code == 401
    assert laptop.get("/api/v1/me").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(db.func.count(AuthSession.id))) == 2
