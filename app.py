"""Entry point: choose the async mode, monkey-patch before anything else is imported, serve.

    python app.py            # serve on http://127.0.0.1:5000 (HOST / PORT override)
    gunicorn -w 1 -k ... app:app   # any other server: the sweeper starts with its first request
    flask --app app ...      # CLI commands (db upgrade, demo, ...): no server, so no patching
"""
import os
import warnings

# eventlet is the client's choice; docs/deploy.md explains its deprecation and the one-line move
# to gevent. Printing the warning on every start and every CLI command tells users nothing new.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

ASYNC_MODE = os.environ.get("COUPLES_ASYNC_MODE", "eventlet")

# Patch only when this file runs the server: the flask CLI has imported threading already, and
# its commands need no green threads.
if __name__ == "__main__":
    if ASYNC_MODE == "eventlet":
        import eventlet
        eventlet.monkey_patch()
    elif ASYNC_MODE == "gevent":
        from gevent import monkey
        monkey.patch_all()
        from psycogreen.gevent import patch_psycopg  # psycopg2 is C: make it yield to gevent
        patch_psycopg()
elif "gevent" in __import__("sys").modules:
    # Imported by a server that patched already (gunicorn -k gevent): psycopg2 still needs its own.
    from gevent import monkey
    if monkey.is_module_patched("socket"):
        from psycogreen.gevent import patch_psycopg
        patch_psycopg()

from couples import create_app  # noqa: E402
from couples.extensions import socketio  # noqa: E402
from couples.room.sweeper import start_background_tasks, start_when_served  # noqa: E402
from couples.perf.gc import tune_gc  # noqa: E402

app = create_app()
# Served any other way (gunicorn app:app, flask run), the sweeper starts with the first request;
# the CLI's commands serve none, so they run no sweeper.
start_when_served(app)


def server_options() -> dict:
    """Extra keyword arguments for socketio.run. eventlet.wsgi.server serves at most `max_size`
    (default 1,024) sockets at once and queues the rest silently: raise it
    (COUPLES_MAX_CONNECTIONS, default 10,000; the open-files limit must allow as many)."""
    if ASYNC_MODE == "eventlet":
        return {"max_size": int(os.environ.get("COUPLES_MAX_CONNECTIONS", "10000"))}
    return {}


def refuse_a_taken_port(host: str, port: int) -> None:
    """Exit, saying why, if another server already listens on this port. eventlet binds with
    SO_REUSEPORT, so a second `python app.py` given the same PORT would start without a word and
    the kernel would split clients (even one client's long-polling requests) between the two."""
    import socket
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart's TIME_WAIT is fine
        try:
            probe.bind((host, port))
        except OSError as err:
            raise SystemExit(f"Port {port} on {host} is already in use ({err.strerror}): another server "
                             "is listening there. Give each process its own PORT.") from None


if __name__ == "__main__":
    HOST, PORT = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "5000"))
    refuse_a_taken_port(HOST, PORT)
    start_background_tasks(app)  # now, not at the first request: due timers fire after a restart
    tune_gc()
    # Say where it is and how to try it: a silent start reads as a hang.
    print(f"Couples is serving on http://{HOST}:{PORT}/ (Ctrl+C stops it). To try it with a demo "
          "couple and their therapist, run `make demo` in another terminal.", flush=True)
    socketio.run(app, host=HOST, port=PORT,
                 allow_unsafe_werkzeug=ASYNC_MODE == "threading", debug=False, use_reloader=False,
                 **server_options())
