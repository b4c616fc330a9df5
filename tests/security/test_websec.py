"""Web security: the Origin matrix on the socket handshake, CSRF on every form, security headers
and a strict CSP on every page, session cookie flags, a new session on login, login throttling,
and idle and absolute session timeouts."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from couples import create_app
from couples.extensions import db, socketio
from couples.models import AuthSession, utcnow
from secworld import ACTORS, config
from support.clients import LivePeer

ALLOWED = "https://couples.example"
# A browser's long-polling handshake. The server serves WebSocket only, so an allowed Origin gets
# past the Origin check to Engine.IO's refusal of the transport; a foreign one is refused before.
HANDSHAKE = "/socket.io/?EIO=4&transport=polling&t=abc"
ORIGIN_REFUSED = (400, '"Not an accepted origin."')
TRANSPORT_REFUSED = (400, '"Invalid transport"')


def _answer(resp):
    return resp.status_code, resp.get_data(as_text=True)


@pytest.fixture(scope="module")
def origin_app(world):
    return world.other_app(ALLOWED_ORIGINS=[ALLOWED])


# --------------------------------------------------------------------------- Origin matrix

ORIGINS = {  # origin -> allowed
    ALLOWED: True,
    "null": False,
    "https://couples.example.evil.example": False,   # look-alike: the allowed host as a prefix
    "https://evilcouples.example": False,            # look-alike: the allowed host as a suffix
    "https://couples.example.": False,               # trailing dot
    "https://xn--couples-9za.example": False,        # IDN look-alike
    "http://couples.example": False,                 # other scheme
    "https://couples.example:8443": False,           # other port
    "wss://couples.example": False,
    "https://127.0.0.1.evil.example": False,
    "http://127.0.0.1:5000": False,                  # the dev default is not allowed when configured
    "": True,  # an empty Origin counts as none (no browser sends it): credentials decide
}


@pytest.mark.parametrize("origin,allowed", ORIGINS.items(), ids=[o or "empty" for o in ORIGINS])
def test_origin_matrix_on_the_handshake(origin_app, origin, allowed):
    """Engine.IO checks the Origin first: a foreign one is refused as such; an allowed one gets as
    far as the transport (long-polling: refused too). test_origin_matrix_on_a_real_websocket
    opens real WebSockets."""
    resp = origin_app.test_client().get(HANDSHAKE, headers={"Origin": origin})
    assert _answer(resp) == (TRANSPORT_REFUSED if allowed else ORIGIN_REFUSED), origin


@pytest.mark.parametrize("spoof", [
    {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"},
    {"X-Forwarded-Host": "evil.example"},
    {"Host": "evil.example", "X-Forwarded-Proto": "https"},
    {"Forwarded": "host=evil.example;proto=https"},
])
def test_forwarded_headers_never_widen_the_allowed_origins(origin_app, spoof):
    resp = origin_app.test_client().get(HANDSHAKE, headers={"Origin": "https://evil.example", **spoof})
    assert _answer(resp) == ORIGIN_REFUSED


def test_no_origin_is_let_through_to_authentication_which_refuses_anonymous(origin_app):
    """Non-browser clients send no Origin; then credentials decide (none here: refused)."""
    assert _answer(origin_app.test_client().get(HANDSHAKE)) == TRANSPORT_REFUSED  # past the Origin check
    anonymous = socketio.test_client(origin_app, flask_test_client=origin_app.test_client())
    assert not anonymous.is_connected()


def test_the_default_configuration_lists_origins_explicitly():
    from couples.config import Config
    origins = Config("/tmp/couples-instance-test").ALLOWED_ORIGINS
    assert origins and "*" not in origins and all(o.startswith(("http://", "https://")) for o in origins)


def test_message_size_limit_is_configured_at_64_kb(world):
    assert world.app.config["MAX_SOCKET_MESSAGE"] == 64 * 1024
    assert socketio.server.eio.max_http_buffer_size == 64 * 1024


# --------------------------------------------------------------------------- CSRF


@pytest.fixture(scope="module")
def csrf_app(world):
    return world.other_app(WTF_CSRF_ENABLED=True)


def _logged_in(app, world, actor):
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"], sess["_fresh"] = world.cookies[actor], True
    return client


def _pages(app):
    """Flask's own routes: not the Socket.IO path, which Engine.IO answers before Flask (its
    events are checked in test_authz_matrix's EVENTS and the socket fuzzing)."""
    return list(app.url_map.iter_rules())


def _html_posts(app):
    return sorted((r.rule, r.endpoint) for r in _pages(app)
                  if "POST" in r.methods and not r.rule.startswith("/api/"))


def _fill(rule, world):
    t = world.targets["partner"]
    return (rule.replace("<int:link_id>", str(t.link_id)).replace("<public_id>", t.session)
            .replace("<int:couple_id>", str(t.couple_id)).replace("<int:signal_id>", str(t.signal_id)))


def test_every_html_form_route_refuses_a_post_without_the_token(csrf_app, world):
    world.restore()
    routes = _html_posts(csrf_app)
    assert len(routes) >= 10
    for rule, _ in routes:
        for actor in ("anonymous", "partner", "therapist"):
            client = csrf_app.test_client() if actor == "anonymous" else _logged_in(csrf_app, world, actor)
            resp = client.post(_fill(rule, world), data={"email": "x@example.com", "password": "x"},
                               headers={"Accept": "application/json"})
            assert resp.status_code == 400, (rule, actor, resp.status_code)
            assert resp.get_json()["error"]["code"] == "csrf_failed", (rule, actor)
            wrong = client.post(_fill(rule, world), data={"csrf_token": "forged"}, headers={"Accept": "application/json"})
            assert wrong.status_code == 400 and wrong.get_json()["error"]["code"] == "csrf_failed"


def test_cookie_authenticated_api_writes_need_the_csrf_header(csrf_app, world):
    world.restore()
    client = _logged_in(csrf_app, world, "partner")
    api_writes = sorted(r.rule for r in csrf_app.url_map.iter_rules()
                        if r.rule.startswith("/api/") and r.methods & {"POST", "DELETE"}
                        and r.endpoint not in ("api.create_account", "api.create_token"))
    for rule in api_writes:
        resp = client.open(_fill(rule, world), method="DELETE" if "tokens/current" in rule else "POST", json={})
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "csrf_failed", rule


def test_every_rendered_post_form_carries_a_token(csrf_app, world):
    world.restore()
    pages = ["/login", "/register", "/dashboard", "/practice", "/progress", "/privacy", "/privacy/delete",
             "/couple/leave", f"/practice/{world.targets['partner'].session}",
             f"/sessions/{world.targets['partner'].session}/transcript", "/therapist"]
    seen = 0
    for actor in ("anonymous", "partner", "therapist"):
        client = csrf_app.test_client() if actor == "anonymous" else _logged_in(csrf_app, world, actor)
        for page in pages:
            html = client.get(page).get_data(as_text=True)
            for form in re.findall(r"<form\b[^>]*>.*?</form>", html, re.S | re.I):
                if re.search(r'method="post"', form, re.I):
                    seen += 1
                    assert 'name="csrf_token"' in form, (actor, page, form[:200])
    assert seen >= 8


# --------------------------------------------------------------------------- headers and CSP


def _csp_is_strict(csp: str):
    parts = {p.split()[0]: p.split()[1:] for p in csp.split(";") if p.strip()}
    assert parts["default-src"] == ["'self'"]
    assert parts["object-src"] == ["'none'"] and parts["base-uri"] == ["'none'"]
    assert parts["frame-ancestors"] == ["'none'"]
    assert parts.get("form-action") == ["'self'"]
    for directive in ("script-src", "style-src"):
        assert "'unsafe-inline'" not in parts.get(directive, []) and "'unsafe-eval'" not in parts.get(directive, [])
        assert "*" not in parts.get(directive, []) and "data:" not in parts.get(directive, [])


def test_security_headers_and_a_strict_csp_on_every_page(world):
    world.restore()
    checked = 0
    gets = sorted(r.rule for r in _pages(world.app) if "GET" in r.methods)
    for rule in gets:
        path = _fill(rule, world).replace("<code>", "ZZZZZZZZ").replace("<path:filename>", "css/app.css")
        for actor in ACTORS:
            resp = world.client(actor).get(path) if not rule.startswith("/api/") else \
                world.app.test_client().get(path, headers=world.headers(actor))
            h = resp.headers
            _csp_is_strict(h["Content-Security-Policy"])
            assert h["X-Content-Type-Options"] == "nosniff"
            assert h["X-Frame-Options"] == "DENY"
            assert h["Referrer-Policy"] in ("no-referrer", "same-origin", "strict-origin-when-cross-origin")
            if resp.mimetype in ("text/html", "application/json"):
                assert "no-store" in h.get("Cache-Control", ""), (path, actor)
            if resp.mimetype == "text/html":
                html = resp.get_data(as_text=True)
                assert not re.search(r'<script(?![^>]*\b(src=|type="application/json"))[^>]*>', html), path
                assert "<style" not in html and " style=" not in html, path
                assert not re.search(r"\son[a-z]+\s*=", re.sub(r">[^<]*<", "><", html)), path
                assert "javascript:" not in html.lower(), path
            checked += 1
    assert checked > 100


def test_what_engine_io_answers_carries_the_same_headers_and_is_never_cached(origin_app):
    """Engine.IO answers what comes under /socket.io/ before Flask. Over HTTP, with WebSocket
    only, that is refusals: a long-polling handshake, a GET or POST naming a session id (on either
    transport), a WebSocket handshake without its Upgrade, a foreign Origin. Each carries the same
    headers as every page and is never cached."""
    client = origin_app.test_client()
    sid = "AAAAAAAAAAAAAAAAAAAA"
    answers = {
        "polling handshake": client.get(HANDSHAKE, headers={"Origin": ALLOWED}),
        "polling GET with a sid": client.get(f"{HANDSHAKE}&sid={sid}", headers={"Origin": ALLOWED}),
        "polling POST with a sid": client.post(f"{HANDSHAKE}&sid={sid}", data="40", headers={"Origin": ALLOWED}),
        "websocket POST with a sid": client.post(f"/socket.io/?EIO=4&transport=websocket&sid={sid}", data="40"),
        "websocket without Upgrade": client.get("/socket.io/?EIO=4&transport=websocket", headers={"Origin": ALLOWED}),
        "foreign Origin": client.get(HANDSHAKE, headers={"Origin": "https://evil.example"}),
    }
    for what, resp in answers.items():
        h = resp.headers
        assert resp.status_code == 400, (what, _answer(resp))
        assert h["Cache-Control"] == "no-store", what
        assert h["X-Content-Type-Options"] == "nosniff" and h["X-Frame-Options"] == "DENY"
        assert h["Referrer-Policy"] == "no-referrer"
        assert h["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert len(h.getlist("Cache-Control")) == 1
    assert _answer(answers["polling handshake"]) == TRANSPORT_REFUSED
    assert _answer(answers["foreign Origin"]) == ORIGIN_REFUSED
    assert answers["polling handshake"].headers["Content-Type"] == "text/plain"  # Engine.IO's own headers stay


def test_hsts_in_production(monkeypatch, world):
    monkeypatch.setenv("COUPLES_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "production-secret-for-this-test")
    monkeypatch.setenv("COUPLES_AUDIT_KEY", "production-audit-key-for-this-test-" + "k" * 32)
    monkeypatch.setenv("COUPLES_BASE_URL", "https://couples.example")
    cfg = config("sqlite://")
    cfg.pop("SECRET_KEY")
    app = create_app(cfg)
    hsts = app.test_client().get("/login").headers.get("Strict-Transport-Security", "")
    assert "max-age=31536000" in hsts and "includeSubDomains" in hsts


# --------------------------------------------------------------------------- cookies and logins


def _cookie_app(monkeypatch, world, production):
    if production:
        monkeypatch.setenv("COUPLES_ENV", "production")
        monkeypatch.setenv("SECRET_KEY", "production-secret-for-this-test")
        monkeypatch.setenv("COUPLES_AUDIT_KEY", "production-audit-key-for-this-test-" + "k" * 32)
        monkeypatch.setenv("COUPLES_BASE_URL", "https://couples.example")
    else:
        monkeypatch.delenv("COUPLES_ENV", raising=False)
        monkeypatch.delenv("COUPLES_SECURE_COOKIES", raising=False)
    import shutil
    import uuid
    path = world.path.with_name(f"cookie-{uuid.uuid4().hex[:8]}.db")
    shutil.copy(world.template, path)
    cfg = config(f"sqlite:///{path}")
    for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        cfg.pop(key, None)
    if production:
        cfg.pop("SECRET_KEY")
    return create_app(cfg)


@pytest.mark.parametrize("production", [False, True], ids=["development", "production"])
def test_session_cookie_flags(monkeypatch, world, production):
    world.restore()
    app = _cookie_app(monkeypatch, world, production)
    resp = app.test_client().post("/login", data={"email": "alice@example.com", "password": "correct horse battery"})
    assert resp.status_code == 302
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert ("Secure" in cookie) is production


def test_login_starts_a_new_session_and_drops_what_was_planted(world):
    world.restore()
    client = world.app.test_client()
    with client.session_transaction() as sess:
        sess["planted"], sess["_user_id"] = "by an attacker", "attacker-chosen-id"
    client.post("/login", data={"email": "alice@example.com", "password": "correct horse battery"})
    with client.session_transaction() as sess:
        first = sess["_user_id"]
        assert "planted" not in sess and first != "attacker-chosen-id"
    client.post("/logout")
    client.post("/login", data={"email": "alice@example.com", "password": "correct horse battery"})
    with client.session_transaction() as sess:
        assert sess["_user_id"] != first
    old = world.app.test_client()
    with old.session_transaction() as sess:
        sess["_user_id"] = first
    assert old.get("/dashboard").status_code == 302  # the logged-out login is dead


@pytest.fixture
def throttled(world):
    return world.other_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")


def test_login_throttling_per_address_and_per_account(throttled, monkeypatch):
    client = throttled.test_client()
    codes = [client.post("/login", data={"email": "alice@example.com", "password": "wrong"}).status_code
             for _ in range(4)]
    assert codes[:3] == [401, 401, 401] and codes[3] == 429
    # Guessing one account from many addresses is slowed (each attempt past the free ones waits
    # its turn), never refused: the owner, from an address of their own, still gets in.
    from couples.accounts import throttle
    waits = []
    monkeypatch.setattr(throttle.time, "sleep", waits.append)
    codes = [throttled.test_client().post("/api/v1/tokens", json={"email": "bob@example.com", "password": "wrong"},
                                          environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}).status_code
             for i in range(7)]
    assert codes == [401] * 7 and len(waits) == 2
    owner = throttled.test_client().post("/api/v1/tokens", json={"email": "bob@example.com",
                                                                 "password": "correct horse battery"},
                                         environ_base={"REMOTE_ADDR": "10.0.1.1"})
    assert owner.status_code == 201 and len(waits) == 3


# --------------------------------------------------------------------------- timeouts


def _age(world, actor, **changes):
    """Move a login's clocks into the past (the fake clock is the database row)."""
    from couples.accounts.service import _digest
    with world.app.app_context():
        for secret in (world.cookies[actor], world.tokens[actor]):
            db.session.execute(update(AuthSession).where(AuthSession.secret_hash == _digest(secret)).values(**changes))
        db.session.commit()
        db.session.remove()


def test_idle_timeout_ends_a_browser_login_but_not_a_token(fresh):
    assert fresh.client("partner").get("/dashboard").status_code == 200
    _age(fresh, "partner", last_seen_at=utcnow() - timedelta(minutes=31))
    assert fresh.client("partner").get("/dashboard").status_code == 302
    assert fresh.app.test_client().get("/api/v1/me", headers=fresh.headers("partner")).status_code == 200


def test_twenty_nine_idle_minutes_are_fine(fresh):
    _age(fresh, "partner", last_seen_at=utcnow() - timedelta(minutes=29))
    assert fresh.client("partner").get("/dashboard").status_code == 200


def test_absolute_timeout_ends_logins_and_tokens(fresh):
    _age(fresh, "partner", expires_at=utcnow() - timedelta(seconds=1))
    assert fresh.client("partner").get("/dashboard").status_code == 302
    resp = fresh.app.test_client().get("/api/v1/me", headers=fresh.headers("partner"))
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthenticated"


def test_absolute_lifetime_of_a_browser_login_is_twelve_hours(fresh):
    from couples.accounts.service import _digest
    with fresh.app.app_context():
        row = db.session.scalar(db.select(AuthSession).where(AuthSession.secret_hash == _digest(fresh.cookies["partner"])))
        assert timedelta(hours=11, minutes=59) < row.expires_at - row.created_at <= timedelta(hours=12, minutes=1)
        db.session.remove()


def test_an_open_socket_dies_with_its_login(fresh):
    """The socket saw a copy of the session at connect; every event re-checks the login row."""
    client = socketio.test_client(fresh.app, auth={"token": fresh.tokens["partner"]})
    assert client.emit("heartbeat", {}, callback=True)["ok"]
    _age(fresh, "partner", expires_at=utcnow() - timedelta(seconds=1))
    ack = client.emit("heartbeat", {}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "unauthenticated"
    assert not client.is_connected()


# --------------------------------------------------------------------------- the real server


def _ws_client(live, origin, token="alice"):
    return LivePeer(live, live.people["tokens"][token], token).connect(origin=origin, wait_timeout=5).sio


@pytest.mark.parametrize("origin,ok", [
    ("same", True), (None, True), ("null", False), ("http://127.0.0.1.evil.example", False),
    ("http://127.0.0.1:{port}.evil.example", False), ("http://127.0.0.1:{port}.", False),
    ("https://127.0.0.1:{port}", False), ("ws://127.0.0.1:{port}", False), ("http://127.0.0.1:1", False),
    ("http://localhost:{port}", False),
], ids=["allowed", "missing", "null", "look-alike", "prefix", "trailing-dot", "other-scheme", "ws-scheme",
        "other-port", "other-host-name"])
def test_origin_matrix_on_a_real_websocket(live, origin, ok):
    import socketio as sio_client
    origin = live.url if origin == "same" else origin and origin.format(port=live.port)
    if ok:
        client = _ws_client(live, origin)
        assert client.call("heartbeat", {}, timeout=5)["ok"]
        client.disconnect()
    else:
        with pytest.raises(sio_client.exceptions.ConnectionError):
            _ws_client(live, origin)


def test_spoofed_forwarded_host_does_not_open_a_real_websocket(live):
    import socketio as sio_client
    client = LivePeer(live, live.people["tokens"]["alice"], "alice")
    with pytest.raises(sio_client.exceptions.ConnectionError):
        client.connect(origin="http://evil.example", wait_timeout=5,
                       headers={"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"})
