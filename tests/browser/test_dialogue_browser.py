"""Mirror, validate, empathise on two phones: a message, a mirror with "there's more" until "that's
all", the summary, a validation corrected, the empathy as a feeling word, then the roles swap and
the second round; the observer follows it read-only."""
from playwright.sync_api import expect

from browser_kit import (StepShots, answer, at_step, check_page, enter_room, observe, read_only,
                         timeline, walk)

PHONE = {"width": 375, "height": 800}


def test_a_dialogue_on_phones_both_rounds(people):
    zoe, leo, lee = people(6)
    a, b = enter_room(zoe), enter_room(leo)
    for p in (a, b):
        p.set_viewport_size(PHONE)
    t = observe(lee, ("Zoe", "Leo"))
    answer(a, safe=True)
    answer(b, safe=True)
    at_step(b, "Choose an exercise")
    b.get_by_role("button", name="Start: Mirror, validate, empathise").click()
    at_step(a, "Check-in")
    shots = StepShots("dialogue")
    shots(a)
    answer(a, suds=3)
    answer(b, suds=3)
    at_step(b, "Who goes first")
    shots(b)
    answer(b, first="partner")  # Zoe sends first

    step = walk(shots, (a, b, t))

    def round_of(sender, receiver, message, feeling):
        mirror, summary = f"If I got it, you said: {message}", f"All of it: {message}"
        makes_sense = "That makes sense, because it matters to you"
        step("Sending", sender, message=message)
        step("Mirroring", receiver, card=message, mirror=mirror)
        step("Did I get it?", sender, card=mirror, verdict="all")
        step("Summing up", receiver, card=message, summary=summary)
        step("Did I get it all?", sender, card=summary, verdict="yes")
        step("It makes sense", receiver, card=message, makes_sense=makes_sense)
        step("Does it make sense?", sender, card=makes_sense, verdict="yes")
        step("Imagining the feeling", receiver, card=message, feeling=feeling)
        step("Is that the feeling?", sender, card=feeling, verdict="yes")

    at_step(a, "Sending")
    expect(a.locator('#step-form [name="message"]')).to_have_attribute("maxlength", "300")
    step("Sending", a, message="I feel alone when you work late")
    step("Mirroring", b, card="I feel alone when you work late", mirror="If I got it, you feel alone when I work late")
    at_step(a, "Did I get it?")
    check_page(a, "room-dialogue-did-i-get-it")
    step("Did I get it?", a, card="you feel alone when I work late", verdict="more", words="Weekdays most of all")
    step("Mirroring", b, card="Weekdays most of all", mirror="Weekdays most of all")
    step("Did I get it?", a, card="Weekdays most of all", verdict="all")
    # The receiver's summary, validation and empathy answer the sender's words: the message and
    # what more was said (and a correction), never the last "you got it".
    at_step(b, "Summing up")
    expect(b.locator("#partner-words")).to_contain_text("I feel alone when you work late")
    expect(b.locator("#partner-words")).not_to_contain_text("that's all")
    step("Summing up", b, card="Weekdays most of all", summary="You feel alone on weekdays when I work late")
    step("Did I get it all?", a, card="You feel alone on weekdays when I work late", verdict="yes")
    step("It makes sense", b, card="I feel alone when you work late",
         makes_sense="That makes sense, because we used to eat together")
    step("Does it make sense?", a, card="because we used to eat together",
         verdict="not_quite", correction="Not only eating: talking")
    step("It makes sense", b, card="Not only eating: talking",
         makes_sense="That makes sense, because we talked over dinner")
    step("Does it make sense?", a, card="because we talked over dinner", verdict="yes")
    at_step(b, "Imagining the feeling")
    expect(b.locator("#partner-words")).to_contain_text("I feel alone when you work late")
    expect(b.locator("#partner-words")).not_to_contain_text("Yes, that's it")
    read_only(t)
    check_page(b, "room-dialogue-empathise")
    step("Imagining the feeling", b, feeling="lonely", words="and a bit forgotten")
    step("Is that the feeling?", a, card="and a bit forgotten", verdict="yes")
    # The roles swap: Leo sends now.
    round_of(b, a, "I stay late because I worry about money", "worried")
    at_step(a, "Check-out")
    shots(a)
    answer(a, suds=2)
    answer(b, suds=1)
    for p in (a, b, t):
        at_step(p, "Choose an exercise")
        timeline(p).to_contain_text("I stay late because I worry about money")
        timeline(p).to_contain_text("Exercise completed.")
