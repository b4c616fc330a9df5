"""Two partners do the greeting ritual while their therapist observes; one reloads halfway."""
import re

from playwright.sync_api import expect

from browser_kit import (ARTIFACTS, StepShots, answer, at_step, check_page, connected, enter_room, entries,
                         forged_action, observe, read_only, session_id, timeline)

CANARY = "canary-greeting-5521"


def test_greeting_ritual_with_a_reload_and_an_observer(people):
    alex, sam, lee = people(0)

    alex.page.goto("/practice")
    check_page(alex.page, "practice-home")
    a = enter_room(alex)
    at_step(a, "A private question first")
    check_page(a, "room-safety-question")
    b = enter_room(sam)
    lee.page.goto("/therapist")
    check_page(lee.page, "therapist-home")
    t = observe(lee, ("Alex", "Sam"))
    expect(a.locator("#presence")).to_contain_text("Your therapist is observing")
    expect(a.locator("#presence")).to_contain_text("Sam is here")
    read_only(t)

    forged = forged_action(t, session_id(t))
    assert forged["joined"] is True
    assert forged["ack"]["ok"] is False and forged["ack"]["error"]["code"] == "observer_read_only"

    answer(a, safe=True)
    expect(a.locator("#prompt")).to_contain_text("We will begin when you are both ready")
    answer(b, safe=True)
    for page in (a, b, t):
        at_step(page, "Choose an exercise")
    timeline(a).to_contain_text("You both answered the private question.")
    timeline(t).to_contain_text("Both partners answered the private question.")  # the therapist is not "you both"
    timeline(t).not_to_contain_text("You both")
    check_page(a, "room-choose-exercise")
    # The chooser says how long each exercise takes, and when not to use it.
    greeting = a.locator(".exercise-choices li", has=a.get_by_role("heading", name="Greeting ritual"))
    expect(greeting.locator(".exercise-about")).to_have_text(
        "About 10 minutes. Not when: Right after a hurtful argument: take a time-out first, then come back to it.")
    shots = StepShots("greeting")
    a.get_by_label("A morning greeting").check()
    a.get_by_role("button", name="Start: Greeting ritual").click()

    for page in (a, b, t):
        at_step(page, "Check-in")
    expect(a.locator("#turn")).to_have_text("Your turn (you both answer this one).")
    expect(a.locator("#step-count")).to_have_text("Step 1 of 18")
    expect(t.locator("#step-count")).to_have_text("Step 1 of 18")
    check_page(a, "room-check-in")
    shots(a)
    read_only(t)
    answer(a, connected=6)  # the distress rating is optional at the greeting's check-in
    expect(a.locator("#turn")).to_have_text("Sam's turn.")
    answer(b, suds=4, connected=5, feeling="hopeful")

    at_step(a, "Who goes first")
    for page in (a, b):  # one answer settles it for both, and each is told so
        expect(page.locator("#turn")).to_have_text("Your turn: either of you answers, for you both. The first answer is kept.")
    expect(t.locator("#turn")).to_have_text("Either Alex or Sam answers, for both.")
    shots(a)
    answer(a, first="me")

    at_step(a, "Greeting")
    expect(a.locator("#prompt")).to_contain_text("Good morning")  # the moment they chose
    expect(b.locator("#turn")).to_have_text("Alex's turn.")
    at_step(t, "Greeting")
    read_only(t)
    shots(a)
    answer(a, greeting=f"Good to see you, love ({CANARY})")
    at_step(b, "Greeting back")
    # Sam answers Alex's greeting with Alex's words on a card above the prompt; the log is folded.
    expect(b.locator("#partner-words")).to_contain_text("Alex wrote")
    expect(b.locator("#log")).not_to_have_attribute("open", "")
    expect(b.locator("#timeline")).to_be_hidden()
    expect(t.locator("#timeline")).to_be_visible()  # the observer's log stays open
    shots(b, card="Good to see you, love")
    expect(b.locator("#announcer")).to_contain_text("Your turn: Greeting back.")
    expect(b.locator("#announcer")).to_have_attribute("aria-live", "polite")
    expect(t.locator("#timeline")).to_contain_text(CANARY)
    answer(b, greeting="Hello you, I missed you")

    at_step(a, "Your day")
    shots(a)
    answer(a, day="The meeting went better than I feared")
    at_step(b, "Turning toward")  # Sam turns toward Alex's day before sharing his own
    check_page(b, "room-turning-toward")
    shots(b, card="The meeting went better than I feared")
    answer(b, way="ask", words="Which part did you fear most?")
    at_step(a, "Your answer")
    shots(a, card="Which part did you fear most?")
    answer(a, reply="The budget questions")
    at_step(b, "Your day")
    check_page(b, "room-your-turn-text")

    # Sam reloads mid-exercise: the page rejoins, rebuilds the timeline and carries on.
    b.reload()
    connected(b)
    at_step(b, "Your day")
    timeline(b).to_contain_text("The meeting went better than I feared")
    timeline(b).to_contain_text(CANARY)
    shots(b, card="The budget questions")  # after the reload, the card is rebuilt from the log
    answer(b, day="I finally fixed the bike")
    at_step(a, "Turning toward")
    shots(a, card="I finally fixed the bike")
    answer(a, way="reflect", words="Fixed at last: you must be pleased")

    at_step(a, "Appreciation")
    at_step(t, "Appreciation")
    shots(a)
    answer(a, appreciation="You made coffee for me this morning")
    at_step(b, "Receiving it")  # each appreciation is received with a thanks
    shots(b, card="You made coffee for me this morning")
    answer(b, thanks="Thank you, I like our mornings")
    at_step(b, "Appreciation")
    expect(b.locator("#turn")).to_have_text("Your turn.")
    shots(b)

    # Sam's connection drops: the page says so, keeps the answer, and sends it on reconnecting.
    sam.context.set_offline(True)
    expect(b.locator("#connection")).to_have_class(re.compile(r"conn-(offline|reconnecting)"))
    answer(b, appreciation="You listened to me about my sister")
    expect(b.locator("#form-status")).to_contain_text("Not connected right now")
    check_page(b, "room-offline")
    sam.context.set_offline(False)
    connected(b)
    timeline(a).to_contain_text("You listened to me about my sister")
    at_step(a, "Receiving it")
    shots(a, card="You listened to me about my sister")
    answer(a, thanks="Thank you, that means a lot")

    # Alex writes their ritual down; Sam, who did not write it, agrees to keep it.
    at_step(a, "Our ritual")
    shots(b)
    answer(b, decision="save")  # either of them may answer for both
    expect(a.locator("#prompt")).to_contain_text("Either of you writes it down")
    check_page(a, "room-ritual")
    shots(a)
    answer(a, when="Mornings before work", what="Coffee together and one plan each",
           gesture="A six-second kiss")
    at_step(b, "Agree our ritual")
    expect(b.locator("#turn")).to_have_text("Your turn.")
    shots(b, card="Mornings before work")
    answer(b, agree="keep")
    timeline(t).to_contain_text("Alex wrote down a greeting ritual and Sam agreed to keep it.")

    at_step(t, "Check-out")
    shots(a)
    answer(a, suds=1, connected=8)
    answer(b, suds=2, connected=8)
    for page in (a, b, t):
        at_step(page, "Choose an exercise")
        timeline(page).to_contain_text("Exercise completed")
    # A warm close: what they did together, and how the ratings moved (Alex gave no distress
    # rating at the optional check-in, so only the connection's change is there for Alex).
    close = a.locator("#exercise-close")
    expect(close).to_contain_text("Well done, both of you")
    expect(close).to_contain_text(re.compile(r"You finished Greeting ritual together, in \d+ minutes?, with 1\d answers shared\."))
    expect(close.locator("li")).to_have_text(["Sam's distress: 4 before, 2 after (down 2).",
                                              "Your connection: 6 before, 8 after (up 2).",
                                              "Sam's connection: 5 before, 8 after (up 3)."])
    expect(t.locator("#exercise-close")).to_contain_text("Alex and Sam finished Greeting ritual together")
    shots(a, fits=False)  # the close, above the list of exercises
    expect(t.locator("#live-table")).to_contain_text("Connection")
    expect(t.locator("#live-table tbody tr")).to_have_count(7)
    check_page(t, "room-observer")

    # Nothing private is kept in browser storage.
    for person in (alex, sam):
        assert CANARY not in person.storage_contents()

    a.get_by_role("button", name="End session").click()
    a.get_by_role("button", name="Yes, end the session").click()
    for page in (a, b):
        at_step(page, "The session has ended")
    check_page(b, "room-ended")

    live = entries(a)
    a.get_by_role("link", name="Read the transcript").click()
    expect(a.get_by_role("heading", name="Greeting ritual")).to_be_visible()
    # The room's timeline and the transcript read the same, entry for entry (one vocabulary).
    assert entries(a) == live
    assert live[min(live, key=int)]["text"] == "You said it feels safe."
    assert any(e["text"] == "<bdi>Alex</bdi> ended the session." for e in live.values())
    expect(a.locator(".transcript")).to_contain_text("You made coffee for me this morning")
    expect(a.locator(".ratings-table tbody tr")).to_have_count(7)
    check_page(a, "transcript")
    a.emulate_media(media="print")
    expect(a.locator(".site-header")).to_be_hidden()
    expect(a.locator("#print-button")).to_be_hidden()
    a.screenshot(path=str(ARTIFACTS / "transcript-print.png"), full_page=True)
    a.pdf(path=str(ARTIFACTS / "transcript.pdf"))
    a.emulate_media(media="screen")
    a.goto("/progress")
    expect(a.locator("#session-chart")).to_be_visible()
    check_page(a, "progress")
    a.goto("/practice")
    expect(a.locator("#ritual")).to_contain_text("Mornings before work")
    expect(a.locator("#ritual")).to_contain_text("A six-second kiss")
    check_page(a, "practice-home-with-history")
