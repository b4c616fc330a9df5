"""The stress-reducing conversation on two phones: a timed turn with its countdown, finished early;
the listener's gentle hint against advice; the second turn ended by the server's timer."""
import re

from playwright.sync_api import expect

from browser_kit import (StepShots, answer, at_step, check_page, enter_room, observe, read_only,
                         timeline)

PHONE = {"width": 375, "height": 800}



def test_a_stress_reducing_conversation_on_phones(people, server):
    ivy, mia, lee = people(7)
    a, b = enter_room(ivy), enter_room(mia)
    for page in (a, b):
        page.set_viewport_size(PHONE)
    t = observe(lee, ("Ivy", "Mia"))
    answer(a, safe=True)
    answer(b, safe=True)
    at_step(a, "Choose an exercise")
    expect(a.locator('#start-stress [name="turn_minutes"]')).to_have_value("10")
    a.get_by_role("button", name="Start: Stress-reducing conversation").click()
    at_step(b, "Check-in")
    shots = StepShots("stress")
    shots(a)
    answer(a, suds=4)
    answer(b, suds=3)
    at_step(a, "Who goes first")
    shots(a)
    answer(a, first="me")
    at_step(a, "My stress")
    shots(a)
    answer(a, topic="My manager moved the deadline again")
    try:
        for page in (a, b, t):
            at_step(page, "Talking it through")
            expect(page.locator("#countdown-time")).to_have_text(re.compile(r"^(10:00|9:\d\d)$"))
        expect(b.locator("#prompt")).to_contain_text("be on your partner's side")
        expect(b.locator("#suggestions")).to_contain_text("No advice unless your partner asks for it")
        read_only(t)
        shots(a)
        check_page(a, "room-stress-turn-phone")
        check_page(b, "room-stress-listening-phone")
        answer(a)  # Ivy has said what she needed to: the turn ends early
        at_step(b, "One line of support")
        shots(b, card="My manager moved the deadline again")
        support = b.locator('#step-form [name="support"]')
        support.fill("You should just tell her no")
        expect(b.locator('#step-form [data-field="support"] .hint-gentle')).to_contain_text("may sound like advice")
        check_page(b, "room-stress-advice-hint-phone")
        answer(b, support="That sounds so unfair. I'm on your side.")
        at_step(a, "Feeling supported")
        shots(a, card="That sounds so unfair. I'm on your side.")
        answer(a, supported=8, helped="You asked what was hardest")
        at_step(b, "My stress")
        shots(b)
        answer(b, topic="My knee")
        for page in (a, b):
            at_step(page, "Talking it through")
        shots(b)
        server.set_clock(10 * 60 + 2)  # nobody presses anything: the server ends the turn
        for page in (a, b, t):
            at_step(page, "One line of support")
        timeline(t).to_contain_text("The turn's time was up.")
    finally:
        server.set_clock(0)
    shots(a, card="My knee")
    answer(a, support="No wonder you're tired.")
    at_step(b, "Feeling supported")
    shots(b, card="No wonder you're tired.")
    answer(b, supported=9)
    at_step(a, "Check-out")
    shots(a)
    answer(a, suds=2)
    answer(b, suds=2)
    for page in (a, b, t):
        at_step(page, "Choose an exercise")
        timeline(page).to_contain_text("That sounds so unfair. I'm on your side.")
