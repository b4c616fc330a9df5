"""Times written in UTC by the server are shown in the reader's own time zone once local-time.js runs."""
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

ZONE = "Asia/Kolkata"  # UTC+5:30: no hour-only offset can pass by accident


def test_the_invitation_expiry_is_shown_in_the_readers_time_zone(browser, server):
    context = browser.new_context(base_url=server.url, timezone_id=ZONE, locale="en-GB")
    errors = []
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico")
            and errors.append(m.text))
    try:
        page.goto("/register")
        page.get_by_label("Your name").fill("Noor")
        page.get_by_label("Email").fill(f"noor-{uuid.uuid4().hex[:8]}@test.example")
        page.get_by_label("Password").fill(server.people["password"])
        page.get_by_role("button", name="Create account").click()
        page.get_by_label("Password").fill(server.people["password"])  # then log in, the email filled in
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("button", name="Create our couple").click()
        expect(page.get_by_role("heading", name="Invite your partner")).to_be_visible()
        page.wait_for_load_state("load")
        assert not errors, errors
        expiry = page.locator('time[data-local-time="datetime"]').first
        expect(expiry).not_to_contain_text("UTC", timeout=10_000)
        at = datetime.fromisoformat(expiry.get_attribute("datetime").replace("Z", "+00:00"))
        local = at.astimezone(ZoneInfo(ZONE))
        expect(expiry).to_contain_text(f"{local:%H:%M}")
        expect(expiry).to_contain_text(str(local.year))
        since = page.locator('time[data-local-time="date"]').first
        expect(since).to_have_text(page.evaluate(
            "iso => new Intl.DateTimeFormat(undefined, {day: 'numeric', month: 'short', year: 'numeric'})"
            ".format(new Date(iso))", since.get_attribute("datetime")))
    finally:
        context.close()
    assert not errors, errors
