"""The room page meets the connect limit per person (issue 21): a refused connect
(`connect_error` with `err.data.code === "rate_limited"`) says so and is tried again a few seconds
later, instead of sending the person to the login page; and it speaks WebSocket only. A served app of its own, allowing one
connect per person every 4 seconds; the rest of the suite's server keeps its limits high."""
import pytest
from playwright.sync_api import expect

from browser_kit import connected, enter_room
from support.people import make_account, pair_and_link
from support.server import EASY_LOGIN, database, serve

PASSWORD = "browser-test-password-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Replaces the suite's `server` for this module: one couple, and their therapist."""
    tmp = tmp_path_factory.mktemp("browser-limits")

    def people(app):
        from couples.extensions import db
        with app.app_context():
            therapist = make_account("therapist@limits.example", "therapist", "Dr Robin Lee", PASSWORD)
            a = make_account("a0@limits.example", "partner", "Alex", PASSWORD)
            b = make_account("b0@limits.example", "partner", "Sam", PASSWORD)
            pair_and_link(a, b, therapist)
            db.session.commit()
            db.session.remove()
        return {"password": PASSWORD, "therapist": "therapist@limits.example",
                "couples": [{"a": "a0@limits.example", "b": "b0@limits.example", "names": ["Alex", "Sam"]}]}

    env = {"COUPLES_SWEEP_INTERVAL": "0.3", "COUPLES_SOCKET_CONNECTS_PER_PERSON": "1 per 4 seconds", **EASY_LOGIN}
    with database(tmp, postgresql=False) as (url, app), serve(tmp, url, app=app, people=people, env=env,
                                                                name="limits") as served:
        yield served


def test_a_connect_refused_as_too_many_is_tried_again_shortly(people):
    alex, _, _ = people(0)
    room = enter_room(alex)  # Alex's one connect of these 4 seconds
    again = alex.new_page()
    websockets, http = [], []
    again.on("websocket", lambda ws: websockets.append(ws.url))
    again.on("request", lambda r: "/socket.io/" in r.url and http.append(r.url))
    again.goto(room.url)  # a second tab at once: refused as too many
    expect(again.locator("#connection-text")).to_have_text("Too many connections just now. Trying again shortly…")
    expect(again.get_by_role("link", name="Log in again")).to_be_hidden()
    expect(again.locator("#connection-text")).to_have_text("Connected", timeout=30_000)  # a few seconds on
    connected(room)
    # The page speaks WebSocket only (the server refuses long-polling): two WebSockets, no HTTP.
    assert http == [] and len(websockets) == 2 and all("transport=websocket" in u for u in websockets), (
        http, websockets)
