"""Bad input never gets a 500: every endpoint answers garbage with the one error shape."""
import pytest

from support.errors import error_of


# Every endpoint of the accounts and couples API, with a valid-looking path.
ENDPOINTS = [
    ("POST", "/api/v1/accounts"), ("POST", "/api/v1/tokens"), ("DELETE", "/api/v1/tokens/current"),
    ("GET", "/api/v1/me"), ("GET", "/api/v1/couple"), ("POST", "/api/v1/couple"),
    ("POST", "/api/v1/couple/invitations"), ("POST", "/api/v1/couple/join"), ("POST", "/api/v1/couple/leave"),
    ("POST", "/api/v1/couple/therapists"), ("POST", "/api/v1/couple/therapists/1/consent"),
    ("POST", "/api/v1/couple/therapists/1/revoke"), ("GET", "/api/v1/therapist/couples"),
    ("GET", "/api/v1/therapist/couples/1"),
]
POSTS = [(m, p) for m, p in ENDPOINTS if m == "POST"]

GARBAGE_JSON = [
    None, [], [1, 2], "text", 7, 7.9, True, {"email": None}, {"email": ["a"]}, {"email": {"$ne": ""}},
    {"code": {"nested": {"deeper": [1, {"x": None}]}}}, {"code": 7}, {"code": True}, {"code": 7.9},
    {"password": 12345678901}, {"role": ["partner"]}, {"label": {"a": 1}}, {"email": "x" * 5000},
    {"code": "\u0000\u0001"}, {"unknown": 1}, {"email": "a@example.com", "code": "C", "extra": []},
]
GARBAGE_RAW = [
    (b"{", "application/json"), (b"{'single': 'quotes'}", "application/json"), (b"\xff\xfe\x00", "application/json"),
    (b'{"a": NaN}', "application/json"), (b"[" * 5000, "application/json"), (b"email=a", "text/plain"),
    (b"email=a&password=b", "application/x-www-form-urlencoded"), (b"x" * 70000, "application/json"),
]


@pytest.fixture
def callers(couple, make_user, api_as):
    """A partner in a couple, a partner alone, a therapist, and nobody."""
    return {"partner": couple.as_alice, "alone": api_as(make_user("solo@example.com")),
            "therapist": api_as(make_user("dr@example.com", role="therapist")), "nobody": None}


def send(app, caller, method, path, **kwargs):
    if caller is None:
        return app.test_client().open(path, method=method, **kwargs)
    return caller.open(method, path, **kwargs)


def assert_shaped(resp):
    assert resp.status_code < 500, (resp.status_code, resp.data[:200])
    if resp.status_code >= 400:
        error_of(resp)


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_garbage_json_to_every_endpoint(app, callers, method, path):
    for caller in callers.values():
        for body in GARBAGE_JSON:
            assert_shaped(send(app, caller, method, path, json=body))


@pytest.mark.parametrize("method, path", POSTS)
def test_garbage_bytes_to_every_endpoint(app, callers, method, path):
    for caller in (callers["partner"], callers["nobody"]):
        for raw, ctype in GARBAGE_RAW:
            assert_shaped(send(app, caller, method, path, data=raw, content_type=ctype))


def test_malformed_json_is_400_bad_json(couple):
    resp = couple.as_alice.open("POST", "/api/v1/couple/join", data=b'{"code": ', content_type="application/json")
    assert resp.status_code == 400 and error_of(resp)["code"] == "bad_json"


def test_nan_is_not_a_number_we_accept(couple):
    resp = couple.as_alice.open("POST", "/api/v1/couple/join", data=b'{"code": NaN}', content_type="application/json")
    assert resp.status_code == 400 and error_of(resp)["code"] == "bad_json"


def test_the_wrong_content_type_is_415(couple):
    resp = couple.as_alice.open("POST", "/api/v1/couple/join", data="code=ABC",
                                content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 415 and error_of(resp)["code"] == "unsupported_media_type"


def test_an_array_instead_of_an_object_is_invalid_input(couple):
    resp = couple.as_alice.post("/api/v1/couple/join", json=["ABC"])
    assert resp.status_code == 422 and error_of(resp)["code"] == "invalid_input"


def test_a_huge_body_is_413(couple):
    resp = couple.as_alice.post("/api/v1/couple/join", json={"code": "x" * 100_000})
    assert resp.status_code == 413 and error_of(resp)["code"] == "too_large"


def test_unknown_fields_are_named_in_the_error(couple):
    err = error_of(couple.as_alice.post("/api/v1/couple/join", json={"code": "ABC", "seat": "a"}))
    assert err["code"] == "invalid_input" and "seat" in err["fields"]


@pytest.mark.parametrize("value", [7, 7.9, True, None, ["ABC"], {"a": 1}])
def test_strings_are_strict_too(couple, value):
    err = error_of(couple.as_alice.post("/api/v1/couple/join", json={"code": value}))
    assert err["code"] == "invalid_input" and "code" in err["fields"]


def test_bodies_on_no_body_actions_are_checked(couple):
    resp = couple.as_alice.post("/api/v1/couple/invitations", json={"anything": 1})
    assert resp.status_code == 422 and error_of(resp)["code"] == "invalid_input"


def test_unknown_api_paths_and_methods_answer_json(couple):
    assert error_of(couple.as_alice.get("/api/v1/nowhere"))["code"] == "not_found"
    resp = couple.as_alice.open("PUT", "/api/v1/couple")
    assert resp.status_code == 405 and error_of(resp)["code"] == "method_not_allowed"


def test_an_unreachable_database_is_a_clear_503_not_a_500(app):
    """Point the app at a port where nothing listens: the API says `unavailable`, in the one shape."""
    from couples import create_app
    from support.inprocess import base_config
    broken = create_app({**base_config("postgresql://postgres@127.0.0.1:1/none", None),
                         "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}}})
    resp = broken.test_client().post("/api/v1/tokens", json={"email": "a@example.com", "password": "x" * 12})
    assert resp.status_code == 503
    assert resp.get_json()["error"]["code"] == "unavailable"
