"""Socket handlers in-process (Flask-SocketIO's test client, threading mode): the cookie login
path, refusals at connect, one sweeper pass disconnecting a lost login, and when the sweeper
starts."""
import runpy
import threading
import types
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from couples import perf

from couples.room import sweeper
from couples.extensions import db, socketio
from couples.models import Connection
from support.inprocess import cookie_client, seed_world, start_session


@pytest.fixture
def world(app):
    """The shared world without the fake clock: these tests run on real time."""
    return seed_world(app)


def test_the_login_cookie_authenticates_a_socket(app, world):
    pid = start_session(app, world)
    client, _ = cookie_client(app, world.bob)
    sock = socketio.test_client(app, flask_test_client=client)
    assert sock.is_connected()
    ack = sock.emit("join", {"session_id": pid, "last_seq": 0}, callback=True)
    assert ack["ok"] and ack["snapshot"]["session"]["role"] == "b"
    assert sock.emit("action", {"session_id": pid, "id": "cookie-0001", "kind": "safety",
                                "data": {"safe": True}}, callback=True)["ok"]
    sock.disconnect()


@pytest.mark.skipif(not perf.enabled("cookie_once"), reason="the shortcut this pins is switched off")
def test_the_login_cookie_is_read_at_connect_not_again_for_every_event(app, world, monkeypatch):
    pid = start_session(app, world)
    client, _ = cookie_client(app, world.bob)
    sock = socketio.test_client(app, flask_test_client=client)
    opened = []
    verify = app.session_interface.get_signing_serializer
    monkeypatch.setattr(app.session_interface, "get_signing_serializer",
                        lambda a: opened.append(1) or verify(a))
    for n in range(3):
        assert sock.emit("heartbeat", {"session_id": pid}, callback=True)["ok"]
    assert sock.emit("join", {"session_id": pid, "last_seq": 0}, callback=True)["ok"]
    assert opened == []  # Flask-SocketIO's copy of the connect-time session serves the events
    assert client.get("/api/v1/me").status_code == 200 and opened  # HTTP still reads the cookie
    sock.disconnect()


def test_no_cookie_and_no_token_is_refused_at_connect(app, world):
    assert not socketio.test_client(app, flask_test_client=app.test_client()).is_connected()
    with app.app_context():
        assert db.session.scalar(select(Connection)) is None


def test_a_sweep_disconnects_a_socket_whose_login_expired(app, world):
    """Expiry has no request to act on it: the sweeper is what ends those sockets."""
    from couples.models import AuthSession, utcnow
    pid = start_session(app, world)
    client, secret = cookie_client(app, world.alice)
    sock = socketio.test_client(app, flask_test_client=client)
    assert sock.emit("join", {"session_id": pid}, callback=True)["ok"]
    with app.app_context():
        db.session.execute(AuthSession.__table__.update().where(AuthSession.user_id == world.alice,
                                                                AuthSession.kind == "cookie").values(expires_at=utcnow()))
        db.session.commit()
        sweeper.sweep_once()
        assert db.session.scalar(select(Connection)) is None
    assert not sock.is_connected()


def _in_room(app, world, pid):
    """Alice (a cookie login and a token), Bob and Theo, each joined to the session."""
    client, _ = cookie_client(app, world.alice)
    socks = {"alice_cookie": socketio.test_client(app, flask_test_client=client),
             "alice_token": socketio.test_client(app, auth={"token": world.tokens["alice"]}),
             "bob": socketio.test_client(app, auth={"token": world.tokens["bob"]}),
             "theo": socketio.test_client(app, auth={"token": world.tokens["theo"]})}
    for sock in socks.values():
        assert sock.emit("join", {"session_id": pid}, callback=True)["ok"]
    return client, socks


def _revoke_link(app, world, client):
    from couples.models import TherapistLink
    with app.app_context():
        link = db.session.scalar(select(TherapistLink.id))
    return client.post(f"/api/v1/couple/therapists/{link}/revoke", json={})


ALICE = {"alice_cookie", "alice_token"}
REVOCATIONS = {  # request -> (the sockets it must cut, what each is told: `revoked` reason and cause)
    "logout": (lambda app, w, c: c.post("/logout"), {"alice_cookie": ("logged_out", "logged_out")}),
    "token revoked": (lambda app, w, c: app.test_client().delete(
        "/api/v1/tokens/current", headers={"Authorization": f"Bearer {w.tokens['alice']}"}),
        {"alice_token": ("logged_out", "logged_out")}),
    "consent revoked": (_revoke_link, {"theo": ("access_revoked", "link_removed")}),
    "couple left": (lambda app, w, c: c.post("/api/v1/couple/leave", json={}), {
        **dict.fromkeys(ALICE, ("access_revoked", "left_couple")), "bob": ("access_revoked", "partner_left"),
        "theo": ("access_revoked", "couple_ended")}),
    "account deleted": (lambda app, w, c: c.post("/api/v1/me/delete", json={
        "password": "correct horse battery", "confirm": "delete my account"}), {
        **dict.fromkeys(ALICE, ("access_revoked", "account_deleted")), "bob": ("access_revoked", "partner_deleted"),
        "theo": ("access_revoked", "couple_ended")}),
}


@pytest.mark.parametrize("what", list(REVOCATIONS))
def test_each_revocation_cuts_the_sockets_it_ends_in_the_same_request(app, world, what):
    """No sweeper pass: when the request answers, the sockets whose access it ended are gone
    (told why first, in words the page can explain), and every other socket is still in the room."""
    pid = start_session(app, world)
    client, socks = _in_room(app, world, pid)
    request, cut = REVOCATIONS[what]
    resp = request(app, world, client)
    assert resp.status_code in (200, 204, 302, 303), resp.get_data(as_text=True)[:300]
    assert {name for name, sock in socks.items() if not sock.is_connected()} == set(cut)
    for name, (reason, cause) in cut.items():
        told = [m["args"][0] for m in socks[name].queue if m["name"] == "revoked"]
        assert told == [{"reason": reason, "cause": cause}], (name, told)
    for name, sock in socks.items():
        if name not in cut:
            assert sock.emit("heartbeat", {}, callback=True)["ok"]
            sock.disconnect()


@pytest.mark.parametrize("what", ["couple left", "account deleted"])
def test_when_the_couple_ends_its_open_room_sees_the_session_end_before_the_cut(app, world, what):
    """Leaving (or deleting the account) ends the live session for everyone in the room: each
    socket gets the `session_ended` update first, then `revoked` with its cause."""
    pid = start_session(app, world)
    client, socks = _in_room(app, world, pid)
    for sock in socks.values():
        sock.get_received()
    assert REVOCATIONS[what][0](app, world, client).status_code == 200
    for name, sock in socks.items():
        names = [(m["name"], [e["type"] for e in m["args"][0].get("events", [])]) for m in sock.queue]
        ended = next(i for i, (n, types) in enumerate(names) if n == "update" and "session_ended" in types)
        assert ended < [n for n, _ in names].index("revoked"), (name, names)


def test_removing_the_therapist_tells_both_partners_in_the_room(app, world):
    """The therapist's socket is cut (link_removed); both partners' sockets stay and get a
    `notice` naming who removed whom, and nothing else learns it."""
    pid = start_session(app, world)
    client, socks = _in_room(app, world, pid)
    for sock in socks.values():
        sock.get_received()
    assert _revoke_link(app, world, client).status_code == 200
    for name in ("alice_cookie", "alice_token", "bob"):
        notices = [m["args"][0] for m in socks[name].get_received() if m["name"] == "notice"]
        assert notices == [{"session_id": pid, "cause": "link_removed", "by": "a", "therapist": "Theo"}], name
    assert [m["name"] for m in socks["theo"].queue] == ["revoked"]
    for name in ("alice_cookie", "alice_token", "bob"):
        socks[name].disconnect()


def test_an_observing_therapist_is_audited_and_shown_to_the_partners(app, world):
    from couples.models import AuditEntry
    pid = start_session(app, world)
    alice = socketio.test_client(app, auth={"token": world.tokens["alice"]})
    assert alice.emit("join", {"session_id": pid}, callback=True)["ok"]
    theo = socketio.test_client(app, auth={"token": world.tokens["theo"]})
    ack = theo.emit("join", {"session_id": pid}, callback=True)
    assert ack["ok"] and ack["snapshot"]["session"]["role"] == "therapist"
    presence = [m["args"][0]["presence"] for m in alice.get_received() if m["name"] == "presence"]
    assert presence[-1]["therapist"] == {"observing": True, "devices": 1}
    assert theo.emit("action", {"session_id": pid, "id": "observer-01", "kind": "safety",
                                "data": {"safe": True}}, callback=True)["error"]["code"] == "observer_read_only"
    with app.app_context():
        assert db.session.scalar(select(AuditEntry.action)) == "session_observed"


def test_presence_is_sent_with_no_database_transaction_open(app, world, monkeypatch):
    """A join, a leave and a disconnect read presence and send it to each socket in the session;
    with several processes each send is a Redis publish. No transaction (a snapshot, the tables' locks) may be
    held open across those sends."""
    pid = start_session(app, world)
    open_at_send = []
    emit = socketio.emit

    def recording_emit(event, *args, **kwargs):
        if event == "presence":
            open_at_send.append(db.session().in_transaction())
        return emit(event, *args, **kwargs)

    monkeypatch.setattr(socketio, "emit", recording_emit)
    alice = socketio.test_client(app, auth={"token": world.tokens["alice"]})
    bob = socketio.test_client(app, auth={"token": world.tokens["bob"]})
    theo = socketio.test_client(app, auth={"token": world.tokens["theo"]})
    for sock in (alice, bob, theo):
        assert sock.emit("join", {"session_id": pid, "last_seq": 0}, callback=True)["ok"]
    assert bob.emit("leave", {"session_id": pid}, callback=True)["ok"]
    theo.disconnect()
    # To the sockets in the room at each moment: joins 1 + 2 + 3, the leave 2, the disconnect 1.
    assert len(open_at_send) == 1 + 2 + 3 + 2 + 1
    assert not any(open_at_send)
    presence = [m["args"][0]["presence"] for m in alice.get_received() if m["name"] == "presence"]
    assert presence[-1]["b"]["online"] is False and presence[-1]["therapist"]["observing"] is False


# --------------------------------------------------------------------------- when the sweeper starts


@pytest.fixture
def sweeper_starts(monkeypatch):
    """Every sweeper start, recorded instead of run; this process starts with none running."""
    starts = []
    monkeypatch.setattr(sweeper, "_sweeper_pid", None)
    monkeypatch.setattr(socketio, "start_background_task", lambda fn, *args: starts.append((fn, args)))
    return starts


@pytest.fixture
def served_app(database_url, monkeypatch, sweeper_starts):
    """app.py imported the way gunicorn (or the flask CLI) imports it: not as __main__."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", "test-" + uuid.uuid4().hex)
    monkeypatch.setenv("COUPLES_ASYNC_MODE", "threading")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("COUPLES_CLOCK_FILE", raising=False)
    app = runpy.run_path(str(Path(__file__).resolve().parents[2] / "app.py"), run_name="app")["app"]
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_server_other_than_app_py_starts_the_sweeper_once_with_its_first_requests(served_app, sweeper_starts):
    assert sweeper_starts == []  # importing serves nothing: the flask CLI runs no sweeper
    ready = threading.Barrier(8)

    def first_request():
        client = served_app.test_client()
        ready.wait()
        assert client.get("/api/v1/me").status_code == 401

    requests = [threading.Thread(target=first_request) for _ in range(8)]
    for t in requests:
        t.start()
    for t in requests:
        t.join()
    served_app.test_client().get("/api/v1/me")
    assert sweeper_starts == [(sweeper._sweep_forever, (served_app,))]


def test_a_socket_io_request_as_first_request_starts_the_sweeper(served_app, sweeper_starts):
    # (A WebSocket handshake needs a real server; Engine.IO's refusal of long-polling is a
    # request under /socket.io/ all the same.)
    refused = served_app.test_client().get("/socket.io/?EIO=4&transport=polling")
    assert refused.status_code == 400 and refused.get_data(as_text=True) == '"Invalid transport"'
    assert sweeper_starts == [(sweeper._sweep_forever, (served_app,))]


def test_apps_built_by_create_app_alone_never_start_a_sweeper(app, world, sweeper_starts):
    app.test_client().get("/api/v1/me")
    sock = socketio.test_client(app, auth={"token": world.tokens["alice"]})
    assert sock.is_connected()
    sock.disconnect()
    assert sweeper_starts == []


# A WebSocket's handshake (Upgrade: websocket) is matched only against WebSocket rules, so it
# failed differently (WebsocketMismatch, where long-polling got NotFound) when events were
# URL-matched. WebSocket is the only transport served.
WEBSOCKET_HEADERS = {"Upgrade": "websocket", "Connection": "Upgrade"}


def _qualified_name(obj):
    named = obj if isinstance(obj, types.FunctionType) else type(obj)
    return f"{named.__module__}.{named.__qualname__}"


@pytest.mark.skipif(not perf.enabled("no_url_match"), reason="the shortcut this pins is switched off")
def test_socket_events_leave_no_reference_cycles_behind(app, world):
    """Each event runs in a request context made from the handshake's environ. Matching its
    path against the URL map raised NotFound (WebsocketMismatch on a WebSocket) and kept it on
    the request, and even a match leaves a cycle in werkzeug's matcher: 60-90 objects per event
    for the cyclic collector to find, whose pauses were the slowest turns under load."""
    import gc
    sock = socketio.test_client(app, auth={"token": world.tokens["alice"]}, headers=WEBSOCKET_HEADERS)
    socketio.server.environ[sock.eio_sid]["PATH_INFO"] = "/socket.io/"  # as served (the test client omits the /)
    for _ in range(3):  # warm: lazily built things (statements, caches) are built
        assert sock.emit("heartbeat", {}, callback=True)["ok"]
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(20):
            assert sock.emit("heartbeat", {}, callback=True)["ok"]
        gc.collect()
        # The request context's own objects, and the functions werkzeug's matcher leaves in a cycle
        # (not what a fixture drops meanwhile, such as the template database's engine).
        left = sorted({_qualified_name(o) for o in gc.garbage})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert [name for name in left if name.startswith(("flask.ctx.", "flask.wrappers.", "werkzeug."))] == []


@pytest.mark.parametrize("path", ["/socket.io", "/socket.iox"])
def test_paths_beside_the_socket_path_are_ordinary_pages(app, path):
    """Only what is under /socket.io/ goes to Engine.IO, and only there is URL matching skipped;
    a request that merely begins like it gets the usual not-found page, not a server error."""
    response = app.test_client().get(path)
    assert response.status_code == 404
    assert b"<html" in response.data.lower()
