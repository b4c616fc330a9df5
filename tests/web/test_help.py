"""Issue 23: crisis and domestic-violence services on a Help page anyone can open, linked from the
main navigation of every page; the list is the deployment's own (COUPLES_CRISIS_RESOURCES) or a
sensible international default, and "If you are in danger now, call your local emergency number."
always comes first."""
import json
import re

import pytest
from markupsafe import escape

from couples.config import DEFAULT_CRISIS_RESOURCES, Config
from support.inprocess import logged_in, start_session

EMERGENCY = "If you are in danger now, call your local emergency number."


def main_nav(html: str) -> str:
    found = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S)
    assert found, "no main navigation"
    return found.group(1)


def shows_the_default_list(html: str) -> None:
    assert EMERGENCY in html
    for entry in DEFAULT_CRISIS_RESOURCES:
        assert str(escape(entry["name"])) in html, entry["name"]
        assert str(escape(entry["contact"])) in html, entry["contact"]
        assert f'href="{entry["url"]}"' in html
    assert html.index(EMERGENCY) < html.index(str(escape(DEFAULT_CRISIS_RESOURCES[0]["name"])))
    # Numbers are links a phone dials; the regions are headings.
    for tel in ("tel:988", "tel:18007997233", "tel:08082000247", "tel:116123", "tel:1800737732", "tel:131114"):
        assert f'href="{tel}"' in html, tel
    for region in ("United States", "United Kingdom", "Australia"):
        assert re.search(rf"<h3>{region}</h3>", html), region


def test_the_default_list_has_the_services_as_they_publish_them():
    by_name = {e["name"]: e for e in DEFAULT_CRISIS_RESOURCES}
    assert by_name["Find A Helpline"]["url"] == "https://findahelpline.com"
    assert "988" in by_name["988 Suicide & Crisis Lifeline"]["contact"]
    hotline = by_name["National Domestic Violence Hotline"]["contact"]
    assert "1-800-799-7233" in hotline and "text START to 88788" in hotline
    assert by_name["National Domestic Abuse Helpline (Refuge)"]["phone"] == "0808 2000 247"
    assert by_name["Samaritans"]["phone"] == "116 123"
    assert by_name["1800RESPECT"]["phone"] == "1800 737 732"
    assert by_name["Lifeline"]["phone"] == "13 11 14"


def test_the_help_page_answers_anyone_logged_out_or_in(app, client, world):
    resp = client.get("/help")
    assert resp.status_code == 200
    shows_the_default_list(resp.get_data(as_text=True))
    for who in ("alice", "theo"):
        page = logged_in(app, who).get("/help")
        assert page.status_code == 200, who
        shows_the_default_list(page.get_data(as_text=True))


def test_a_help_link_is_in_the_main_navigation_of_every_page(app, client, world):
    """A crawl of the main pages, as each kind of visitor sees them."""
    public_id = start_session(app, world)
    alice, theo = logged_in(app, "alice"), logged_in(app, "theo")
    pages = [(client, "/login"), (client, "/register"), (client, "/help"), (client, "/no-such-page"),
             (alice, "/dashboard"), (alice, "/practice"), (alice, f"/practice/{public_id}"),
             (alice, f"/sessions/{public_id}/transcript"), (alice, "/progress"), (alice, "/privacy"),
             (theo, "/dashboard"), (theo, "/therapist"), (theo, f"/practice/{public_id}")]
    for browser, path in pages:
        resp = browser.get(path)
        assert resp.status_code in (200, 404), (path, resp.status_code)
        nav = main_nav(resp.get_data(as_text=True))
        icon = r"(<span class=\"icon icon-help\" aria-hidden=\"true\"></span>)?"  # a decorative icon may come first
        assert re.search(rf'<a href="/help"( aria-current="page")?>{icon}Help</a>', nav), path
    assert re.search(rf'aria-current="page">{icon}Help<', main_nav(client.get("/help").get_data(as_text=True)))


def write_resources(tmp_path, entries) -> str:
    path = tmp_path / "crisis.json"
    path.write_text(entries if isinstance(entries, str) else json.dumps(entries), encoding="utf-8")
    return str(path)


def test_a_configured_list_replaces_the_default_and_is_shown_as_text(make_app, tmp_path, monkeypatch):
    monkeypatch.setenv("COUPLES_CRISIS_RESOURCES", write_resources(tmp_path, [
        {"name": "<script>alert(1)</script> Line", "contact": "Call us & we <b>listen</b>.",
         "phone": "+44 (20) 7946-0000", "url": "https://help.example.org/a?b=1&c=2", "region": "Testland"},
        {"name": "Anywhere Line", "contact": "Write to us."},
    ]))
    html = make_app().test_client().get("/help").get_data(as_text=True)
    assert EMERGENCY in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Line" in html and "<script>alert" not in html
    assert "Call us &amp; we &lt;b&gt;listen&lt;/b&gt;." in html
    assert 'href="tel:+442079460000">Call +44 (20) 7946-0000</a>' in html
    assert 'href="https://help.example.org/a?b=1&amp;c=2"' in html and ">help.example.org</a>" in html
    assert "<h3>Testland</h3>" in html and "<h3>Wherever you are</h3>" in html
    assert html.index("Anywhere Line") < html.index("Testland")  # no region first
    assert "Samaritans" not in html and "988lifeline" not in html


@pytest.mark.parametrize("content,complaint", [
    ("{not json", "cannot read .* as JSON"),
    ({"name": "A", "contact": "B"}, "must hold a JSON list"),
    ([], "must hold a JSON list of at least one"),
    (["Samaritans"], "entry 1 must be an object"),
    ([{"name": "A", "contact": "B"}, {"name": "C"}], 'entry 2: "contact" must be non-empty text'),
    ([{"name": " ", "contact": "B"}], '"name" must be non-empty text'),
    ([{"name": "A", "contact": "B", "phone_number": "1"}], "unknown key.*phone_number"),
    ([{"name": "A", "contact": "B", "url": "javascript:alert(1)"}], '"url" must be a web address'),
    ([{"name": "A", "contact": "B", "phone": "call 988"}], '"phone" must be a number to dial'),
    ([{"name": "A", "contact": "B", "region": 7}], '"region" must be absent or non-empty text'),
])
def test_a_malformed_file_stops_the_start_and_says_what_is_wrong(tmp_path, monkeypatch, content, complaint):
    monkeypatch.setenv("COUPLES_CRISIS_RESOURCES", write_resources(tmp_path, content))
    with pytest.raises(RuntimeError) as refused:
        Config(str(tmp_path))
    message = str(refused.value)
    assert message.startswith("COUPLES_CRISIS_RESOURCES: ") and "crisis.json" in message, message
    assert re.search(complaint, message), message


def test_a_missing_file_stops_the_app_from_starting(make_app, tmp_path, monkeypatch):
    monkeypatch.setenv("COUPLES_CRISIS_RESOURCES", str(tmp_path / "nowhere.json"))
    with pytest.raises(RuntimeError, match="COUPLES_CRISIS_RESOURCES: cannot read .*nowhere.json"):
        make_app()


def test_without_the_variable_the_default_list_is_used(tmp_path, monkeypatch):
    monkeypatch.delenv("COUPLES_CRISIS_RESOURCES", raising=False)
    assert Config(str(tmp_path)).CRISIS_RESOURCES == DEFAULT_CRISIS_RESOURCES
