"""Issue 21, item 4: an Engine.IO session id is not a credential.

On long-polling, every request of a socket names its Engine.IO `sid` in the URL (and so in every
proxy's access log), and Engine.IO asks for nothing else: with no cookie and no token, a GET with
the victim's sid received their updates and a POST sent events as them. The server now serves
Socket.IO over WebSocket only (docs/security.md, "Live access: WebSocket only"): the sid never
appears in a URL, and no HTTP request naming one reaches the socket.

Checked against the served app (`python app.py`, eventlet): the victim connects and joins; an
attacker who knows the victim's sid and nothing else tries every way Engine.IO offers (a long-poll
GET, a POST of an `action` packet, the same on `transport=websocket`, and a WebSocket upgrade of
the victim's session). None is served, nothing is done as the victim, and the attacker hears
nothing of the session; the victim's socket carries on. A long-polling handshake is refused with
Engine.IO's own answer (400, "Invalid transport")."""
import json
import time

import pytest
import requests
import socketio
import websocket

from couples.extensions import db
from couples.models import ClientAction, PracticeSession, SessionEvent
from support.clients import LivePeer
from support.people import seed_session

POLLING_REFUSED = (400, '"Invalid transport"')


def _answer(resp) -> tuple[int, str]:
    return resp.status_code, resp.text


def _stranger() -> requests.Session:
    """No cookie, no token, no proxy settings from the environment: only what the attacker types."""
    http = requests.Session()
    http.trust_env = False
    return http


def attack(url: str, sid: str, session_id: str) -> dict:
    """Everything someone holding only the sid can send. Returns what each try got: (status, body),
    or a string saying it was let in (a long-poll left waiting on the victim's queue, an upgrade)."""
    http, got = _stranger(), {}
    as_victim = "42" + json.dumps(["action", {"session_id": session_id, "id": "sid-thief-0001",
                                              "kind": "safety", "data": {"safe": True}}])
    for transport in ("polling", "websocket"):
        query = f"{url}/socket.io/?EIO=4&transport={transport}&sid={sid}"
        try:
            got[f"GET {transport}"] = _answer(http.get(query, timeout=3))
        except requests.Timeout:
            got[f"GET {transport}"] = "a long-poll held open on the victim's session"
        got[f"POST {transport}"] = _answer(http.post(query, data=as_victim, timeout=3,
                                                     headers={"Content-Type": "text/plain;charset=UTF-8"}))
    ws_url = url.replace("http://", "ws://") + f"/socket.io/?EIO=4&transport=websocket&sid={sid}"
    try:
        ws = websocket.create_connection(ws_url, timeout=3, suppress_origin=True)
    except websocket.WebSocketBadStatusException as err:
        got["WebSocket upgrade"] = (err.status_code, "")
    else:
        got["WebSocket upgrade"] = "the victim's session accepted a second WebSocket"
        ws.close()
    return got


def polling_handshake(url: str) -> tuple[int, str]:
    return _answer(_stranger().get(f"{url}/socket.io/?EIO=4&transport=polling", timeout=5))


@pytest.mark.parametrize("victim_transport", ["websocket", "polling"])
def test_a_sockets_sid_alone_reaches_nothing(live, victim_transport):
    world = seed_session(live.app, live.url)
    victim = LivePeer(live, world.tokens["alice"], "alice", world.session_id)
    bob = LivePeer(live, world.tokens["bob"], "bob", world.session_id)
    try:
        try:
            victim.connect(transports=(victim_transport,))
        except socketio.exceptions.ConnectionError:
            # WebSocket only: there is no long-polling session to reach. The refusal is Engine.IO's.
            assert victim_transport == "polling"
            assert polling_handshake(live.url) == POLLING_REFUSED
            return
        assert victim.join()["ok"]
        sid = victim.sio.eio.sid
        bob.connect()
        assert bob.join()["ok"]  # the victim is sent a presence update meanwhile

        got = attack(live.url, sid, world.session_id)

        assert all(isinstance(a, tuple) and a[0] == 400 for a in got.values()), got
        for answer in got.values():
            assert "presence" not in answer[1] and "update" not in answer[1], got
        # Nothing was done as the victim: no action recorded under the attacker's id, no event of theirs.
        with live.app.app_context():
            session = db.session.query(PracticeSession).filter_by(public_id=world.session_id).one()
            assert db.session.query(ClientAction).filter_by(client_id="sid-thief-0001").count() == 0
            assert db.session.query(SessionEvent).filter_by(session_id=session.id, seat="a").count() == 0
            db.session.remove()
        # The victim's own socket carries on and still hears the room.
        assert victim.sio.connected
        bob.ok("safety", {"safe": True})
        victim.wait_for(lambda p: p.presence and p.presence[-1]["presence"]["b"]["online"], "Bob's presence")
        assert victim.act("safety", {"safe": True})["ok"]
        bob.wait_for(lambda p: p.view and p.view["phase"] == "ready", "both answered: ready")
    finally:
        victim.close()
        bob.close()


def test_a_long_polling_handshake_is_refused_with_engine_ios_answer(live):
    """What a client gets that asks for long-polling (an old client, or the default transports of
    python-socketio and socket.io-client): HTTP 400 "Invalid transport", with the security headers
    of everything under /socket.io/, and a client that insists on polling cannot connect."""
    resp = _stranger().get(f"{live.url}/socket.io/?EIO=4&transport=polling", timeout=5,
                           headers={"Origin": live.url})
    assert _answer(resp) == POLLING_REFUSED
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    peer = LivePeer(live, live.people["tokens"]["alice"], "alice")
    t0 = time.monotonic()
    with pytest.raises(socketio.exceptions.ConnectionError):
        peer.connect(transports=("polling", "websocket"), wait_timeout=5)
    assert time.monotonic() - t0 < 5  # refused at once, not left to time out
    ws = LivePeer(live, live.people["tokens"]["alice"], "alice").connect(wait_timeout=5)
    assert ws.sio.transport() == "websocket" and ws.sio.call("heartbeat", {}, timeout=5)["ok"]
    ws.close()
