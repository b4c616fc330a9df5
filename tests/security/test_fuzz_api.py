"""Bad input on every API body (hypothesis): each case gets a clear 4xx in the one error shape,
never a 500, and the stored data stays as it was."""
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzzkit import BAD_RATINGS, BAD_TEXT, DEEP, any_body, json_values
from secworld import SUMMARY

FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

EMAILS = ["not-an-email", "a@b", "@example.com", "x" * 300 + "@example.com", "alice@example.com\x00", ""]
# route -> (actor, valid body template (required fields only), bad values per field)
BODIES = {
    "/api/v1/accounts": ("anonymous", {"email": "new@example.com", "password": "a long new password",
                                       "display_name": "New", "role": "partner"},
                         {"email": EMAILS, "role": ["admin", "PARTNER", "therapist ", ""], "password": ["short", ""]}),
    "/api/v1/tokens": ("anonymous", {"email": "alice@example.com", "password": "correct horse battery"},
                       {"password": ["wrong", "", "A" * 5000], "email": ["", "A" * 300]}),
    "/api/v1/couple": ("partner", {}, {}),
    "/api/v1/couple/invitations": ("partner", {}, {}),
    "/api/v1/couple/join": ("left_user", {"code": "ZZZZZZZZ"}, {"code": ["", "A" * 200, "ZZZZ\x00ZZZZ", 12345678]}),
    "/api/v1/couple/leave": ("partner", {}, {}),
    "/api/v1/couple/therapists": ("partner", {"email": "tess@example.com"}, {"email": EMAILS}),
    "/api/v1/couple/therapists/{link}/consent": ("partner", {}, {}),
    "/api/v1/couple/therapists/{link}/revoke": ("partner", {}, {}),
    "/api/v1/sessions": ("partner", {}, {}),
    "/api/v1/me/delete": ("partner", {"password": "correct horse battery", "confirm": "delete my account"},
                          {"confirm": ["yes", "DELETE", "", "delete my account please"], "password": BAD_TEXT}),
}


def _stable(snapshot):
    """What no refused request may change (audit entries of reads are checked elsewhere)."""
    return {"counts": {k: v for k, v in snapshot["counts"].items() if k != "audit_log"},
            "sessions": snapshot["sessions"]}


def _check(world, resp, baseline, allow_ok=False):
    SUMMARY["fuzz cases run (HTTP)"] += 1
    assert resp.status_code < 500, resp.get_data(as_text=True)[:300]
    if resp.status_code >= 400:
        body = resp.get_json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, body
        assert body["error"]["code"] != "server_error"
    else:
        assert allow_ok, (resp.status_code, resp.get_data(as_text=True)[:300])
    assert _stable(world.snapshot()) == baseline


@pytest.fixture(scope="module")
def baseline(world):
    world.restore()
    return _stable(world.snapshot())


@pytest.mark.parametrize("route", list(BODIES))
def test_bad_bodies(world, baseline, route):
    actor, valid, bad = BODIES[route]
    path = route.replace("{link}", str(world.targets["partner"].link_id))
    client = world.app.test_client()

    @FUZZ
    @given(body=any_body(valid, bad))
    def case(body):
        resp = client.post(path, data=json.dumps(body), content_type="application/json",
                           headers=world.headers(actor))
        _check(world, resp, baseline)

    case()


RAW = [b"{", b"{\"a\":", b"[1,2", b"NaN", b"{\"x\": NaN}", b"{\"x\": Infinity}", b"\xff\xfe\x00",
       b"{\"code\": \"A\", \"code\": \"B\"}", b"\"just a string\"", b"null", b"[" * 100_000 + b"]" * 100_000,
       b"{\"a\": \"" + b"A" * 70_000 + b"\"}", "{\"code\": \"\u202e\"}".encode(), b"\x00" * 10]


@pytest.mark.parametrize("raw", RAW, ids=[f"raw{i}" for i in range(len(RAW))])
@pytest.mark.parametrize("route", ["/api/v1/couple/join", "/api/v1/tokens", "/api/v1/me/delete"])
def test_raw_bytes_and_wrong_content_types(world, baseline, route, raw):
    actor = BODIES[route][0]
    for ctype in ("application/json", "text/plain", "application/x-www-form-urlencoded"):
        resp = world.app.test_client().post(route, data=raw, content_type=ctype, headers=world.headers(actor))
        _check(world, resp, baseline)


@FUZZ
@given(after=st.one_of(st.sampled_from(["-1", "abc", "1.5", "", "\x00", "9" * 40, "0x10", "1e3"]), st.text(max_size=20)),
       limit=st.one_of(st.sampled_from(["0", "501", "-1", "", "nan", "\u0667"]), st.text(max_size=10)),
       extra=st.dictionaries(st.sampled_from(["role", "seq", "viewer", "x"]), st.text(max_size=5), max_size=2))
def test_bad_event_queries(world, baseline, after, limit, extra):
    session = world.targets["partner"].session
    resp = world.app.test_client().get(f"/api/v1/sessions/{session}/events",
                                       query_string={"after": after, "limit": limit, **extra},
                                       headers=world.headers("partner"))
    _check(world, resp, baseline, allow_ok=True)  # a valid after/limit pair reads normally


@FUZZ
@given(ident=st.one_of(st.text(min_size=1, max_size=60), st.sampled_from(
    ["..", "%00", "' OR 1=1--", "a" * 500, "\u202e", "🙂", "0", "-1", "null"])),
       suffix=st.sampled_from(["", "/events", "/transcript"]))
def test_unknown_and_foreign_session_ids(world, baseline, ident, suffix):
    from urllib.parse import quote
    resp = world.app.test_client().get(f"/api/v1/sessions/{quote(ident, safe='')}{suffix}",
                                       headers=world.headers("partner"))
    _check(world, resp, baseline, allow_ok=ident == world.targets["partner"].session)


def test_ids_of_other_couples_are_refused_like_unknown_ones(world, baseline):
    """Carol's session and link look exactly like ids that do not exist (no oracle)."""
    with world.app.app_context():
        from sqlalchemy import select

        from couples.extensions import db
        from couples.models import PracticeSession, TherapistLink
        theirs = world.targets["other_couple"]
        session = db.session.scalar(select(PracticeSession.public_id).where(PracticeSession.couple_id == theirs.couple_id))
        link = db.session.scalar(select(TherapistLink.id).where(TherapistLink.couple_id == theirs.couple_id))
        db.session.remove()
    client = world.app.test_client()
    h = world.headers("partner")
    for path in (f"/api/v1/sessions/{session}", f"/api/v1/sessions/{session}/events",
                 f"/api/v1/sessions/{session}/transcript"):
        foreign, unknown = client.get(path, headers=h), client.get(path.replace(session, "0000000000000000"), headers=h)
        assert (foreign.status_code, foreign.get_json()) == (unknown.status_code, unknown.get_json())
        _check(world, foreign, baseline)
    for verb in ("consent", "revoke"):
        foreign = client.post(f"/api/v1/couple/therapists/{link}/{verb}", json={}, headers=h)
        unknown = client.post(f"/api/v1/couple/therapists/999999/{verb}", json={}, headers=h)
        assert (foreign.status_code, foreign.get_json()) == (unknown.status_code, unknown.get_json())
        _check(world, foreign, baseline)


SWEEP = [(route, key, i) for route, (_, valid, _) in BODIES.items() for key in valid for i in range(len(BAD_TEXT))]


@pytest.mark.parametrize("route,key,i", SWEEP, ids=[f"{r} {k} bad{i}" for r, k, i in SWEEP])
def test_every_text_field_refuses_every_bad_text(world, baseline, route, key, i):
    """Control characters, lone surrogates (JSON "\\ud800") and far-too-long text in each field:
    a clear 4xx, never a 500 (a lone surrogate cannot be stored or hashed)."""
    actor, valid, _ = BODIES[route]
    path = route.replace("{link}", str(world.targets["partner"].link_id))
    body = {**valid, key: BAD_TEXT[i]}
    resp = world.app.test_client().post(path, data=json.dumps(body), content_type="application/json",
                                        headers=world.headers(actor))
    _check(world, resp, baseline)
