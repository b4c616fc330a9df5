"""Every dead end explained, dashboards that keep up, and the therapist's workspace (issue 24: 3,
5 and 9). One partner on a 375 px phone, the other and the therapist at 1280 px; axe-core on each
message where it is read. The couples are this module's own: their endings must not touch the
couples the other browser tests share (no name used twice)."""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from browser_kit import answer, check_page, connected, enter_room, observe
from support.people import Api, make_account, pair_and_link
from support.server import dispose

COUPLES = [("Iris", "Omar"), ("Cam", "Dee"), ("Nia", "Fay"), ("Gus", "Hana")]
PHONE = {"width": 375, "height": 800}
LIVE = 10_000  # the dashboards ask every 4 s


@pytest.fixture(scope="module")
def ours(server):
    """This module's couples, linked to the shared therapist: their indexes for `people`."""
    from couples.extensions import db
    from couples.models import User
    first = len(server.people["couples"])
    with server.app.app_context():
        therapist = db.session.scalar(select(User).where(User.email == server.people["therapist"]))
        for i, (a, b) in enumerate(COUPLES):
            ua = make_account(f"ends-a{i}@test.example", "partner", a, server.people["password"])
            ub = make_account(f"ends-b{i}@test.example", "partner", b, server.people["password"])
            pair_and_link(ua, ub, therapist)
            db.session.commit()
            server.people["couples"].append({"a": ua.email, "b": ub.email, "names": [a, b]})
        db.session.remove()
    dispose(server.app)
    return dict(zip([a for a, _ in COUPLES], range(first, first + len(COUPLES))))


def on_phone(person):
    person.page.set_viewport_size(PHONE)
    return person.page


def test_the_partner_is_told_live_and_the_therapist_works_beside_the_room(people, ours):
    iris, omar, theo = people(ours["Iris"])
    dashboard = on_phone(omar)
    dashboard.goto("/dashboard")
    practice = omar.new_page()
    practice.set_viewport_size(PHONE)
    practice.goto("/practice")
    theo.page.goto("/dashboard")

    enter_room(iris)  # Iris starts; Omar has never been in it: "Join", not "Rejoin"
    expect(dashboard.locator("#live-notice")).to_have_text("Iris started a session and is in the room now.", timeout=LIVE)
    expect(dashboard.get_by_role("link", name="Join the session")).to_be_visible()
    check_page(dashboard, "live-dashboard-partner-started")
    expect(practice.get_by_role("heading", name="Iris started a session")).to_be_visible(timeout=LIVE)
    expect(practice.get_by_role("link", name="Rejoin the session")).to_have_count(0)
    expect(theo.page.locator("#live-notice")).to_have_text("Iris and Omar started a session.", timeout=LIVE)
    check_page(theo.page, "live-dashboard-therapist")

    practice.get_by_role("link", name="Join the session").click()
    connected(practice)
    room = observe(theo, ("Iris", "Omar"))
    # Wide screen: the private notes beside the live view, saved without leaving the page.
    stage, notes = room.locator("#stage").bounding_box(), room.locator("#notes").bounding_box()
    assert notes["x"] >= stage["x"] + stage["width"] and notes["y"] < stage["y"] + stage["height"], (stage, notes)
    room.evaluate("window.stillHere = true")
    room.get_by_label("New note").fill("Omar took a while to come in.")
    room.get_by_role("button", name="Save note").click()
    expect(room.locator("#note-status")).to_have_text("Note saved. Only you can see it.")
    expect(room.locator("#note-list li")).to_have_count(1)
    expect(room.locator("#note-list")).to_contain_text("Omar took a while to come in.")
    expect(room.get_by_label("New note")).to_have_value("")
    assert room.evaluate("window.stillHere") is True  # no reload, the place kept

    iris.page.get_by_role("button", name="End session").click()
    iris.page.get_by_role("button", name="Yes, end the session").click()
    expect(practice.locator("#ended-panel")).to_contain_text("Iris ended the session.")
    expect(practice.get_by_role("link", name="Read the transcript")).to_be_visible()
    check_page(practice, "dead-end-ended-by-partner")
    expect(room.locator("#ended-panel")).to_contain_text("Iris ended the session.")
    expect(room.locator("#prompt")).to_have_text("This session has ended.")  # not "Thank you both"
    link = room.get_by_role("link", name="Read the transcript")
    expect(link).to_have_attribute("href", re.compile(r"/sessions/[^/]+/transcript$"))
    check_page(room, "observer-session-ended")
    expect(iris.page.locator("#ended-panel")).to_contain_text("You ended the session.")


def test_removing_the_therapist_clears_their_page_and_tells_the_other_partner(people, ours):
    cam, dee, theo = people(ours["Cam"])
    phone = on_phone(dee)
    enter_room(cam)
    enter_room(dee)
    room = observe(theo, ("Cam", "Dee"))
    answer(cam.page, safe=False)
    answer(phone, safe=True)
    # The observer's own words at "not today", not the partners' advice.
    expect(room.locator("#prompt")).to_contain_text("A partner said it does not feel safe to practise together today")
    expect(room.get_by_text("What the partners are shown:")).to_be_visible()
    check_page(room, "observer-not-today")

    settings = cam.new_page()
    settings.goto("/dashboard")
    settings.get_by_role("button", name="Remove Dr Robin Lee").click()

    expect(room.locator("#dead-end")).to_contain_text("Your access was removed")
    expect(room.locator("h1")).to_have_text("Observing")
    expect(room.locator("#timeline li")).to_have_count(0)
    shown = room.locator("body").inner_text()
    assert "Cam" not in shown and "Dee" not in shown and "feel safe" not in shown, shown
    expect(room.get_by_role("link", name="Back to your couples")).to_be_visible()
    check_page(room, "dead-end-therapist-access-removed")

    expect(phone.locator("#room-notice")).to_have_text(
        "Cam removed Dr Robin Lee's access. Dr Robin Lee can no longer watch or read your sessions. "
        "Who can see your data")
    check_page(phone, "notice-therapist-removed")
    expect(cam.page.locator("#room-notice")).to_contain_text("You removed Dr Robin Lee's access.")


def test_a_partner_who_leaves_or_deletes_their_account_is_explained_to_the_other(people, ours, server):
    nia, fay, _ = people(ours["Nia"])
    phone = on_phone(fay)
    enter_room(nia)
    enter_room(fay)
    leaving = nia.new_page()
    leaving.goto("/couple/leave")
    leaving.get_by_role("button", name="Yes, end our couple").click()

    expect(phone.locator("#dead-end")).to_contain_text("Nia has left the couple")
    expect(phone.locator("#dead-end")).to_contain_text("What you did together stays yours to read.")
    for name in ("Read what you did together", "Where to find support", "Go to your dashboard"):
        expect(phone.get_by_role("link", name=name)).to_be_visible()
    expect(phone.locator("#safety-bar")).to_be_hidden()
    check_page(phone, "dead-end-partner-left")
    expect(nia.page.locator("#dead-end")).to_contain_text("You left the couple")

    gus, hana, _ = people(ours["Gus"])
    phone = on_phone(hana)
    enter_room(gus)
    enter_room(hana)
    couple = server.people["couples"][ours["Gus"]]
    token = Api(server.url).call("POST", "/api/v1/tokens", {"email": couple["a"], "password": server.people["password"]})["token"]
    Api(server.url, token).call("POST", "/api/v1/me/delete", {"password": server.people["password"],
                                                                "confirm": "delete my account"}, expect=(200, 204))
    expect(phone.locator("#dead-end")).to_contain_text("Gus deleted their account")
    expect(phone.get_by_role("link", name="Where to find support")).to_be_visible()
    check_page(phone, "dead-end-partner-deleted")
    expect(gus.page.locator("#dead-end")).to_contain_text("Your account was deleted")
