"""Issue 24, finding 8: an invitation link opened by someone logged out is kept through register ->
log in -> the join step, as a validated `next` path; anything that would leave the site is dropped.
Also what the consent text says a therapist will see (finding 10)."""
import pytest

from support.people import PASSWORD

FORM = {"password": PASSWORD, "role": "partner", "display_name": "Bo"}


def invitation(client, register):
    register(client, "ada@example.com")
    client.post("/couple")
    page = client.get("/dashboard").get_data(as_text=True)
    return page.split('class="copyable code-big">', 1)[1].split("<", 1)[0]


def test_the_invitation_is_kept_from_the_link_through_registering_and_logging_in(app, client, register):
    code = invitation(client, register)
    stranger = app.test_client()
    to_login = stranger.get(f"/join/{code}")
    assert to_login.status_code == 302 and to_login.location == f"/login?next=%2Fjoin%2F{code}"
    login_page = stranger.get(to_login.location).get_data(as_text=True)
    assert "Your partner invited you." in login_page
    assert login_page.count(f'href="/register?next=/join/{code}"') == 2  # the page's link and the menu's

    register_page = stranger.get(f"/register?next=/join/{code}").get_data(as_text=True)
    assert f'action="/register?next=/join/{code}"' in register_page and "Your partner invited you." in register_page
    refused = stranger.post(f"/register?next=/join/{code}", data=dict(FORM, email="bo@example"))
    assert refused.status_code == 422
    assert f'action="/register?next=/join/{code}"' in refused.get_data(as_text=True)  # kept on a retry
    done = stranger.post(f"/register?next=/join/{code}", data=dict(FORM, email="bo@example.com"))
    assert done.status_code == 303 and done.location == f"/login?next=/join/{code}"

    logged_in = stranger.post(f"/login?next=/join/{code}", data={"email": "bo@example.com", "password": PASSWORD})
    assert logged_in.status_code == 302 and logged_in.location == f"/join/{code}"
    join_page = stranger.get(logged_in.location).get_data(as_text=True)
    assert f'value="{code}"' in join_page
    joined = stranger.post("/join", data={"code": code, "from": "join"})
    assert joined.status_code == 303 and joined.location == "/dashboard"


@pytest.mark.parametrize("target", ["https://evil.example/join/X", "//evil.example", "/\\evil.example",
                                    "javascript:alert(1)", "/%2F%2Fevil.example"])
def test_a_next_that_leaves_the_site_is_dropped_on_every_step(client, target):
    page = client.get("/register", query_string={"next": target}).get_data(as_text=True)
    assert "evil" not in page and "javascript" not in page and "Your partner invited you." not in page
    done = client.post("/register", query_string={"next": target}, data=dict(FORM, email="cy@example.com"))
    assert done.status_code == 303 and done.location == "/login"
    logged_in = client.post("/login", query_string={"next": target},
                            data={"email": "cy@example.com", "password": PASSWORD})
    assert logged_in.location == "/dashboard"


def test_the_consent_text_says_what_a_therapist_will_see(client, register):
    register(client, "ada@example.com")
    client.post("/couple")
    page = " ".join(client.get("/dashboard").get_data(as_text=True).split())
    for promise in ("including sessions from before the link", "your answers to the private safety question",
                    "the reasons you give for pausing or ending", "check-ins you keep to yourself"):
        assert promise in page, promise
