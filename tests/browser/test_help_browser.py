"""Issue 23 in the browser: under the private question the room names the therapist who sees the
answer; after a "no", the "not today" screen shows the emergency sentence and the crisis services;
the Help link leads to the same list. A couple of its own, so no seeded couple's session is used."""
from playwright.sync_api import expect

from browser_kit import ROOT, answer, at_step, check_page, enter_room
from support.browser import AXE, log_in
from support.people import Api, pair_over_api, sign_up

EMERGENCY = "If you are in danger now, call your local emergency number."


def test_the_not_today_screen_and_the_help_page(browser, server):
    password = server.people["password"]
    ida, jon, theo = (sign_up(server.url, name, password=password) for name in ("ida", "jon", "theo"))
    pair_over_api(Api(server.url, ida.token), Api(server.url, jon.token), therapist_email=theo.email)
    errors, contexts = [], []

    def person(who):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=server.url)
        context.add_init_script(path=str(ROOT / AXE))
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        page.on("console", lambda m: m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico")
                and errors.append(f"console: {m.text}"))
        log_in(page, who.email, password)
        return page

    try:
        a, b = enter_room(person(ida)), enter_room(person(jon))
        at_step(a, "A private question first")
        expect(a.locator("#prompt")).to_contain_text("If your couple has a linked therapist, they see it")
        expect(a.locator("#safety-audience")).to_be_visible()
        expect(a.locator("#safety-audience")).to_have_text("Your therapist, Theo, will see your answer.")
        expect(a.locator("#crisis-help")).to_be_hidden()

        answer(a, safe=False)
        at_step(a, "Not today")
        expect(a.locator("#safety-audience")).to_be_hidden()
        help_box = a.locator("#crisis-help")
        expect(help_box).to_be_visible()
        expect(help_box.locator(".emergency")).to_have_text(EMERGENCY)
        expect(help_box.get_by_role("link", name="Call 116 123")).to_have_attribute("href", "tel:116123")
        check_page(a, "room-not-today")

        expect(b.locator("#safety-audience")).to_be_visible()  # still asked: nothing tells who said no
        answer(b, safe=True)
        at_step(b, "Not today")
        expect(b.locator("#crisis-help")).to_be_visible()

        b.get_by_role("navigation", name="Main").get_by_role("link", name="Help").click()
        b.wait_for_url("**/help")
        expect(b.get_by_role("heading", level=1)).to_have_text("Help")
        expect(b.locator("main .emergency")).to_have_text(EMERGENCY)
        expect(b.get_by_role("heading", name="Australia")).to_be_visible()
        check_page(b, "help")
    finally:
        for context in contexts:
            context.close()
    assert not errors, errors
