"""Response headers: a strict Content-Security-Policy (no inline script or style) and friends."""

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def _always(app) -> list[tuple[str, str]]:
    """The headers every response gets, pages and Socket.IO alike."""
    headers = [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
               ("Referrer-Policy", "no-referrer"),
               ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
               ("Cross-Origin-Opener-Policy", "same-origin")]
    if app.config.get("SESSION_COOKIE_SECURE"):
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return headers


def register_security_headers(app):
    always = _always(app)

    @app.after_request
    def add_headers(resp):
        resp.headers.setdefault("Content-Security-Policy", CSP)
        for name, value in always:
            resp.headers[name] = value
        # Mental-health data: never let a shared computer's cache keep a page.
        if not resp.headers.get("Cache-Control") and resp.mimetype != "text/css" \
                and not resp.mimetype.endswith("javascript"):
            resp.headers["Cache-Control"] = "no-store"
        return resp


# Nothing under the Socket.IO path is a page: no script, style or frame may come of it.
SOCKET_CSP = "default-src 'none'; frame-ancestors 'none'"


def secure_socket_responses(app, path: str) -> None:
    """The same headers on what Engine.IO answers itself (under `path`: the handshake, long-polling
    and refusals), which Flask's after_request never sees. Long-polling bodies carry the room's
    events, people's own words, so no cache may keep them either."""
    extra = _always(app) + [("Content-Security-Policy", SOCKET_CSP), ("Cache-Control", "no-store")]
    inner = app.wsgi_app

    def wsgi_app(environ, start_response):
        if not environ.get("PATH_INFO", "").startswith(path):
            return inner(environ, start_response)

        def start(status, headers, exc_info=None):
            have = {name.lower() for name, _ in headers}
            return start_response(status, list(headers) + [h for h in extra if h[0].lower() not in have], exc_info)

        return inner(environ, start)

    app.wsgi_app = wsgi_app
