"""After a fight on two phones: refused, with the reason, until both have rated their distress 5
or below (here through the pause technique); then the five stages in turn, an apology accepted and
one answered with what is still needed, and the outcome in the timeline."""
from playwright.sync_api import expect

from browser_kit import (StepShots, answer, at_step, check_page, enter_room, observe, read_only,
                         timeline, walk)

PHONE = {"width": 375, "height": 800}



def test_after_a_fight_once_both_are_calm_on_phones(people):
    tom, raj, lee = people(8)
    a, b = enter_room(tom), enter_room(raj)
    for page in (a, b):
        page.set_viewport_size(PHONE)
    t = observe(lee, ("Tom", "Raj"))
    answer(a, safe=True)
    answer(b, safe=True)
    at_step(a, "Choose an exercise")
    a.get_by_role("button", name="Start: After a fight").click()
    expect(a.locator("#form-status")).to_contain_text("for when you are both calm")
    expect(a.locator("#form-status")).to_contain_text("pause technique")
    at_step(a, "Choose an exercise")  # nothing started
    check_page(a, "room-after-fight-refused-phone")

    # The pause technique: each names and rates how they feel, and both carry on.
    a.get_by_role("button", name="Pause").click()
    answer(a, form="#pause-check-form", feeling="calm", rating=3, next="carry_on")
    answer(b, form="#pause-check-form", rating=4, next="carry_on")
    at_step(b, "Choose an exercise")
    b.get_by_role("button", name="Start: After a fight").click()
    at_step(a, "Check-in")
    shots = StepShots("after-fight")
    shots(a)
    answer(a, suds=3)
    answer(b, suds=4)
    at_step(b, "Who goes first")
    shots(b)
    answer(b, first="partner")  # Tom goes first at each stage

    step = walk(shots, (a, b, t))

    step("Feelings", a, feeling="hurt", feeling_2="lonely")
    read_only(t)
    step("Feelings", b, feeling="ashamed")
    step("My reality", a, reality="I waited an hour at the station and you did not call")
    at_step(b, "What I heard")
    check_page(b, "room-after-fight-summary-phone")
    step("What I heard", b, card="I waited an hour at the station and you did not call",
         summary="You waited a long time, not knowing", validation="It makes sense to me that you were hurt")
    step("My reality", b, reality="My phone died and I ran the whole way")
    step("What I heard", a, card="My phone died and I ran the whole way", summary="Your phone died and you hurried",
         validation="It makes sense to me that you felt cornered when I snapped")
    step("What made it hit harder", a, trigger="Being forgotten at the school gate as a child")
    step("What made it hit harder", b, trigger="Being shouted at in public")
    step("What I own", a, part="I snapped as soon as you arrived", apology="I'm sorry I greeted you with blame")
    step("The apology", b, card="I'm sorry I greeted you with blame", answer="accept")
    step("What I own", b, set_up="A long week", part="I walked off", apology="I'm sorry I walked away")
    at_step(a, "The apology")
    check_page(a, "room-after-fight-apology-phone")
    check_page(t, "room-after-fight-apology-observer")
    step("The apology", a, card="I'm sorry I walked away", answer="still_need",
         still_need="To know you will stay and talk")
    at_step(b, "Hearing what is needed")
    expect(b.locator("#prompt")).to_contain_text("To know you will stay and talk")
    step("Hearing what is needed", b, card="To know you will stay and talk",
         heard="You need me to stay, even when it is hard")
    step("Next time", a, differently="Say I'm worried before I get angry", you_could="Send a text if you're late")
    step("Next time", b, differently="Charge my phone before I go out")
    at_step(a, "Check-out")
    shots(a)
    answer(a, suds=2)
    answer(b, suds=2)
    for page in (a, b, t):
        at_step(page, "Choose an exercise")
        timeline(page).to_contain_text("accepted the apology")
        timeline(page).to_contain_text("said what they still need: \u201cTo know you will stay and talk\u201d")
    check_page(t, "room-after-fight-outcome-observer")
