"""The time-out as a flooded partner on a phone meets it: one press from any step, the break's
return time in words, breathing together in step, a partner who does not come back."""
import re

from playwright.sync_api import expect

from browser_kit import StepShots, answer, at_step, check_page, enter_room, observe, read_only, timeline

PHONE = {"width": 375, "height": 800}
BACK_AT = re.compile(r"Ria is taking a break to calm down and will be back at "
                     r"\d{1,2}:\d\d( [AP]M)?( tomorrow)?\. This is a pause, not leaving\.")

# Counts the page's tones and keeps its last vibration, through the browser's own APIs.
WATCH_ALERTS = """() => {
  window.__tones = 0;
  const make = AudioContext.prototype.createOscillator;
  AudioContext.prototype.createOscillator = function () { window.__tones += 1; return make.call(this); };
  navigator.vibrate = (pattern) => { window.__buzz = pattern; return true; };
}"""
# Whether leaving the page now would ask first (the room's beforeunload handler).
ASKS_BEFORE_LEAVING = """() => {
  const e = new Event('beforeunload', {cancelable: true});
  window.dispatchEvent(e);
  return e.defaultPrevented;
}"""

# Records, in the page, the wall-clock time of every change of the breathing phase.
WATCH_PHASES = """() => {
  window.__phases = [];
  const box = document.getElementById('breathing');
  new MutationObserver(() => {
    const now = box.dataset.phase || '';
    const last = window.__phases[window.__phases.length - 1];
    if (!last || last[0] !== now) window.__phases.push([now, Date.now()]);
  })
    .observe(box, {attributes: true, attributeFilter: ['data-phase']});
}"""


def one_press_away(page):
    """The time-out button is on screen, without scrolling, on a phone."""
    button = page.get_by_role("button", name="Time-out", exact=True)
    expect(button).to_be_visible()
    expect(button).to_be_in_viewport()


def test_a_flooded_partner_on_a_phone_takes_a_time_out_in_one_press(people, server):
    jo, ria, lee = people(1)
    a, b = enter_room(jo), enter_room(ria)
    b.set_viewport_size(PHONE)
    t = observe(lee, ("Jo", "Ria"))
    answer(a, safe=True)
    answer(b, safe=True)
    at_step(b, "Choose an exercise")
    one_press_away(b)
    a.get_by_role("button", name="Start: Greeting ritual").click()
    at_step(b, "Check-in")
    one_press_away(b)
    answer(a, suds=5, connected=4)
    answer(b, suds=8, connected=2)
    # Only Ria is told, privately, that her rating was high; Jo and the therapist's page are not.
    at_step(b, "Who goes first")
    expect(b.locator("#suggest-timeout")).to_be_visible()
    assert a.locator("#suggest-timeout").count() == 0
    answer(a, first="me")
    at_step(b, "Greeting")
    expect(b.locator("#turn")).to_have_text("Jo's turn.")
    one_press_away(b)  # a waiting screen

    # One press, nothing asked: the break starts for both at once; Jo does nothing.
    b.get_by_role("button", name="Time-out", exact=True).click()
    for page in (a, b, t):
        at_step(page, "Break")
        expect(page.locator("#countdown-time")).to_have_text(re.compile(r"^(20:00|19:\d\d)$"))
    expect(a.locator("#prompt")).to_have_text(BACK_AT)
    expect(b.locator("#prompt")).to_contain_text("Your break has started")
    expect(b.locator("#suggestions")).to_contain_text("Go somewhere separate")
    expect(b.locator("#suggestions")).to_contain_text("Try not to rehearse the argument")
    expect(b.locator("#suggestions")).to_contain_text("Breathe slowly")
    for page in (a, b):  # a time-out is already running: no second one to call
        expect(page.get_by_role("button", name="Time-out", exact=True)).to_be_hidden()
    read_only(t)
    check_page(b, "room-timeout-break-phone")
    check_page(a, "room-timeout-break-partner")
    shots = StepShots("timeout")
    shots(b)
    expect(b.locator("#countdown-label")).to_have_text("Time left in the break")
    expect(b.locator("#step-count")).to_have_text("Step 1 of 11")
    # Notes during the break (folded away: nothing is asked): one, then another, no reload.
    b.get_by_text("Note how you feel, or ask for longer (optional)").click()
    answer(b, activity="A walk round the block")
    expect(b.locator("#form-status")).to_have_text("Sent.")
    answer(b, activity="Cold water on my face")
    timeline(b).to_contain_text("Cold water on my face")
    expect(b.locator("#step-form [name=activity]")).to_have_value("")

    # During the break Ria pauses, names it privately, and they breathe together in step.
    b.get_by_role("button", name="Pause").click()
    at_step(a, "Paused")
    for page in (a, b):
        page.evaluate(WATCH_PHASES)
    answer(b, form="#pause-check-form", feeling="wobbly", rating=8, next="breathe")
    for page in (a, b, t):
        expect(page.locator("#breathing")).to_be_visible()
    a.wait_for_timeout(11_000)  # one full cycle and more: 4 s in, 6 s out
    seen = [page.evaluate("() => window.__phases") for page in (a, b)]
    changes = [[(p, at) for p, at in s if p] for s in seen]
    assert len(changes[0]) >= 3 and len(changes[1]) >= 3, changes
    for (pa, ta), (pb, tb) in zip(changes[0][1:], changes[1][1:]):  # the first is each start
        assert pa == pb and abs(ta - tb) <= 200, changes
    timeline(a).not_to_contain_text("wobbly")
    assert "wobbly" not in a.locator("#room").inner_text()
    timeline(t).to_contain_text("wobbly")
    b.get_by_role("button", name="I'm ready to continue").click()
    a.get_by_role("button", name="I'm ready to continue").click()
    at_step(b, "Break")

    # At the return time the break's end is announced: the title, a soft tone, a vibration.
    for page in (a, b):
        page.evaluate(WATCH_ALERTS)
    server.set_clock(20 * 60 + 2)
    for page in (a, b):
        at_step(page, "Coming back")
        expect(page).to_have_title(re.compile(r"^The break is over · "))
        assert page.evaluate("window.__tones") >= 2 and page.evaluate("window.__buzz") == [300, 150, 300]
    expect(a.locator("#countdown-label")).to_have_text("Time left for this step")  # a timed step, not a break
    shots(b)
    b.keyboard.press("Shift")  # back at the page: the title is the page's own again
    expect(b).not_to_have_title(re.compile("The break is over"))
    answer(a, ready=True)
    server.set_clock(35 * 60 + 4)
    at_step(a, "Waiting to come back")
    expect(a.locator("#prompt")).to_contain_text("has not come back yet")
    timeline(t).to_contain_text("Ria had not come back 15 minutes after the agreed time.")
    check_page(a, "room-timeout-not-back")
    shots(a)
    answer(a, choice="wait")
    at_step(b, "Coming back")
    answer(b, ready=True, arousal=3)
    at_step(a, "Choose the next step")
    shots(a)
    answer(a, choice="resume")
    answer(b, choice="resume")
    at_step(b, "My part")
    shots(b)

    # A new step takes the focus on its title, one Tab from the first field; "Skip to this step"
    # brings a keyboard there from the top of the room.
    expect(b.locator("#step-title")).to_be_focused()
    b.keyboard.press("Tab")
    expect(b.locator("#step-form [name=part]")).to_be_focused()
    b.locator(".room-skip").focus()
    b.keyboard.press("Enter")
    expect(b.locator("#step-title")).to_be_focused()
    # Words typed and not sent: leaving asks first (nothing is kept in the browser's storage).
    assert b.evaluate(ASKS_BEFORE_LEAVING) is False
    b.locator("#step-form [name=part]").fill("I raised my voice first")
    assert b.evaluate(ASKS_BEFORE_LEAVING) is True
    assert "I raised my voice first" not in ria.storage_contents()
    b.locator("#step-form [name=part]").fill("")
    # Ending asks first, and the safe choice has the focus.
    b.get_by_role("button", name="End session").click()
    expect(b.get_by_role("button", name="Keep going")).to_be_focused()
    b.keyboard.press("Enter")
    expect(b.locator("#end-confirm")).to_be_hidden()
    expect(b.get_by_role("button", name="End session")).to_be_focused()
    # The talk after a time-out, each step pictured and fitting a phone.
    answer(b, part="I raised my voice first", differently="I will ask for a pause sooner")
    at_step(a, "My part")
    shots(a)
    answer(a, part="I kept pushing", differently="I will stop when you ask")
    at_step(b, "Gentle restart")
    shots(b)
    answer(b, feel="hurt", about="the weekend plans", need="a slower start")
    at_step(a, "I hear you")
    shots(a, card="the weekend plans")  # the words to acknowledge, above the prompt
    answer(a, acknowledgement="You felt hurt about the weekend plans and need us to go slower")
    at_step(b, "Check-out")
    shots(b)

    # The therapist sees what asks for attention, and clears it; Ria's partner never sees it.
    desk = lee.new_page()
    desk.goto("/therapist")
    desk.get_by_role("link", name=re.compile(r"unread safety signals? from Jo and Ria")).click()
    signals = desk.locator("#signals")
    expect(signals).to_contain_text("Ria did not come back from a time-out")
    expect(signals).to_contain_text("Ria rated their distress 8 of 10")
    check_page(desk, "therapist-safety-signals")
    before = signals.get_by_role("button", name=re.compile("^Mark as read")).count()
    signals.locator("li", has_text="did not come back").get_by_role(
        "button", name=re.compile("^Mark as read")).click()
    expect(signals.get_by_role("button", name=re.compile("^Mark as read"))).to_have_count(before - 1)
    expect(signals.locator(".signal-list").first).not_to_contain_text("did not come back")
    jo.page.goto("/practice")
    assert "did not come back" not in jo.page.content()
    server.set_clock(0)
