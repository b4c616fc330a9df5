"""Issue 21, item 10: where the app sends people and the links it hands out stay on this site.

`next` after logging in is judged as a browser would read it (tabs and line breaks dropped,
backslashes as slashes, dot segments resolved, percent-decoded); public links are built from
COUPLES_BASE_URL, never from the request's Host or forwarded headers."""
import re
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

import pytest

from couples.config import Config
from couples.web.forms import safe_next

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"  # the default of the conftest.py helpers
SITE = "https://couples.example"

# Each is the decoded value of `next`, as the view receives it.
NASTY = [
    "//evil.example", "///evil.example", "////evil.example", "/\\evil.example", "\\\\evil.example",
    "/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "/\r\n/evil.example", "\t//evil.example",
    " //evil.example", "/ /evil.example", "/\x00/evil.example", "/\x0b/evil.example", "/\x0c/evil.example",
    "/\u2028/evil.example", "/\u00a0/evil.example", "/\u200b/evil.example", "/\ufeff/evil.example",
    "/%09/evil.example", "/%0A/evil.example", "/%0D%0ASet-Cookie:%20a=b", "/%2F/evil.example",
    "/%2F%2Fevil.example", "/%5Cevil.example", "/%252F%252Fevil.example", "/%25252F%25252Fevil.example",
    "/./evil.example", "/.//evil.example", "/..//evil.example", "/%2e%2e//evil.example", "/x/..//evil.example",
    "https://evil.example", "http:/evil.example", "http:evil.example", "HTTPS://evil.example",
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,hi", "evil.example", "@evil.example",
    "//evil.example@couples.example", "/\\/evil.example", "\\/evil.example", "/\u3000/evil.example",
    "\x00", "%", "/" + "a" * 3000, "\ud800", "/\ud800",
]
ODD = ["/%", "/%zz", "/%C3%A9t%C3%A9", "/caf\u00e9", "/\u202e/evil.example"]  # whatever they are, never off-site
LOCAL = ["/dashboard", "/", "/practice", "/sessions/abc123/transcript", "/join/ABCD2345",
         "/progress?week=3", "/dashboard#therapists", "/caf\u00e9"]


def as_a_browser_reads(location: str) -> str:
    """What a WHATWG URL parser does to a Location before resolving it: drop tabs and line breaks,
    trim C0 controls and spaces at both ends, read backslashes as slashes (http and https)."""
    location = re.sub(r"[\t\n\r]", "", location).strip("".join(map(chr, range(0x21))))
    return location.replace("\\", "/")


def lands_on_this_site(location: str) -> bool:
    target = urlsplit(urljoin(SITE + "/login", as_a_browser_reads(location)))
    return (target.scheme, target.netloc) == ("https", "couples.example")


@pytest.mark.parametrize("target", NASTY, ids=[repr(t)[:40] for t in NASTY])
def test_safe_next_refuses_every_way_off_this_site(target):
    assert safe_next(target) is None


@pytest.mark.parametrize("target", LOCAL)
def test_safe_next_keeps_a_path_on_this_site(target):
    assert safe_next(target) == target


def test_no_nasty_next_redirects_off_site_or_fails_after_logging_in(app, make_user):
    """The whole round trip: log in with `?next=<value>`, percent-encoded as a link would carry
    it, and follow the Location as a browser would. Each one lands on this site, none is a 500."""
    make_user("alice@example.com")
    raw = ["/%09/evil.example", "/%0A/evil.example", "/%0D/evil.example", "%2F%2Fevil.example"]  # as in the issue
    nasty = [quote(t, safe="") for t in NASTY if "\ud800" not in t] + raw + ["%ED%A0%80"]  # + a lone surrogate
    for query in nasty + [quote(t, safe="") for t in ODD]:
        client = app.test_client()
        resp = client.post(f"/login?next={query}", data={"email": "alice@example.com", "password": PASSWORD},
                           base_url=SITE)
        assert resp.status_code == 302, (query, resp.status_code)
        location = resp.headers["Location"]
        assert lands_on_this_site(location), (query, location)
        assert location == "/dashboard" or query not in nasty, (query, location)  # refused, not repaired


@pytest.mark.parametrize("target", LOCAL[:5])
def test_a_path_on_this_site_is_where_logging_in_leads(app, make_user, target):
    make_user("alice@example.com")
    resp = app.test_client().post(f"/login?next={quote(target)}",
                                  data={"email": "alice@example.com", "password": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == target


# --------------------------------------------------------------------------- public links

SPOOFS = [{"Host": "evil.example"}, {"X-Forwarded-Host": "evil.example"},
          {"Forwarded": "host=evil.example;proto=https"}, {"Host": "evil.example", "X-Forwarded-Proto": "https"}]


@pytest.fixture
def linked_app(make_app):
    return make_app(BASE_URL="https://couples.example.org", TRUSTED_PROXIES=1)


@pytest.mark.parametrize("spoof", SPOOFS, ids=["host", "x-forwarded-host", "forwarded", "host+proto"])
def test_invitation_links_are_on_the_configured_address_whatever_the_host_header(linked_app, make_user, spoof):
    make_user("alice@example.com")
    client = linked_app.test_client()
    token = client.post("/api/v1/tokens", json={"email": "alice@example.com", "password": PASSWORD}).get_json()["token"]
    auth = {"Authorization": f"Bearer {token}", **spoof}
    created = client.post("/api/v1/couple", headers=auth).get_json()
    fresh = client.post("/api/v1/couple/invitations", headers=auth).get_json()
    status = client.get("/api/v1/couple", headers=auth).get_json()
    for url, code in ((created["invitation"]["url"], created["invitation"]["code"]), (fresh["url"], fresh["code"]),
                      (status["invitation"]["url"], status["invitation"]["code"])):
        assert url == f"https://couples.example.org/join/{code}", url
    page = app_page(linked_app, spoof)
    assert "evil.example" not in page and f"https://couples.example.org/join/{fresh['code']}" in page


def app_page(app, headers):
    client = app.test_client()
    client.post("/login", data={"email": "alice@example.com", "password": PASSWORD}, headers=headers)
    return client.get("/dashboard", headers=headers).get_data(as_text=True)


def test_a_base_url_with_a_path_keeps_it(make_app, make_user, api_as):
    app = make_app(BASE_URL="https://example.org/couples")
    make_user("alice@example.com")
    client = app.test_client()
    token = client.post("/api/v1/tokens", json={"email": "alice@example.com", "password": PASSWORD}).get_json()["token"]
    url = client.post("/api/v1/couple", headers={"Authorization": f"Bearer {token}"}).get_json()["invitation"]["url"]
    assert re.fullmatch(r"https://example\.org/couples/join/[A-Z0-9]+", url), url


# The only ways to an absolute URL in Flask and Werkzeug, and the request's own idea of its host.
LINK_BUILDERS = re.compile(r"_external\s*=\s*True|\burl_root\b|\bhost_url\b|\brequest\.host\b|\bbase_url\b"
                           r"|\brequest\.url\b|SERVER_NAME|\bhttps?://\{")


def test_every_absolute_link_is_built_from_the_base_url():
    """A new link builder that reads the request's host (or hand-formats one) fails here: build it
    with couples.web.links.public_url."""
    offenders = []
    for path in sorted((ROOT / "couples").rglob("*.py")) + sorted((ROOT / "templates").rglob("*.html")):
        if path.name in ("links.py", "config.py"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if LINK_BUILDERS.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_demo_command_prints_the_base_url(make_app, tmp_path):
    app = make_app(BASE_URL="https://couples.example.org")
    out = app.test_cli_runner().invoke(args=["demo"]).output
    assert "Open https://couples.example.org/login " in out


# --------------------------------------------------------------------------- the setting


def test_the_base_url_defaults_to_the_local_address_in_development(tmp_path, monkeypatch):
    for var in ("COUPLES_BASE_URL", "COUPLES_ENV", "PORT"):
        monkeypatch.delenv(var, raising=False)
    assert Config(str(tmp_path)).BASE_URL == "http://127.0.0.1:5000"
    monkeypatch.setenv("PORT", "5077")
    assert Config(str(tmp_path)).BASE_URL == "http://127.0.0.1:5077"
    monkeypatch.setenv("COUPLES_BASE_URL", "https://couples.example.org/")
    assert Config(str(tmp_path)).BASE_URL == "https://couples.example.org"


def test_production_requires_the_base_url(tmp_path, monkeypatch):
    monkeypatch.setenv("COUPLES_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("COUPLES_AUDIT_KEY", "y" * 64)
    monkeypatch.delenv("COUPLES_BASE_URL", raising=False)
    with pytest.raises(RuntimeError, match="COUPLES_BASE_URL"):
        Config(str(tmp_path))


@pytest.mark.parametrize("url", ["couples.example.org", "ftp://couples.example.org", "https://",
                                 "https://user@couples.example.org", "https://couples.example.org/?a=1",
                                 "https://couples.example.org/#x", "javascript:alert(1)"])
def test_a_base_url_that_is_not_a_plain_address_is_refused(tmp_path, monkeypatch, url):
    monkeypatch.delenv("COUPLES_ENV", raising=False)
    monkeypatch.setenv("COUPLES_BASE_URL", url)
    with pytest.raises(RuntimeError, match="COUPLES_BASE_URL"):
        Config(str(tmp_path))
