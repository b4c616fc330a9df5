"""Debian's Chromium driven by Playwright, for the suites that use a real browser (tests/browser,
and the canary run in tests/security): what they need and whether it is there, where Chromium is,
how it starts, and the moves through the app's pages both make. Importable without Playwright, so
that `require_browser` can say it is missing."""
import os
import re
from pathlib import Path

from .services import service_unavailable

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VENDOR = ("static/vendor/socket.io.esm.min.js", "static/vendor/chart.umd.min.js")  # make vendor
AXE = "node_modules/axe-core/axe.min.js"  # npm ci
FORM = "#step-form"


def require_playwright() -> None:
    """Playwright is installed; else the shared rule: skip, or fail under REQUIRE_SERVICES=1."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as err:
        service_unavailable("Playwright", err)


def require_browser(*files: str) -> None:
    """Playwright, Chromium and `files` (paths under the repository root) are all there; else the
    shared rule (support.services): skip on a laptop, fail under REQUIRE_SERVICES=1, as in CI."""
    require_playwright()
    if not Path(CHROMIUM).is_file():
        service_unavailable("Chromium", FileNotFoundError(
            f"nothing at {CHROMIUM} (`make chromium`, or point CHROMIUM at it)"))
    missing = [f for f in files if not (ROOT / f).is_file()]
    if missing:
        service_unavailable(", ".join(missing), FileNotFoundError(
            "missing (`make vendor` copies static/vendor, `npm ci` installs node_modules)"))


def log_in(page, email, password):
    """Through the login page, ending on the dashboard."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard")


def connected(page):
    from playwright.sync_api import expect
    expect(page.locator("#connection-text")).to_have_text("Connected")


def enter_room(who):
    """From the practice page: start the couple's session, or rejoin it. `who` is a Playwright
    page, or a person holding one (`.page`, as tests/browser's Person); returns the page."""
    page = getattr(who, "page", who)
    page.goto("/practice")
    start = page.get_by_role("button", name="Start a session")
    if start.count():
        start.click()
    else:
        # "Join" for a partner who has not been in it yet, "Rejoin" for one who has.
        page.get_by_role("link", name=re.compile(r"^(Join|Rejoin) the session$")).click()
    page.wait_for_url("**/practice/*")
    connected(page)
    return page


def answer(page, form=FORM, **fields):
    """Fill the step's generic form by field name and send it."""
    from playwright.sync_api import expect
    scope = page.locator(form)
    expect(scope).to_be_visible()
    for name, value in fields.items():
        radios = scope.locator(f'input[type="radio"][name="{name}"]')
        if radios.count():
            wanted = ("true" if value else "false") if isinstance(value, bool) else str(value)
            option = scope.locator(f'input[type="radio"][name="{name}"][value="{wanted}"]')
            if option.count():
                if not option.is_visible():  # a word behind "Other words"
                    scope.locator(f'[data-field="{name}"] .more-words > summary').click()
                option.check()
                continue
            own = scope.locator(f'[data-own="{name}"]')  # a feeling in one's own word
            if not own.is_visible():  # behind "Other words"
                scope.locator(f'[data-field="{name}"] .more-words > summary').click()
            own.fill(str(value))
            continue
        scope.locator(f'[name="{name}"]').fill(str(value))
    scope.locator('button[type="submit"]').click()
