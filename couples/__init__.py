"""couples: a realtime practice room for couples and their therapists."""
from flask import Flask

from . import accounts, models  # noqa: F401  (models registers the tables)
from .config import Config, engine_options, normalise_db_url
from .database import configure_engine
from .errors import register_error_handlers
from .extensions import SocketEventSessions, TextPacket, csrf, db, limiter, login_manager, migrate, socketio
from .security import register_security_headers, secure_socket_responses
from .times import register_time_filters


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints and socket handlers."""
    app = CouplesApp(__name__, instance_relative_config=True,
                static_folder="../static", template_folder="../templates")
    app.session_interface = SocketEventSessions()
    app.config.from_object(Config(app.instance_path))
    if test_config:
        app.config.update(test_config)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_db_url(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["SQLALCHEMY_DATABASE_URI"]))

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    migrate.init_app(app, db, directory=str(_root() / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    _init_login(app)

    # Route modules add their routes to the blueprints on import.
    from . import api, api_practice, api_privacy, auth, cli, cli_privacy, views, views_practice, views_privacy  # noqa: F401
    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # the API checks CSRF itself for cookie logins; bearer tokens need none
    cli.register(app)
    cli_privacy.register(app)

    # Handlers must be imported before init_app, or apps built after the first have none.
    from . import realtime  # noqa: F401
    socketio.init_app(
        app,
        async_mode=app.config["ASYNC_MODE"],
        message_queue=app.config["REDIS_URL"],
        cors_allowed_origins=app.config["ALLOWED_ORIGINS"],
        max_http_buffer_size=app.config["MAX_SOCKET_MESSAGE"],
        logger=False, engineio_logger=False, serializer=TextPacket,
        # A client's events are handled one after another, on the greenlet (or thread) that read
        # them: in the order sent, and a flood queues on its own socket instead of spawning a
        # greenlet per message. Spawning one per event was 4-5 % of the server's CPU at 500
        # sessions (docs/benchmarks.md, eleventh pass). Nothing here uses call(), which needs them.
        async_handlers=False,
    )
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix  # the client's address and scheme, as the proxy saw them
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    register_error_handlers(app)
    register_security_headers(app)
    secure_socket_responses(app, SOCKET_PATH)
    register_time_filters(app)
    return app


def _init_login(app):
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.session_protection = None  # each login is its own revocable AuthSession row

    @login_manager.user_loader
    def load_from_cookie(secret):
        return accounts.load_user(secret, "cookie")

    @login_manager.request_loader
    def load_from_bearer(request):
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return accounts.load_user(header[7:].strip(), "token")
        return None


def _root():
    from pathlib import Path
    return Path(__file__).resolve().parent.parent


# Flask-SocketIO's default path, which the app keeps. Engine.IO's middleware takes every request
# under it, so Flask sees it only in event contexts; "/socket.io" itself is an ordinary 404 page.
SOCKET_PATH = "/socket.io/"


class CouplesApp(Flask):
    def create_url_adapter(self, request):
        """No URL matching for Socket.IO events. Flask-SocketIO pushes a request context for
        every event, built from the handshake's environ (/socket.io/, which the Engine.IO
        middleware answers before Flask ever sees it). Matching that path failed on every event
        (NotFound, or WebsocketMismatch on a WebSocket) and even a match leaves a reference
        cycle in werkzeug's matcher: 60-90 objects per event for the cyclic collector, whose
        pauses were the slowest turns at 500 sessions (docs/benchmarks.md)."""
        if request is not None and request.environ.get("PATH_INFO", "").startswith(SOCKET_PATH):
            return None
        return super().create_url_adapter(request)
