"""Issue 24 outside the room, on a 375 px phone and a 1280 px screen: charts that a phone can read
(tall, a table twin, no marker hiding another, the design tokens' colours in both schemes), the
privacy links in the menu of every partner page, an invitation's code kept through registration
and sign-in, the register form's focus on its errors, and dates in the reader's own format."""
import uuid
from datetime import timedelta, timezone
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from browser_kit import ROOT, check_page
from support.browser import AXE
from support.people import form_couple, make_account

PHONE, DESKTOP = {"width": 375, "height": 800}, {"width": 1280, "height": 900}
LOCALE, ZONE = "en-US", "America/New_York"

# Both partners gave the same check-in and the same check-out: on one plain chart each "before 6"
# and "after 3" would sit exactly on the other partner's.
RATINGS = {("a", "suds_before"): {"suds": 6, "connected": 4}, ("b", "suds_before"): {"suds": 6, "connected": 4},
           ("a", "suds_after"): {"suds": 3, "connected": 7}, ("b", "suds_after"): {"suds": 3, "connected": 7}}


def seed_rated_session(server, minutes=1) -> dict:
    """A new couple (Mia and Noa) with one finished greeting: both check in, both check out;
    written straight into the served database. Their emails and the session's public id."""
    from couples.extensions import db
    from couples.models import PracticeSession, SessionEvent, utcnow
    tag = uuid.uuid4().hex[:8]
    with server.app.app_context():
        mia = make_account(f"mia-{tag}@test.example", "partner", "Mia", server.people["password"])
        noa = make_account(f"noa-{tag}@test.example", "partner", "Noa", server.people["password"])
        couple = form_couple(mia, noa)
        start = utcnow() - timedelta(days=1)
        session = PracticeSession(couple_id=couple.id, started_by_id=mia.id, created_at=start,
                                  ended_at=start + timedelta(minutes=minutes), state={"phase": "ended"})
        db.session.add(session)
        db.session.flush()
        events = [("exercise_started", "a", {"exercise": "greeting", "title": "Greeting", "by": "a", "options": {}})]
        for step_id, step in enumerate(("suds_before", "suds_after"), start=1):
            for seat in "ab":
                events.append(("step_submitted", seat, {"exercise": "greeting", "step": step, "step_id": step_id,
                                                        "round": 1, "by": seat, "data": RATINGS[seat, step]}))
        events.append(("exercise_completed", None, {"exercise": "greeting", "started_at": start.isoformat(),
                                                    "completed_at": start.isoformat(), "duration_seconds": 50,
                                                    "rounds": 1}))
        for seq, (kind, seat, data) in enumerate(events, start=1):
            db.session.add(SessionEvent(session_id=session.id, seq=seq, type=kind, seat=seat, audience=["a", "b", "therapist"],
                                        data=data, created_at=start + timedelta(seconds=seq)))
        session.last_seq = len(events)
        db.session.commit()
        out = {"mia": mia.email, "noa": noa.email, "session": session.public_id, "start": start}
        db.session.remove()
    return out


def person(browser, server, errors, **context):
    """A fresh browser context (no login), its page's errors collected into `errors`."""
    ctx = browser.new_context(base_url=server.url, **context)
    ctx.add_init_script(path=str(ROOT / AXE))  # through DevTools: the page's CSP is untouched
    ctx.set_default_timeout(10_000)
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: m.type == "error" and not (m.location.get("url") or "").endswith("/favicon.ico")
            and errors.append(f"console: {m.text}"))
    return ctx, page


def log_in(page, email, password):
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard")


CHART_POINTS = """async (canvas) => {
    const chart = Chart.getChart(canvas);
    await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));  // a scheme change's repaint
    while (Chart.animator.running(chart)) await new Promise((done) => requestAnimationFrame(done));
    const points = [];
    chart.data.datasets.forEach((ds, i) => chart.getDatasetMeta(i).data.forEach((p, j) => {
        if (ds.data[j] && ds.data[j].y !== null) points.push({x: p.x, y: p.y, r: p.options.radius});
    }));
    const colour = getComputedStyle(document.documentElement).getPropertyValue('--seat-a').trim();
    return {points, height: canvas.getBoundingClientRect().height, colour,
            first: chart.getDatasetMeta(0).data[0].options.backgroundColor, yLeft: chart.scales.y.left,
            yTitle: chart.options.scales.y.title.display, legend: chart.legend.legendItems.length};
}"""


def no_marker_hides_another(chart: dict) -> None:
    pts = chart["points"]
    assert pts, "no points drawn"
    for i, p in enumerate(pts):
        for q in pts[i + 1:]:
            apart = ((p["x"] - q["x"]) ** 2 + (p["y"] - q["y"]) ** 2) ** 0.5
            assert apart >= p["r"], f"a marker hides another: {p} and {q}"


def test_charts_on_a_phone_are_tall_with_their_tables_and_no_hidden_marker(browser, server):
    seeded = seed_rated_session(server)
    errors = []
    ctx, page = person(browser, server, errors, viewport=PHONE, locale=LOCALE, timezone_id=ZONE)
    try:
        log_in(page, seeded["mia"], server.people["password"])
        page.goto(f"/sessions/{seeded['session']}/transcript")
        canvas = page.locator("#session-chart")
        expect(canvas).to_be_visible()
        chart = page.evaluate(CHART_POINTS, canvas.element_handle())
        assert chart["height"] >= 300, chart["height"]  # about 80 px of plot before
        assert chart["yLeft"] >= 0 and chart["yTitle"] and chart["legend"] == 4
        assert len(chart["points"]) == 8
        no_marker_hides_another(chart)
        assert chart["first"] == chart["colour"] == "#23615b"  # the token, not a copy of it
        table = page.get_by_role("region", name="The ratings as a table")
        expect(table.locator("tbody tr")).to_have_count(8)
        box, twin = canvas.bounding_box(), table.bounding_box()
        assert twin["y"] >= box["y"] + box["height"] - 1, "on a phone the table is below the chart"
        # The session's day in the reader's format (en-US: "Dec 6, 2026"), not the server's UTC text.
        day = seeded["start"].replace(tzinfo=timezone.utc).astimezone(ZoneInfo(ZONE))
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Session of {day:%b} {day.day}, {day.year}")

        page.emulate_media(color_scheme="dark")
        dark = page.evaluate(CHART_POINTS, canvas.element_handle())
        assert dark["first"] == dark["colour"] == "#86cbc0"
        page.emulate_media(color_scheme="light")
        check_page(page, "transcript-chart")

        page.set_viewport_size(DESKTOP)
        page.goto("/progress")
        for name in ("distress", "connection"):
            weekly = page.evaluate(CHART_POINTS, page.locator(f"#{name}-chart").element_handle())
            assert len(weekly["points"]) == 4  # both partners, before and after, all the same week
            no_marker_hides_another(weekly)
            twin = page.get_by_role("region", name=f"The {name} averages per week and partner")
            expect(twin.locator("tbody tr")).to_have_count(1)
            box, beside = page.locator(f"#{name}-chart").bounding_box(), twin.bounding_box()
            assert beside["x"] >= box["x"] + box["width"] - 1, "on a wide screen the table is beside the chart"
            week = twin.locator("time").first
            expect(week).to_have_text(page.evaluate(
                "iso => new Intl.DateTimeFormat(undefined, {day: 'numeric', month: 'short', year: 'numeric', "
                "timeZone: 'UTC'}).format(new Date(iso))", week.get_attribute("datetime")))
            expect(week).not_to_have_text(week.get_attribute("datetime"))
        chosen = page.get_by_role("region", name="The chosen session's ratings as a table")
        expect(chosen.locator("tbody tr")).to_have_count(8)
        no_marker_hides_another(page.evaluate(CHART_POINTS, page.locator("#session-chart").element_handle()))
        check_page(page, "progress-charts")
    finally:
        ctx.close()
    assert not errors, errors


def test_the_menu_of_every_partner_page_links_export_delete_and_who_viewed(browser, server):
    seeded = seed_rated_session(server)
    errors = []
    ctx, page = person(browser, server, errors, viewport=PHONE)
    links = {"Who viewed my data": "/privacy#who-viewed", "Export my data": "/privacy/export",
             "Delete my account": "/privacy/delete"}
    try:
        log_in(page, seeded["noa"], server.people["password"])
        pages = ["/dashboard", "/practice", "/progress", f"/sessions/{seeded['session']}/transcript",
                 "/privacy", "/privacy/delete", "/help"]
        for size in (PHONE, DESKTOP):
            page.set_viewport_size(size)
            for path in pages:
                page.goto(path)
                nav = page.get_by_role("navigation", name="Main")
                toggle = nav.get_by_text("Menu", exact=True)
                if size is PHONE:  # folded away behind "Menu", which opens it
                    expect(nav.get_by_role("link", name="Export my data")).to_be_hidden()
                    toggle.click()
                else:
                    expect(toggle).to_be_hidden()
                for name, href in links.items():
                    link = nav.get_by_role("link", name=name)
                    expect(link).to_be_visible()
                    expect(link).to_have_attribute("href", href)
                expect(nav.get_by_role("button", name="Log out")).to_be_visible()
                if path == "/practice":  # finding 10: one minute is not "1 minutes"
                    expect(page.locator(".session-list")).to_contain_text("(1 minute)")
            if size is PHONE:
                check_page(page, "menu-open")  # the last page, its menu open
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Who viewed my data").click()
        expect(page.get_by_role("heading", name="Who viewed your sessions")).to_be_in_viewport()
    finally:
        ctx.close()
    assert not errors, errors


def register(page, name, email, password):
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create account").click()


def new_invitation(server, tag):
    """Ada, with a couple of her own and an invitation, made straight in the served database:
    the invitation's link and code."""
    from couples.extensions import db
    from couples.pairing import service as pairing
    with server.app.app_context():
        ada = make_account(f"ada-{tag}@test.example", "partner", "Ada", server.people["password"])
        pairing.create_couple(ada)
        code = pairing.new_invitation(ada).code
        db.session.commit()
        db.session.remove()
    return f"/join/{code}", code


def test_an_invitation_code_is_kept_through_registration_and_through_sign_in(browser, server):
    password, errors = server.people["password"], []
    tag = uuid.uuid4().hex[:8]

    # Someone new, on a phone: the link, then registering (a first try with errors), then logging in.
    link, code = new_invitation(server, tag + "1")
    ctx, page = person(browser, server, errors, viewport=PHONE)
    try:
        page.goto(link)
        page.wait_for_url("**/login?next=*")
        expect(page.locator("#invited-note")).to_contain_text("Your partner invited you")
        page.get_by_role("main").get_by_role("link", name="Create an account").click()
        page.wait_for_url(f"**/register?next=/join/{code}")
        expect(page.locator("#invited-note")).to_be_visible()
        register(page, "Bo", "not-an-email", "short")
        summary = page.locator(".error-summary")
        expect(summary).to_be_focused()  # finding 10: the errors are read out first
        errors[:] = [e for e in errors if "status of 422" not in e]  # the refusal itself, expected
        check_page(page, "register-errors")
        page.get_by_label("Email").fill(f"bo-{tag}@test.example")
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url(f"**/login?next=/join/{code}")  # not logged in (the same answer for a known email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"**/join/{code}")
        expect(page.get_by_label("Invitation code")).to_have_value(code)
        check_page(page, "join-after-register")
        page.get_by_role("button", name="Join").click()
        expect(page.get_by_text("You have joined your partner.")).to_be_visible()
    finally:
        ctx.close()

    # Someone with an account already, on a wide screen: the link, then logging in.
    link, code = new_invitation(server, tag + "2")
    with server.app.app_context():
        from couples.extensions import db
        make_account(f"cy-{tag}@test.example", "partner", "Cy", password)
        db.session.commit()
        db.session.remove()
    ctx, page = person(browser, server, errors, viewport=DESKTOP)
    try:
        page.goto(link)
        page.get_by_label("Email").fill(f"cy-{tag}@test.example")
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"**/join/{code}")
        expect(page.get_by_label("Invitation code")).to_have_value(code)
        page.get_by_role("button", name="Join").click()
        expect(page.get_by_text("You have joined your partner.")).to_be_visible()
    finally:
        ctx.close()
    assert not errors, errors
