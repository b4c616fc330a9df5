"""Logging out in another tab ends the open room at once: it says so, switches its controls off,
and its link leads through the login page back into the same room."""
from playwright.sync_api import expect

from browser_kit import answer, at_step, check_page, connected, enter_room


def test_a_logout_in_another_tab_ends_the_open_room_and_leads_back_in(people, server):
    ana, ben, _ = people(4)
    room, partner = enter_room(ana), enter_room(ben)
    url = room.url

    other = ana.new_page()
    other.goto("/")
    other.get_by_role("button", name="Log out").click()

    # The sweeper drops the socket within a pass; the page must say why, and stay saying it.
    status = room.locator("#connection-text")
    expect(status).to_have_text("You have been logged out. Please log in again to continue.")
    room.wait_for_timeout(1500)  # past the socket's own disconnect and any reconnect attempt
    expect(status).to_have_text("You have been logged out. Please log in again to continue.")
    check_page(room, "room-logged-out")

    # Nothing can be sent from here any more: the step's form and the Pause and End buttons are
    # still shown but switched off, rather than promising to send an answer later.
    for name in ("Pause", "End session"):
        expect(room.get_by_role("button", name=name)).to_be_disabled()
    expect(room.locator("#action-area button")).not_to_have_count(0)
    expect(room.locator("#action-area :is(button, input, textarea, select):enabled")).to_have_count(0)
    expect(room.locator("#turn")).to_be_empty()  # no "Your turn." on a page that cannot take it

    link = room.get_by_role("link", name="Log in again")
    link.click()
    room.wait_for_url("**/login**")
    room.get_by_label("Email").fill(server.people["couples"][4]["a"])
    room.get_by_label("Password").fill(server.people["password"])
    room.get_by_role("button", name="Log in").click()
    room.wait_for_url(url)
    connected(room)
    answer(room, safe=True)
    answer(partner, safe=True)
    at_step(partner, "Choose an exercise")
