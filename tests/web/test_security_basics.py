"""The basics that protect every page: durable SQLite, headers, cookies, CSRF, fresh logins, throttling."""
import re

import pytest
from sqlalchemy import select, text

from couples.extensions import db
from couples.models import AuthSession
from support.errors import error_of
from support.people import PASSWORD  # the default of the conftest.py helpers


# --- SQLite durability ----------------------------------------------------------------------

def test_sqlite_pragmas_hold_on_every_new_connection(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite pragmas only apply to SQLite")
        db.engine.dispose()  # the next connection is a brand-new one
        with db.engine.connect() as conn:
            pragma = lambda name: conn.execute(text(f"PRAGMA {name}")).scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("synchronous") == 2  # FULL
            assert pragma("busy_timeout") >= 5000
            assert pragma("foreign_keys") == 1


# --- headers and cookies --------------------------------------------------------------------

def test_security_headers_on_pages_and_api(client):
    for path in ("/login", "/api/v1/me"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_script_or_style(client, register):
    pages = [client.get("/login").data, client.get("/register").data]
    register(client, "alice@example.com")
    client.post("/couple")
    pages.append(client.get("/dashboard").data)
    for html in pages:
        assert b"style=" not in html and b"<style" not in html
        assert not re.search(rb"<script(?![^>]*\bsrc=)", html)
        assert not re.search(rb"<[^>]+\son[a-z]+\s*=", html)  # no onclick= and friends


def test_login_cookie_flags(make_app, make_user):
    make_user("alice@example.com")
    secure_app = make_app(SESSION_COOKIE_SECURE=True)
    resp = secure_app.test_client().post("/login", data={"email": "alice@example.com", "password": PASSWORD})
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_a_new_login_secret_each_time_and_the_old_one_ends(app, client, make_user, login):
    make_user("alice@example.com")
    login(client, "alice@example.com")
    with client.session_transaction() as sess:
        first = sess["_user_id"]
    login(client, "alice@example.com")
    with client.session_transaction() as sess:
        second = sess["_user_id"]
    assert first != second
    with app.app_context():
        rows = db.session.scalars(select(AuthSession).order_by(AuthSession.id)).all()
        assert [r.revoked_at is not None for r in rows] == [True, False]
        assert all(first not in r.secret_hash and second not in r.secret_hash for r in rows)


# --- CSRF -----------------------------------------------------------------------------------

@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


def csrf_token_of(html: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', html).group(1).decode()


def test_every_form_carries_a_csrf_token(csrf_app):
    client = csrf_app.test_client()
    for path in ("/login", "/register"):
        html = client.get(path).data
        assert html.count(b"<form") == html.count(b'name="csrf_token"')


def test_forms_without_the_csrf_token_are_refused(csrf_app, make_user):
    make_user("alice@example.com")
    client = csrf_app.test_client()
    resp = client.post("/login", data={"email": "alice@example.com", "password": PASSWORD})
    assert resp.status_code == 400 and b"This form expired" in resp.data
    token = csrf_token_of(client.get("/login").data)
    resp = client.post("/login", data={"email": "alice@example.com", "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302
    assert client.post("/couple").status_code == 400  # logged in, still no token: refused


def test_cookie_api_calls_that_change_state_need_the_csrf_header(csrf_app, make_user):
    make_user("alice@example.com")
    client = csrf_app.test_client()
    token = csrf_token_of(client.get("/login").data)
    client.post("/login", data={"email": "alice@example.com", "password": PASSWORD, "csrf_token": token})
    assert client.get("/api/v1/me").status_code == 200  # reading needs no token
    resp = client.post("/api/v1/couple")
    assert resp.status_code == 400 and error_of(resp)["code"] == "csrf_failed"
    token = csrf_token_of(client.get("/dashboard").data)
    assert client.post("/api/v1/couple", headers={"X-CSRFToken": token}).status_code == 201


def test_bearer_token_calls_need_no_csrf_token(csrf_app, make_user):
    make_user("alice@example.com")
    client = csrf_app.test_client()
    token = client.post("/api/v1/tokens", json={"email": "alice@example.com", "password": PASSWORD}).get_json()["token"]
    resp = client.post("/api/v1/couple", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 201


# --- login throttling -----------------------------------------------------------------------

@pytest.fixture
def throttled_app(make_app):
    return make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")


def test_the_login_form_is_throttled(throttled_app, make_user):
    make_user("alice@example.com")
    client = throttled_app.test_client()
    statuses = [client.post("/login", data={"email": "alice@example.com", "password": "wrong guess!"}).status_code
                for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert b"Something needs attention" in client.post("/login", data={"email": "x@example.com", "password": "x"}).data
    assert client.get("/login").status_code == 200  # reading the page is never throttled


def test_token_requests_are_throttled(throttled_app, make_user):
    make_user("alice@example.com")
    client = throttled_app.test_client()
    statuses = [client.post("/api/v1/tokens", json={"email": "alice@example.com", "password": "wrong guess!"})
                for _ in range(4)]
    assert [r.status_code for r in statuses] == [401, 401, 401, 429]
    assert error_of(statuses[-1])["code"] == "rate_limited"


def test_guesses_at_one_account_are_throttled_across_addresses(throttled_app, make_user, monkeypatch):
    """Slowed, never refused: a refusal per email would lock the owner out (the per-email delay is
    tested in tests/accounts/test_account_hardening.py)."""
    from couples.accounts import throttle
    waits = []
    monkeypatch.setattr(throttle.time, "sleep", waits.append)
    make_user("alice@example.com")
    client = throttled_app.test_client()
    statuses = [client.post("/api/v1/tokens", json={"email": "alice@example.com", "password": "wrong guess!"},
                            environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}).status_code for i in range(7)]
    assert statuses == [401] * 7 and len(waits) == 2


@pytest.mark.parametrize("proxies", [0, 1])
def test_the_login_limit_counts_the_address_the_proxy_saw(make_app, make_user, proxies):
    """Behind nginx (COUPLES_TRUSTED_PROXIES=1) every request comes from the proxy: the limit
    must count each client's own address, as the proxy appended it to X-Forwarded-For. With no
    trusted proxy the header is the client's own word, so it is ignored: forging a new address
    for each guess does not reset the count."""
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute", TRUSTED_PROXIES=proxies)
    make_user("alice@example.com")
    client = app.test_client()

    def guess(email, seen_by_proxy, forged="203.0.113.9"):  # nginx: "$http_x_forwarded_for, $remote_addr"
        return client.post("/login", data={"email": email, "password": "wrong guess!"},
                           headers={"X-Forwarded-For": f"{forged}, {seen_by_proxy}"}).status_code

    first = [guess(f"nobody{i}@example.com", "198.51.100.7", forged=f"203.0.113.{i}") for i in range(4)]
    assert first == [401, 401, 401, 429]  # a forged first hop never resets the count
    other_client = guess("someone@example.com", "198.51.100.8")
    assert other_client == (401 if proxies else 429)  # another client behind the proxy is not blocked
