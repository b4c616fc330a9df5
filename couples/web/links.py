"""Links the app hands out to be opened later or elsewhere (an invitation to join a couple):
always on BASE_URL (COUPLES_BASE_URL), never on the request's Host or forwarded headers, which
whoever sends the request chooses (`Host: evil.example` must not turn an invitation into a link
to evil.example). Every absolute link is built here; tests/web/test_next_and_links.py holds the rest
of the code to that."""
from urllib.parse import urlsplit

from flask import current_app


def public_url(endpoint: str, **values) -> str:
    """The absolute URL of `endpoint` on this site's configured public address."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)
