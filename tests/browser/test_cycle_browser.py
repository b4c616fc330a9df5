"""Our cycle on two phones: each map written privately first and shown to both only when both
share; the cycle named and agreed; then on the couple's practice page."""
from playwright.sync_api import expect

from browser_kit import (StepShots, answer, at_step, check_page, enter_room, observe, read_only,
                         timeline)

PHONE = {"width": 375, "height": 800}

UMA = {"do": "I follow you from room to room", "fear": "That you will leave one day"}


def test_our_cycle_private_first_then_side_by_side_then_named(people):
    uma, pia, lee = people(9)
    a, b = enter_room(uma), enter_room(pia)
    for page in (a, b):
        page.set_viewport_size(PHONE)
    t = observe(lee, ("Uma", "Pia"))
    answer(a, safe=True)
    answer(b, safe=True)
    at_step(b, "Choose an exercise")
    b.get_by_role("button", name="Start: Our cycle").click()
    at_step(a, "Check-in")
    shots = StepShots("cycle")
    shots(a)
    answer(a, suds=2)
    answer(b, suds=3)
    for page in (a, b, t):
        at_step(page, "My side of the cycle")
    check_page(a, "room-cycle-map-phone")
    shots(a)
    answer(a, do=UMA["do"], feel="scared", fear=UMA["fear"], need="reassurance")
    expect(a.locator("#prompt")).to_contain_text("Your map stays private")
    answer(b, do="I go quiet and leave the room", feel="overwhelmed", fear="Getting it wrong again",
           need="space")
    for page in (a, b):
        at_step(page, "Share when ready")
    shots(a)
    answer(a, reveal="share")  # Uma is ready; Pia not yet
    expect(a.locator("#prompt")).to_contain_text("Waiting until your partner is ready too")
    timeline(t).to_contain_text(UMA["fear"])  # the linked therapist sees a private answer
    for words in UMA.values():
        timeline(b).not_to_contain_text(words)
        assert words not in b.locator("#room").inner_text()
    check_page(b, "room-cycle-share-phone")
    answer(b, reveal="share")
    for page in (a, b, t):
        at_step(page, "Name our cycle")
        timeline(page).to_contain_text(f"side of the cycle. When we get stuck: {UMA['do']}.")
        timeline(page).to_contain_text("When we get stuck: I go quiet and leave the room.")
    expect(b.locator("#prompt")).to_contain_text(UMA["fear"])  # side by side, in the prompt too
    read_only(t)
    check_page(b, "room-cycle-side-by-side-phone")
    shots(b)
    answer(b, name="the storm", sign="Raised voices in the kitchen")
    at_step(a, "Agree our cycle")
    shots(a, card="the storm")
    answer(a, agree="keep")
    at_step(a, "Check-out")
    shots(a)
    answer(a, suds=1)
    answer(b, suds=2)
    for page in (a, b, t):
        at_step(page, "Choose an exercise")
        timeline(page).to_contain_text("named the cycle \u201cthe storm\u201d")

    home = uma.new_page()
    home.set_viewport_size(PHONE)
    home.goto("/practice")
    cycle = home.locator("#cycle")
    expect(cycle.get_by_role("heading", name="Your cycle")).to_be_visible()
    expect(cycle).to_contain_text("the storm")
    expect(cycle).to_contain_text("Raised voices in the kitchen")
    expect(cycle).to_contain_text("written by Pia, agreed by Uma")
    check_page(home, "practice-home-cycle-phone")

    # Back in the room, a pause names their cycle and its early sign (the page's config has it).
    a.reload()
    a.get_by_role("button", name="Pause").click()
    expect(a.locator("#cycle-note")).to_have_text("Your cycle: the storm. Early sign: Raised voices in the kitchen.")
    a.get_by_role("button", name="I'm ready to continue").click()
