"""No private text where it does not belong: canary words typed into an exercise appear in no
log line of the server process (stdout, stderr, the app's logger), no URL any browser requested,
and nothing the browser stores (localStorage, sessionStorage, IndexedDB, Cache Storage, cookies).

The run: two partners in real Chromium (Playwright, Debian's /usr/bin/chromium) log in, pass the
safety check, start the greeting ritual, type canaries into a feeling, a greeting and a private
pause reason; their therapist observes and opens the transcript; a python-socketio client also
sends canaries in refused actions (bad payloads are the likeliest to be logged).
"""
import concurrent.futures
import json
import uuid

import requests

from support.clients import LivePeer

CANARIES = {"feeling": "zqcanaryfeel", "greeting": "zq-canary-greeting-7731",
            "reason": "zq-canary-private-reason-4410", "refused": "zq-canary-refused-9902"}


def _socket_canaries(live):
    """A socket client sends canaries in actions that are refused (wrong step, bad fields)."""
    client = LivePeer(live, live.people["tokens"]["alice"], "alice").connect().sio
    started = requests.post(live.url + "/api/v1/sessions", json={}, timeout=5,
                            headers={"Authorization": f"Bearer {live.people['tokens']['alice']}"})
    session = started.json()["session"]["id"]
    client.call("join", {"session_id": session}, timeout=5)
    for payload in ({"session_id": session, "id": "canary-" + uuid.uuid4().hex[:8], "kind": "submit",
                     "step": "no_such_step", "data": {"greeting": CANARIES["refused"]}},
                    {"session_id": session, "id": "canary-" + uuid.uuid4().hex[:8], "kind": "submit",
                     "step": None, "data": {CANARIES["refused"]: 1}},
                    {"session_id": CANARIES["refused"], "id": "x", "kind": "submit"}):
        ack = client.call("action", payload, timeout=5)
        assert ack["ok"] is False
    client.disconnect()


def _in_own_thread(fn, *args):
    """Playwright's sync API will not start where an asyncio loop runs, as the browser suite's
    session-wide Playwright does when both run in one pytest: a thread of its own has none."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


def _browser_run(live):
    """The partners' and therapist's browsers; returns every URL requested and what each stores."""
    from support.browser import CHROMIUM, CHROMIUM_ARGS, VENDOR, answer, enter_room, log_in, require_browser
    require_browser(*VENDOR)
    from playwright import sync_api
    expect = sync_api.expect
    urls, stores = [], []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        people = {}
        for name in ("alice", "bob", "theo"):
            ctx = browser.new_context(base_url=live.url)
            ctx.set_default_timeout(10_000)
            page = ctx.new_page()
            page.on("request", lambda r: urls.append(r.url))
            page.on("websocket", lambda ws: urls.append(ws.url))
            log_in(page, f"{name}@example.com", live.people["password"])
            people[name] = (ctx, page)
        a, b = people["alice"][1], people["bob"][1]
        for page in (a, b):
            enter_room(page)
        t = people["theo"][1]
        t.goto(a.url)
        expect(t.locator("#connection-text")).to_have_text("Connected")
        for page in (a, b):
            answer(page, safe=True)
        expect(a.locator("#step-title")).to_have_text("Choose an exercise")
        a.get_by_role("button", name="Start: Greeting ritual").click()
        expect(a.locator("#step-title")).to_have_text("Check-in")
        answer(a, suds=3, connected=6, feeling=CANARIES["feeling"])
        answer(b, suds=4, connected=5)
        expect(a.locator("#step-title")).to_have_text("Who goes first")
        answer(a, first="me")
        expect(a.locator("#step-title")).to_have_text("Greeting")
        answer(a, greeting=f"Hello you ({CANARIES['greeting']})")
        expect(b.locator("#timeline")).to_contain_text(CANARIES["greeting"])
        a.locator("#pause-reason-box summary").click()
        a.locator("#pause-reason").fill(CANARIES["reason"])
        a.locator("#pause-button").click()
        expect(t.locator("#timeline")).to_contain_text(CANARIES["reason"])
        session = a.url.rstrip("/").rsplit("/", 1)[-1]
        t.goto(f"/sessions/{session}/transcript")
        for name, (ctx, page) in people.items():
            page.goto("/dashboard")
            stores.append((name, _storage(ctx, page)))
        browser.close()
    return urls, stores


def _storage(ctx, page) -> str:
    dumped = page.evaluate("""async () => {
        const out = {local: Object.entries(localStorage), session: Object.entries(sessionStorage),
                     idb: [], caches: []};
        if (indexedDB.databases) {
            for (const info of await indexedDB.databases()) {
                const db = await new Promise((ok, fail) => { const r = indexedDB.open(info.name);
                                                            r.onsuccess = () => ok(r.result); r.onerror = fail; });
                for (const store of db.objectStoreNames) {
                    const all = await new Promise((ok) => { const r = db.transaction(store).objectStore(store).getAll();
                                                            r.onsuccess = () => ok(r.result); });
                    out.idb.push([info.name, store, all]);
                }
                db.close();
            }
        }
        if (self.caches) out.caches = await caches.keys();
        return JSON.stringify(out);
    }""")
    return dumped + json.dumps(ctx.cookies())


def test_canaries_appear_in_no_log_url_or_browser_storage(live):
    _socket_canaries(live)
    urls, stores = _in_own_thread(_browser_run, live)
    log = live.output()
    assert len(urls) > 10 and stores
    for name, canary in CANARIES.items():
        assert canary not in log, f"{name} canary in the server's log"
        assert not [u for u in urls if canary in u], f"{name} canary in a URL"
        for who, stored in stores:
            assert canary not in stored, f"{name} canary in {who}'s browser storage"
    for token in live.people["tokens"].values():
        assert token not in log and not [u for u in urls if token in u], "a bearer token was logged or put in a URL"
    print(f"\ncanary check: {len(CANARIES)} canaries, {len(urls)} URLs, {len(log.splitlines())} log lines, "
          f"{len(stores)} browsers' storage: none found")
