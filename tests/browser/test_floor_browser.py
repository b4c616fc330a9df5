"""Speaker and listener on two phones: the floor's short pieces with their length limit, a
paraphrase corrected, "Is there more?", the floor passed, then solving one thing together and a
follow-up date; the observer follows it read-only."""
from playwright.sync_api import expect

from browser_kit import (StepShots, answer, at_step, check_page, enter_room, in_days, observe,
                         read_only, timeline, walk)

PHONE = {"width": 375, "height": 800}


def test_the_floor_on_phones_from_the_first_piece_to_a_plan(people):
    eli, dan, lee = people(5)
    a, b = enter_room(eli), enter_room(dan)
    for p in (a, b):
        p.set_viewport_size(PHONE)
    t = observe(lee, ("Eli", "Dan"))
    answer(a, safe=True)
    answer(b, safe=True)
    at_step(a, "Choose an exercise")
    a.get_by_role("button", name="Start: Speaker and listener").click()
    at_step(b, "Check-in")
    shots = StepShots("floor")
    shots(a)
    answer(a, suds=3)
    answer(b, suds=4)
    at_step(a, "Who goes first")
    shots(a)
    answer(a, first="me")  # Eli holds the floor first

    step = walk(shots, (a, b, t))

    step("Our subject", a, topic="Sundays with my parents")
    at_step(a, "Holding the floor")
    piece = a.locator('#step-form [name="piece"]')
    assert piece.get_attribute("maxlength") == "300"  # a sentence or two
    at_step(b, "Holding the floor")
    expect(b.locator("#step-form")).to_have_count(0)  # the floor is Eli's: nothing for Dan to send
    read_only(t)
    check_page(a, "room-floor-piece")
    shots(a)
    answer(a, piece="I feel stretched thin when every Sunday is planned")
    step("Saying it back", b, card="I feel stretched thin when every Sunday is planned",
         paraphrase="You don't like Sundays")
    step("Did I get it?", a, card="You don't like Sundays",
         verdict="not_quite", correction="Not Sundays: every one being planned")
    step("Saying it back", b, card="Not Sundays: every one being planned",
         paraphrase="You feel stretched thin when every Sunday is planned")
    step("Did I get it?", a, card="You feel stretched thin when every Sunday is planned", verdict="yes")
    step("Is there more?", a, more="pass")
    step("Holding the floor", b, piece="I miss my parents when we skip a visit")
    step("Saying it back", a, card="I miss my parents when we skip a visit", paraphrase="You miss them when we skip")
    step("Did I get it?", b, card="You miss them when we skip", verdict="yes")
    step("Is there more?", b, more="pass")
    at_step(a, "What next")
    check_page(b, "room-floor-what-next")
    shots(a)
    answer(a, choice="solve")
    answer(b, choice="solve")
    step("Agenda", b, topic="Which Sundays we visit")
    at_step(a, "Ideas")
    shots(a)
    answer(a, ideas="Every other Sunday")
    answer(b, ideas="A video call in between")
    step("One idea to try", a, idea="Every other Sunday, with a call in between")
    step("Agree to try it", b, card="Every other Sunday, with a call in between", agree="yes")
    step("Follow-up", a, follow_up_date=in_days(14))
    at_step(a, "Check-out")
    shots(a)
    answer(a, suds=2)
    answer(b, suds=2)
    for p in (a, b, t):
        at_step(p, "Choose an exercise")
        timeline(p).to_contain_text("agreed to try \u201cEvery other Sunday, with a call in between\u201d")
    check_page(t, "room-floor-observer-done")
