"""Mirror, validate, empathise on two phones: a message, a mirror with "there's more" until "that's
all", the summary, a validation corrected, the empathy as a feeling word, then the roles swap and
the second round; the observer follows it read-only."""
from playwright.sync_api import expect

from browser_kit import answer, at_step, check_page, enter_room, observe, read_only, timeline

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
    answer(a, suds=3)
    answer(b, suds=3)
    at_step(b, "Who goes first")
    answer(b, first="partner")  # Zoe sends first

    def step(title, page, **fields):
        for p in (a, b, t):
            at_step(p, title)
        answer(page, **fields)

    def round_of(sender, receiver, message, feeling):
        step("Sending", sender, message=message)
        step("Mirroring", receiver, mirror=f"If I got it, you said: {message}")
        step("Did I get it?", sender, verdict="all")
        step("Summing up", receiver, summary=f"All of it: {message}")
        step("Did I get it all?", sender, verdict="yes")
        step("It makes sense", receiver, makes_sense="That makes sense, because it matters to you")
        step("Does it make sense?", sender, verdict="yes")
        step("Imagining the feeling", receiver, feeling=feeling)
        step("Is that the feeling?", sender, verdict="yes")

    at_step(a, "Sending")
    expect(a.locator('#step-form [name="message"]')).to_have_attribute("maxlength", "300")
    step("Sending", a, message="I feel alone when you work late")
    step("Mirroring", b, mirror="If I got it, you feel alone when I work late")
    at_step(a, "Did I get it?")
    check_page(a, "room-dialogue-did-i-get-it")
    step("Did I get it?", a, verdict="more", words="Weekdays most of all")
    step("Mirroring", b, mirror="Weekdays most of all")
    step("Did I get it?", a, verdict="all")
    step("Summing up", b, summary="You feel alone on weekdays when I work late")
    step("Did I get it all?", a, verdict="yes")
    step("It makes sense", b, makes_sense="That makes sense, because we used to eat together")
    step("Does it make sense?", a, verdict="not_quite", correction="Not only eating: talking")
    step("It makes sense", b, makes_sense="That makes sense, because we talked over dinner")
    step("Does it make sense?", a, verdict="yes")
    at_step(b, "Imagining the feeling")
    read_only(t)
    check_page(b, "room-dialogue-empathise")
    step("Imagining the feeling", b, feeling="lonely", words="and a bit forgotten")
    step("Is that the feeling?", a, verdict="yes")
    # The roles swap: Leo sends now.
    round_of(b, a, "I stay late because I worry about money", "worried")
    at_step(a, "Check-out")
    answer(a, suds=2)
    answer(b, suds=1)
    for p in (a, b, t):
        at_step(p, "Choose an exercise")
        timeline(p).to_contain_text("I stay late because I worry about money")
        timeline(p).to_contain_text("Exercise completed.")
