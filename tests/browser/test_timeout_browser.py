"""A time-out called in the middle of the greeting: the break's countdown, a pause, the return."""
import re

from playwright.sync_api import expect

from browser_kit import answer, at_step, check_page, enter_room, observe, read_only, timeline


def test_timeout_from_the_greeting_with_a_pause_and_the_break_falling_due(people, server):
    jo, ria, lee = people(1)
    a, b = enter_room(jo), enter_room(ria)
    t = observe(lee, ("Jo", "Ria"))
    answer(a, safe=True)
    answer(b, safe=True)
    at_step(a, "Choose an exercise")
    a.get_by_role("button", name="Start: Greeting ritual").click()
    at_step(b, "Check-in")
    answer(a, suds=6, connected=3)
    answer(b, suds=7, connected=2)
    at_step(b, "Who goes first")
    answer(b, first="partner")
    at_step(a, "Greeting")

    # Ria feels flooded and calls a time-out from the middle of the greeting.
    b.get_by_text("I need a time-out").click()
    check_page(b, "room-timeout-call")
    answer(b, form="#timeout-form", feeling="overwhelmed", arousal=8)
    at_step(a, "Acknowledge the time-out")
    expect(a.locator("#turn")).to_have_text("Your turn.")
    at_step(t, "Acknowledge the time-out")
    read_only(t)
    answer(a, feeling="on edge", arousal=6)

    at_step(a, "Agree when to come back")
    answer(a, minutes=20)
    answer(b, minutes=25)
    for page in (a, b, t):
        at_step(page, "Break")
        expect(page.locator("#countdown-time")).to_have_text(re.compile(r"^2[45]:\d\d$"))
    expect(a.locator("#suggestions")).to_contain_text("Breathe slowly")
    check_page(a, "room-break-countdown")
    answer(a, activity="A walk round the block")
    timeline(b).to_contain_text("A walk round the block")

    # A pause, with a private reason only Ria and the therapist see; both must be ready to go on.
    b.locator("#pause-reason-box summary").click()
    b.get_by_label("Reason, seen only by you and your therapist").fill("I need some water")
    b.get_by_role("button", name="Pause").click()
    for page in (a, b):
        at_step(page, "Paused")
    expect(a.locator("#turn")).to_have_text("Ria paused the session.")
    expect(b.locator("#action-area")).to_contain_text("I need some water")
    timeline(t).to_contain_text("I need some water")
    check_page(a, "room-paused")
    assert "I need some water" not in a.locator("#room").inner_text()
    b.get_by_role("button", name="I'm ready to continue").click()
    expect(b.locator("#action-area")).to_contain_text("Waiting for Jo to be ready too")
    a.get_by_role("button", name="I'm ready to continue").click()
    at_step(a, "Break")

    server.set_clock(25 * 60 + 2)  # the sweeper fires the due timer; no sleeping for minutes
    for page in (a, b, t):
        at_step(page, "Coming back")
    answer(a, arousal=3, ready=True)
    answer(b, arousal=4, ready=True)
    at_step(a, "Choose the next step")
    answer(a, choice="resume")
    answer(b, choice="resume")

    at_step(b, "My part")
    answer(b, part="I raised my voice", differently="I will ask for a break sooner")
    at_step(a, "My part")
    answer(a, part="I kept pushing the point", differently="I will slow down")
    at_step(b, "Gentle restart")
    answer(b, feel="worried", about="money this month", need="to plan it together")
    at_step(a, "I hear you")
    answer(a, acknowledgement="You're worried about money and want us to plan together")
    at_step(a, "Check-out")
    answer(a, suds=2)
    answer(b, suds=3)

    # Back to the greeting where it was interrupted.
    for page in (a, b, t):
        at_step(page, "Greeting")
    timeline(t).to_contain_text("Back to the exercise")
    expect(t.locator("#live-table tbody tr")).to_have_count(10)
    b.get_by_role("button", name="End session").click()
    b.get_by_role("button", name="Yes, end the session").click()
    at_step(a, "The session has ended")

    lee.page.goto("/therapist")
    lee.page.get_by_role("link", name=re.compile(r"^Transcript of .*\(Jo and Ria\)")).first.click()
    expect(lee.page.get_by_role("heading", name="Time-out to calm down")).to_be_visible()
    lee.page.get_by_label("New note").fill("Ria flooded quickly; both came back calmer.")
    lee.page.get_by_role("button", name="Save note").click()
    expect(lee.page.locator("#notes")).to_contain_text("Ria flooded quickly")
    check_page(lee.page, "transcript-therapist")
    ria.page.goto(lee.page.url.replace(server.url, ""))
    expect(ria.page.get_by_role("heading", name="Time-out to calm down")).to_be_visible()
    assert ria.page.locator("#notes").count() == 0
    assert "Ria flooded quickly" not in ria.page.content()
    server.set_clock(0)
