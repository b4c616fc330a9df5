"""The browser suite: the real server (eventlet, a migrated SQLite file) driven by Debian's Chromium.

Each person is a browser context logged in through the login page. Every page a test opens is
watched for console errors, page errors and CSP violations; `check_page` runs axe-core on it and
saves screenshots at phone and desktop widths under tests/artifacts/.
"""
import shutil

import pytest

from support.browser import AXE, CHROMIUM, CHROMIUM_ARGS, VENDOR, log_in, require_browser, require_playwright

require_playwright()  # here, before the test modules import it: skips (or fails) the whole suite

from browser_kit import ARTIFACTS, ROOT  # noqa: E402 - needs Playwright
from playwright import sync_api  # noqa: E402
from support.people import make_account, pair_and_link  # noqa: E402
from support.server import EASY_LOGIN, database, serve  # noqa: E402

PASSWORD = "browser-test-password-1"
# One name each, never twice: the therapist's page finds a couple's room by its names.
NAMES_A = ["Alex", "Jo", "Kim", "Max", "Ana", "Eli", "Zoe", "Ivy", "Tom", "Uma"]
NAMES_B = ["Sam", "Ria", "Lou", "Noor", "Ben", "Dan", "Leo", "Mia", "Raj", "Pia"]
COUPLES = len(NAMES_A)  # one per test that starts a session


def seed_people(app, count: int) -> dict:
    """`count` couples of two partners, each couple linked to the one therapist (Dr Robin Lee)
    through the pairing service; returns the emails and the password they share."""
    from couples.extensions import db
    out = {"password": PASSWORD, "couples": []}
    with app.app_context():
        therapist = make_account("therapist@test.example", "therapist", "Dr Robin Lee", PASSWORD)
        for i in range(count):
            a = make_account(f"a{i}@test.example", "partner", NAMES_A[i % len(NAMES_A)], PASSWORD)
            b = make_account(f"b{i}@test.example", "partner", NAMES_B[i % len(NAMES_B)], PASSWORD)
            pair_and_link(a, b, therapist)
            db.session.commit()
            out["couples"].append({"a": a.email, "b": b.email, "names": [a.display_name, b.display_name]})
        out["therapist"] = therapist.email
        db.session.remove()
    return out


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The served app on a SQLite file with COUPLES seeded couples (`server.people`), one per
    test that starts a session: a session's state carries over between tests."""
    require_browser(*VENDOR, AXE)  # before a server starts for nothing
    tmp = tmp_path_factory.mktemp("browser")
    env = {"COUPLES_SWEEP_INTERVAL": "0.3", **EASY_LOGIN}
    with database(tmp, postgresql=False) as (url, app), \
            serve(tmp, url, app=app, people=lambda app: seed_people(app, COUPLES), env=env) as server:
        yield server
    if ARTIFACTS.exists():
        shutil.copy(server.log_path, ARTIFACTS / "server.log")


@pytest.fixture(scope="session")
def browser():
    require_browser(*VENDOR, AXE)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class Person:
    """One logged-in browser context, with every page's console errors collected."""

    def __init__(self, browser, server, email, label):
        self.server, self.label = server, label
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=server.url)
        # Injected through the DevTools protocol, so the page's strict CSP is untouched.
        self.context.add_init_script(path=str(ROOT / AXE))
        self.context.set_default_timeout(10_000)
        self.errors = []
        self.page = self.new_page()
        log_in(self.page, email, server.people["password"])

    def new_page(self):
        page = self.context.new_page()
        page.on("console", lambda m: self._console(m, page))
        page.on("pageerror", lambda e: self.errors.append(f"{self.label} pageerror: {e}"))
        page.on("response", lambda r: r.status >= 400 and self.errors.append(
            f"{self.label} HTTP {r.status}: {r.url}"))
        return page

    def _console(self, message, page):
        where = message.location.get("url") or ""
        # base.html (not ours) links no icon, so the browser's own /favicon.ico probe 404s; and
        # while a test holds the context offline, the browser reports each failed reconnect.
        if message.type != "error" or where.endswith("/favicon.ico") \
                or "net::ERR_INTERNET_DISCONNECTED" in message.text:
            return
        self.errors.append(f"{self.label} console: {message.text} at {where} (page {page.url})")

    def storage_contents(self) -> str:
        """Everything the browser keeps for this site (for the no-private-text-in-storage check)."""
        return self.page.evaluate("""() => JSON.stringify([Object.entries(localStorage),
                                                           Object.entries(sessionStorage)])""")


@pytest.fixture
def people(browser, server):
    """people(i) -> (partner a, partner b, therapist) of seeded couple i, each logged in."""
    made = []

    def make(i):
        couple = server.people["couples"][i]
        trio = (Person(browser, server, couple["a"], "a"), Person(browser, server, couple["b"], "b"),
                Person(browser, server, server.people["therapist"], "therapist"))
        made.extend(trio)
        return trio

    yield make
    errors = [e for p in made for e in p.errors]
    for p in made:
        p.context.close()
    assert not errors, "console errors:\n" + "\n".join(errors)
