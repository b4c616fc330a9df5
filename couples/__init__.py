"""couples: a realtime practice room for couples and their therapists.

Features are packages named after what people do: accounts/, pairing/, room/ (the live room),
exercises/ (the pure engine), review/ (transcripts and progress), privacy/. access.py holds
who may do what; perf/ the measured shortcuts; web/ what every page and API route shares; help.py
the Help page (crisis services, linked from every page).
"""
from flask import Flask

from . import models  # noqa: F401  (registers the tables)
from .accounts import service as accounts
from .config import Config, engine_options, normalise_db_url, rate_limit_store_options
from .database import configure_engine
from .errors import register_error_handlers
from .extensions import csrf, db, limiter, login_manager, migrate, socketio
from .perf import events as perf_events
from .web.filters import register_filters
from .web.security import register_security_headers, secure_socket_responses
from .web.times import register_time_filters


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints and socket handlers."""
    app = perf_events.CouplesApp(__name__, instance_relative_config=True,
                                 static_folder="../static", template_folder="../templates")
    perf_events.install(app)
    app.config.from_object(Config(app.instance_path))
    if test_config:
        app.config.update(test_config)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_db_url(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["SQLALCHEMY_DATABASE_URI"]))
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", rate_limit_store_options(app.config["RATELIMIT_STORAGE_URI"]))

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    migrate.init_app(app, db, directory=str(_root() / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    _init_login(app)
    _register_features(app)
    _init_socketio(app)
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix  # the client's address and scheme, as the proxy saw them
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    register_error_handlers(app)
    register_security_headers(app)
    secure_socket_responses(app, perf_events.SOCKET_PATH)
    register_filters(app)
    register_time_filters(app)
    return app


def _register_features(app: Flask) -> None:
    """Each feature's pages and API, in one place."""
    from . import cli, help as help_views
    from .accounts import api as accounts_api, views as accounts_views
    from .pairing import api as pairing_api, views as pairing_views
    from .privacy import api as privacy_api, cli as privacy_cli, views as privacy_views
    from .review import api as review_api, views as review_views
    from .room import api as room_api, views as room_views
    for module in (accounts_views, accounts_api, pairing_views, pairing_api, room_views, room_api,
                   review_views, review_api, privacy_views, privacy_api, help_views):
        app.register_blueprint(module.bp)
    cli.register(app)
    privacy_cli.register(app)


def _init_socketio(app: Flask) -> None:
    # Handlers must be imported before init_app, or apps built after the first have none.
    from .room import sockets  # noqa: F401
    from .room.packets import RoomPacket
    socketio.init_app(
        app,
        async_mode=app.config["ASYNC_MODE"],
        message_queue=app.config["REDIS_URL"],
        cors_allowed_origins=app.config["ALLOWED_ORIGINS"],
        max_http_buffer_size=app.config["MAX_SOCKET_MESSAGE"],
        # WebSocket only: on long-polling every request names the socket's Engine.IO sid in its URL
        # (and in proxies' logs), and that sid alone let anyone read and send as the socket.
        # Engine.IO answers a polling request 400 "Invalid transport" (docs/security.md).
        transports=["websocket"],
        logger=False, engineio_logger=False, serializer=RoomPacket,
        # A client's events are handled one after another, on the greenlet (or thread) that read
        # them: in the order sent (the room page's resend of held answers relies on it), and a
        # flood queues on its own socket instead of spawning a greenlet per message.
        async_handlers=False,
    )


def _init_login(app):
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
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
