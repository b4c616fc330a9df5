"""The browser suite: the real server (eventlet, a migrated SQLite file) driven by Debian's Chromium.

Each person is a browser context logged in through the login page. Every page a test opens is
watched for console errors, page errors and CSP violations; `check_page` runs axe-core on it and
saves screenshots at phone and desktop widths under tests/artifacts/.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, proc, timeout: float = 30) -> None:
    import urllib.request
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start in time")


class Server:
    def __init__(self, url, clock_file, people):
        self.url, self.clock_file, self.people = url, clock_file, people

    def shift_clock(self, seconds: float) -> None:
        """Move the server's practice clock (COUPLES_CLOCK_FILE) forward; the sweeper fires timers."""
        self.clock_file.write_text(str(seconds))


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (make chromium)")
    for asset in ("static/vendor/socket.io.esm.min.js", "static/vendor/chart.umd.min.js"):
        if not (ROOT / asset).exists():
            pytest.fail(f"{asset} is missing: run `make vendor`")
    tmp = tmp_path_factory.mktemp("browser")
    port = _free_port()
    clock = tmp / "clock"
    clock.write_text("0")
    env = {**os.environ, "SECRET_KEY": "browser-suite-" + os.urandom(8).hex(),
           "DATABASE_URL": f"sqlite:///{tmp / 'couples.db'}", "COUPLES_ENV": "test",
           "COUPLES_ASYNC_MODE": "eventlet", "COUPLES_ALLOWED_ORIGINS": f"http://127.0.0.1:{port}",
           "COUPLES_CLOCK_FILE": str(clock), "COUPLES_SWEEP_INTERVAL": "0.3",
           "COUPLES_LOGIN_RATE_LIMIT": "1000 per minute", "HOST": "127.0.0.1", "PORT": str(port),
           "FLASK_APP": "app"}
    env.pop("REDIS_URL", None)
    run = lambda *args: subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True, text=True)  # noqa: E731
    run(sys.executable, "-m", "flask", "--app", "app", "db", "upgrade")
    people = json.loads(run(sys.executable, str(ROOT / "tests" / "browser" / "seed.py"), "3").stdout)
    log = open(tmp / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(f"http://127.0.0.1:{port}/login", proc)
        yield Server(f"http://127.0.0.1:{port}", clock, people)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.copy(tmp / "server.log", ARTIFACTS / "server.log") if ARTIFACTS.exists() else None


@pytest.fixture(scope="session")
def browser():
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
        self.context.add_init_script(path=str(AXE))
        self.context.set_default_timeout(10_000)
        self.errors = []
        self.page = self.new_page()
        self.login(email, server.people["password"])

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

    def login(self, email, password):
        self.page.goto("/login")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_url("**/dashboard")

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
