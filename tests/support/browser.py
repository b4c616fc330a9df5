"""Debian's Chromium driven by Playwright, for the suites that use a real browser (tests/browser,
and the canary run in tests/security): where Chromium is, how it starts, and the moves through
the app's pages both make. Import it only once Playwright is known to be there (importorskip)."""
import os

from playwright.sync_api import expect

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
FORM = "#step-form"


def log_in(page, email, password):
    """Through the login page, ending on the dashboard."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard")


def connected(page):
    expect(page.locator("#connection-text")).to_have_text("Connected")


def enter_room(page):
    """From the practice page: start the couple's session, or rejoin it."""
    page.goto("/practice")
    start = page.get_by_role("button", name="Start a session")
    if start.count():
        start.click()
    else:
        page.get_by_role("link", name="Rejoin the session").click()
    page.wait_for_url("**/practice/*")
    connected(page)
    return page


def answer(page, form=FORM, **fields):
    """Fill the step's generic form by field name and send it."""
    scope = page.locator(form)
    expect(scope).to_be_visible()
    for name, value in fields.items():
        radios = scope.locator(f'input[type="radio"][name="{name}"]')
        if radios.count():
            wanted = ("true" if value else "false") if isinstance(value, bool) else str(value)
            option = scope.locator(f'input[type="radio"][name="{name}"][value="{wanted}"]')
            if option.count():
                option.check()
                continue
            scope.locator(f'[data-own="{name}"]').fill(str(value))  # a feeling in one's own word
            continue
        scope.locator(f'[name="{name}"]').fill(str(value))
    scope.locator('button[type="submit"]').click()
