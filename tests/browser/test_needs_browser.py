"""A needs request: the four parts with their gentle hints, a clarified mirror and "there's more",
the validation, an alternative accepted, a follow-up date."""
from playwright.sync_api import expect

from browser_kit import (StepShots, answer, at_step, check_page, connected, enter_room, in_days, observe,
                         read_only, timeline)


def keyboard_check_in(page, suds):
    """Answer the check-in with the keyboard alone: arrows choose a rating, Tab moves, Enter sends."""
    page.locator('#step-form input[name="suds"]').first.focus()
    for _ in range(suds):
        page.keyboard.press("ArrowRight")
    expect(page.locator(f'#step-form input[name="suds"][value="{suds}"]')).to_be_checked()
    for _ in range(8):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.type === 'submit'"):
            break
    assert page.evaluate("document.activeElement.closest('#step-form') !== null"
                         " && document.activeElement.type === 'submit'"), "Tab never reached the form's button"
    page.keyboard.press("Enter")
    # Sent: the step moves on. (Not "the turn text changes": the next step is answered by both too,
    # so with a quick server the text is the same again before a check could see it change.)
    expect(page.locator("#step-title")).not_to_have_text("Check-in")


def test_needs_request_with_a_clarification_and_an_alternative(people):
    kim, lou, lee = people(2)
    a, b = enter_room(kim), enter_room(lou)
    t = observe(lee, ("Kim", "Lou"))
    answer(b, safe=True)
    answer(a, safe=True)
    at_step(b, "Choose an exercise")
    b.get_by_role("button", name="Start: Needs request").click()
    at_step(a, "Check-in")
    shots = StepShots("needs")
    shots(a)
    answer(a, suds=5, feeling="lonely")
    keyboard_check_in(b, suds=3)
    at_step(b, "Who goes first")
    shots(b)
    answer(b, first="partner")  # Kim speaks first

    steps = []

    def step(title, page, card=None, **fields):
        """Everyone is at the step; its screens are saved and, with `card`, the partner's words
        are on a card above the prompt; then `page` answers it."""
        for p in (a, b, t):
            at_step(p, title)
        read_only(t)
        steps.append(title)
        shots(page, card=card)
        answer(page, **fields)

    def gentle(page, name):
        return page.locator(f'#step-form [data-field="{name}"] .hint-gentle')

    step("What happened", a, observation="You worked late three evenings this week")
    # A judgement as a feeling: a hint appears as Kim types, read out politely, never an error.
    at_step(a, "How I felt")
    a.locator('#step-form [data-field="feeling"] .more-words > summary').click()  # "More feelings, or your own"
    a.locator('#step-form [data-own="feeling"]').fill("ignored")
    expect(gentle(a, "feeling")).to_contain_text("says what your partner did")
    expect(gentle(a, "feeling")).to_have_attribute("aria-live", "polite")
    assert a.locator("#step-form .field-error").count() == 0
    check_page(a, "room-needs-feeling-hint")
    a.locator('#step-form [data-own="feeling"]').fill("")
    a.locator('#step-form [data-field="feeling"] .more-words > summary').click()  # folded again
    step("How I felt", a, feeling="lonely")
    step("What I need", a, need="closeness")  # from the needs list
    at_step(a, "My request")
    demand = "You have to keep Thursday evening for us"
    a.locator('#step-form [name="request"]').fill(demand)
    expect(gentle(a, "request")).to_contain_text("may sound like a demand")
    a.locator('#step-form [name="request"]').fill("Could we keep Thursday evening for us?")
    expect(gentle(a, "request")).to_have_text("")
    step("My request", a, request="Could we keep Thursday evening for us?")
    heard = {"feeling": "lonely", "need": "companionship"}
    # Lou mirrors all four parts with them on a card above the prompt.
    expect(b.locator("#partner-words .partner-entry")).to_have_count(4)
    expect(b.locator("#partner-words")).to_contain_text("What happened: You worked late three evenings this week")
    expect(b.locator("#partner-words")).to_contain_text("How I felt: lonely")
    expect(t.locator("#partner-words")).to_contain_text("Kim wrote")  # the observer sees what is answered
    step("Mirror", b, card="Could we keep Thursday evening for us?", mirror="You felt lonely with my late evenings and want Thursday for us", **heard)
    # "What to add or correct" is needed after "there's more" or "let me clarify": never "Optional."
    at_step(a, "Did I get it?")
    expect(a.locator("#step-form [data-field=clarification]")).to_be_visible()
    expect(a.locator("#step-form").get_by_text("Optional.")).to_have_count(0)
    step("Did I get it?", a, card="You felt lonely with my late evenings", verdict="clarify",
         clarification="It is about feeling close, not about blame")

    # Kim reloads before checking the second mirror, and carries on.
    step("Mirror", b, card="It is about feeling close, not about blame",
         mirror="You miss feeling close, and Thursday evening would help", **heard)
    a.reload()
    connected(a)
    at_step(a, "Did I get it?")
    timeline(a).to_contain_text("It is about feeling close, not about blame")
    step("Did I get it?", a, card="Thursday evening would help", verdict="more",
         clarification="And I'd like us to cook together")
    step("Mirror", b, card="And I'd like us to cook together", mirror="Thursday evening, cooking together, feeling close", **heard)
    step("Did I get it?", a, card="Thursday evening, cooking together", verdict="accurate")
    step("It makes sense", b, card="Yes, that's it",
         makes_sense="It makes sense that you feel lonely, because I was never home",
         imagine="I imagine you feel far from me")
    step("Answer", b, answer="alternative", alternative="Wednesday works better; I can keep it free")
    check_page(a, "room-needs-alternative")
    step("The alternative", a, card="Wednesday works better; I can keep it free", response="accept")
    # The follow-up date: either of them enters it, for both, and the page says so.
    at_step(b, "Follow-up")
    expect(a.locator("#turn")).to_have_text("Your turn: either of you answers, for you both. The first answer is kept.")
    step("Follow-up", b, follow_up_date=in_days(7))
    # Another round commits both: each chooses, and Kim's "finish" is enough to end here.
    at_step(a, "Swap?")
    expect(a.locator("#turn")).to_have_text("Your turn (you both answer this one).")
    expect(a.locator("#prompt")).to_contain_text("you swap only if you both want to")
    step("Swap?", a, choice="finish")
    expect(a.locator("#prompt")).to_contain_text("Waiting for your partner's choice")
    answer(b, choice="swap")
    at_step(a, "Check-out")
    shots(a)
    answer(a, suds=2, feeling="hopeful")
    answer(b, suds=2)
    expect(a.locator("#exercise-close li")).to_have_text(["Your distress: 5 before, 2 after (down 3).",
                                                         "Lou's distress: 3 before, 2 after (down 1)."])
    expect(b.locator("#exercise-close")).to_contain_text("You finished Needs request together")
    for p in (a, b, t):
        at_step(p, "Choose an exercise")
        timeline(p).to_contain_text("Wednesday works better; I can keep it free")
    timeline(t).to_contain_text("Agreed")
    a.get_by_role("button", name="End session").click()
    a.get_by_role("button", name="Yes, end the session").click()
    at_step(b, "The session has ended")

    lee.page.goto("/therapist")
    lee.page.get_by_role("link", name="Progress across sessions").nth(2).click()
    expect(lee.page.get_by_role("heading", name="Kim and Lou: progress")).to_be_visible()
    check_page(lee.page, "therapist-couple-progress")
    assert steps[:4] == ["What happened", "How I felt", "What I need", "My request"]
