"""Helpers the browser tests share: page checks and moving through the live room."""
import datetime as dt
import json
from pathlib import Path

from playwright.sync_api import expect

from support.browser import answer, connected, enter_room  # noqa: F401 - the tests import them from here

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
WIDTHS = {"phone": (375, 800), "desktop": (1280, 900)}
SCHEMES = ("light", "dark")
AXE_SERIOUS = """async () => {
    const r = await axe.run(document, {resultTypes: ['violations']});
    return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
      .map(v => ({id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""
# A colour-scheme or size change has been laid out and painted (the charts repaint on both) and
# its fades and fade-ins (CSS transitions and finite animations) have ended: no fixed sleep. Only
# those of what is rendered: one inside a closed <details> (content-visibility: hidden) is never
# run, so it would never end; and never longer than FADE_MS, so a fade that is never painted
# cannot hang a test (axe would then see it mid-way and say so).
FADE_MS = 3000
PAINTED = """async () => {
    await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
    const fading = document.getAnimations().filter((a) =>
        a.effect && a.effect.getComputedTiming().iterations !== Infinity
        && (!a.effect.target || a.effect.target.checkVisibility()));
    await Promise.race([Promise.all(fading.map((a) => a.finished.catch(() => null))),
                        new Promise((done) => setTimeout(done, %d))]);
}""" % FADE_MS


def check_page(page, name: str) -> None:
    """axe-core finds no serious or critical violation, in the light and the dark colour scheme;
    screenshots of both at phone and desktop widths (light: the full page; dark: the screen)."""
    page.wait_for_load_state("load")
    size = page.viewport_size
    # The settled page, as the screenshots show it: a fade-in caught mid-way fails contrast.
    page.emulate_media(reduced_motion="reduce")
    try:
        for scheme in SCHEMES:
            page.emulate_media(color_scheme=scheme)
            page.evaluate(PAINTED)
            result = page.evaluate(AXE_SERIOUS)
            assert result == [], f"{name} ({scheme}): accessibility violations: {json.dumps(result, indent=1)}"
            for label, (w, h) in WIDTHS.items():
                page.set_viewport_size({"width": w, "height": h})
                page.evaluate(PAINTED)
                suffix = "" if scheme == "light" else "-dark"
                page.screenshot(path=str(ARTIFACTS / f"{name}-{label}-{w}{suffix}.png"), full_page=scheme == "light")
    finally:
        page.emulate_media(color_scheme="light")
        page.set_viewport_size(size)


def observe(therapist, names):
    page = therapist.page
    page.goto("/therapist")
    page.get_by_role("link", name=f"Observe live ({names[0]} and {names[1]})").click()
    page.wait_for_url("**/practice/*")
    connected(page)
    return page


def at_step(page, title):
    expect(page.locator("#step-title")).to_have_text(title)


def read_only(page):
    """An observer's room has no controls to act with."""
    expect(page.locator("#action-area")).to_be_empty()
    assert page.locator("#pause-button").count() == 0
    assert page.locator("#end-button").count() == 0
    assert page.locator("#stage input, #stage textarea, #stage button, #stage select").count() == 0


def forged_action(page, session_id, step=None):
    """Send an action over a fresh socket from the observer's own browser; return the ack."""
    return page.evaluate("""async ([sessionId, step]) => {
        const {io} = await import('/static/vendor/socket.io.esm.min.js');
        const s = io({forceNew: true, transports: ['websocket']});  // as the room page: WebSocket only
        await new Promise((ok, fail) => { s.on('connect', ok); s.on('connect_error', fail); });
        const joined = await s.emitWithAck('join', {session_id: sessionId, last_seq: 0});
        const ack = await s.emitWithAck('action', {session_id: sessionId, id: 'forged-' + Date.now(),
                                                  kind: 'submit', step, data: {}});
        s.disconnect();
        return {joined: joined.ok, ack};
    }""", [session_id, step])


def session_id(page):
    return page.url.rstrip("/").rsplit("/", 1)[-1]


def timeline(page):
    return expect(page.locator("#timeline"))


def in_days(n):
    return (dt.date.today() + dt.timedelta(days=n)).isoformat()


def entries(page) -> dict:
    """The timeline's entries (the live room's or the transcript page's) by seq, as the page shows
    them: the sentence (with its <bdi> elements) or who and the step, then answers and ratings."""
    return page.evaluate("""() => Object.fromEntries(Array.from(document.querySelectorAll("li[data-seq]"), (li) => {
        const head = li.querySelector(".entry-head");
        const who = head.querySelector("strong");
        return [li.dataset.seq, {
            who: who ? who.innerHTML : null,
            text: head.querySelector("span").innerHTML,
            answers: Array.from(li.querySelectorAll("dl.answers > *"), (n) => n.textContent),
            ratings: Array.from(li.querySelectorAll("ul.rating-badges > li"), (n) => n.textContent),
        }];
    }))""")


# --------------------------------------------------------------------------- each step, on a phone

STEPS = ARTIFACTS / "steps"
STEP_SIZES = {375: 800, 1280: 900}

# Where the stage sits once scrolled to its top (below the sticky bar, as a new step puts it), and
# where the partner's card and the prompt are: all in viewport pixels.
# First the page's own scroll must have ended: a new step scrolls the stage into view smoothly
# (app.css, room.js showStep), and an instant scrollTo does not stop a smooth scroll already under
# way in Chromium: it went on to its own end after the measure, so the screenshots came out up to
# 110 px further down (the stage's top under the sticky bar). So: wait until scrollY has stood
# still for a few frames (never past FADE_MS), scroll, let two frames pass, then measure.
STAGE_LAYOUT = """async () => {
  const frame = () => new Promise((done) => requestAnimationFrame(done));
  const start = performance.now();
  for (let still = 0, last = scrollY; still < 6 && performance.now() - start < %d;) {
    await frame();
    still = scrollY === last ? still + 1 : 0;
    last = scrollY;
  }
  const stage = document.getElementById('stage');
  const bar = document.getElementById('safety-bar');
  const barHeight = bar && !bar.hidden ? bar.offsetHeight : 0;
  // The stage's top just under the sticky bar, at once (app.css scrolls smoothly).
  window.scrollTo({top: scrollY + stage.getBoundingClientRect().top - barHeight, behavior: 'instant'});
  await frame();
  await frame();
  const barBottom = bar && !bar.hidden ? bar.getBoundingClientRect().bottom : 0;
  const box = (id) => {
    const node = document.getElementById(id);
    if (!node || node.hidden) return null;
    const r = node.getBoundingClientRect();
    return {top: Math.round(r.top), bottom: Math.round(r.bottom)};
  };
  const s = box('stage');
  return {stage: s, bar: Math.round(barBottom), height: innerHeight, card: box('partner-words'),
          prompt: box('prompt'), card_text: (document.getElementById('partner-words').textContent || ''),
          scroll: Math.round(scrollY),
          fits: s.top >= Math.round(barBottom) - 1 && s.bottom <= innerHeight + 1};
}""" % FADE_MS
# Where the stage is now, without scrolling: the screenshots were taken where it was measured.
STAGE_NOW = "() => [Math.round(scrollY), Math.round(document.getElementById('stage').getBoundingClientRect().top)]"


def step_screens(page, exercise: str, n: int, step: str) -> dict:
    """Viewport screenshots of this step at 375 and 1280 px, light and dark, saved as
    tests/artifacts/steps/<exercise>-<nn>-<step>-<width>-<scheme>.png; returns the stage's layout
    at each width (STAGE_LAYOUT), the one the screenshots show: taken again (at most three times)
    if the page moved in between. The page's own size and colour scheme are put back after."""
    STEPS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    layouts = {}
    # Reduced motion from the start, as in the screenshots: no fade half-way, and no smooth
    # scroll starting between the measure and the pictures.
    page.emulate_media(reduced_motion="reduce")
    for width, height in STEP_SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        for _ in range(3):
            layout = page.evaluate(STAGE_LAYOUT)
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme, reduced_motion="reduce")
                page.screenshot(path=str(STEPS / f"{exercise}-{n:02d}-{step}-{width}-{scheme}.png"))
            now = page.evaluate(STAGE_NOW)
            if now == [layout["scroll"], layout["stage"]["top"]]:
                break
        else:
            raise AssertionError(f"{exercise} step {n} ({step}) at {width} px: the page kept moving: "
                                 f"measured at {layout['scroll']}/{layout['stage']['top']}, then at {now}")
        layouts[width] = layout
    page.emulate_media(color_scheme="light", reduced_motion="no-preference")
    page.set_viewport_size(size)
    return layouts


def walk(shots, everyone, acting=None):
    """`step(title, page, card=None, **fields)`: everyone is at the step titled `title`; the
    acting page's screens are saved (`shots`, with `card`: the partner's words on a card above
    the prompt); then `page` answers it with `fields`."""
    def step(title, page, card=None, **fields):
        for p in everyone:
            at_step(p, title)
        shots(page, card=card)
        answer(page, **fields)
    return step


class StepShots:
    """Walks an exercise's steps as a test reaches them: `shots(page, card=words)` numbers the
    step, saves its screenshots (step_screens), checks the stage fits one phone screen below the
    sticky bar (unless `fits` is false: the exercise chooser, a list), and, with `card`, that the
    partner's words are on a card above the prompt, in view without scrolling, at both widths."""

    def __init__(self, exercise: str):
        self.exercise, self.n = exercise, 0

    def __call__(self, page, card: str | None = None, fits: bool = True) -> dict:
        self.n += 1
        title = page.locator("#step-title").inner_text()
        slug = "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split())
        layouts = step_screens(page, self.exercise, self.n, slug)
        phone = layouts[375]
        over = max(phone["bar"] - phone["stage"]["top"], phone["stage"]["bottom"] - phone["height"])
        assert phone["fits"] or not fits, \
            f"{self.exercise} step {self.n} ({title}) is {over} px taller than a phone screen: {phone}"
        for width, at in layouts.items():
            if card is None:
                continue
            where = f"{self.exercise} step {self.n} ({title}) at {width} px"
            assert at["card"], f"{where}: no card with the partner's words"
            assert card in at["card_text"], f"{where}: the card shows {at['card_text']!r}"
            assert at["card"]["bottom"] <= at["prompt"]["top"], f"{where}: the card is not above the prompt"
            assert at["bar"] - 1 <= at["card"]["top"] and at["card"]["bottom"] <= at["height"], \
                f"{where}: the card is not in view: {at}"
        return layouts
