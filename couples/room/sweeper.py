"""Each serving process's background task: sockets whose access ended with time (expiry, idle),
timers that fell due, and this process's presence leases."""
import os
import threading
import time

from ..extensions import db, socketio
from . import presence, turns
from .clock import install_test_clock

_sweeper_pid = None  # the process whose sweeper runs: a forked child starts its own
_sweeper_lock = threading.Lock()  # green under eventlet and gevent once they have patched


def start_background_tasks(app) -> None:
    """Start this process's sweeper, once per process."""
    global _sweeper_pid
    install_test_clock(app)
    with _sweeper_lock:
        if _sweeper_pid == os.getpid():
            return
        _sweeper_pid = os.getpid()
    socketio.start_background_task(_sweep_forever, app)


def start_when_served(app) -> None:
    """Start the sweeper with the first request (HTTP or Socket.IO) this process serves, whatever
    serves it: gunicorn's worker, `flask run`, `python app.py` (which starts it before serving).

    Not at import: the flask CLI imports the app and serves nothing, and a pre-forking master
    (gunicorn --preload) would start it in the wrong process, before its workers patch."""
    install_test_clock(app)  # refused in production here, at start-up, not per request
    served = app.wsgi_app

    def wsgi_app(environ, start_response):
        if _sweeper_pid != os.getpid():
            start_background_tasks(app)
        return served(environ, start_response)

    app.wsgi_app = wsgi_app


def _sweep_forever(app):
    # Lost access and timers are checked every pass; the leases only every sixth of their
    # lifetime: renewed when a third old, so never near expiry.
    lease_every = max(app.config["SWEEP_INTERVAL"], app.config["PRESENCE_TTL"] / 6)
    leases_due = 0.0
    while True:
        socketio.sleep(app.config["SWEEP_INTERVAL"])
        with app.app_context():
            try:
                now = time.monotonic()
                leases = now >= leases_due
                if leases:
                    leases_due = now + lease_every
                sweep_once(leases=leases)
            except Exception:  # noqa: BLE001 - the loop must survive a bad moment (a DB restart)
                db.session.rollback()
                app.logger.exception("sweep failed")
            finally:
                db.session.remove()


def sweep_once(leases: bool = True) -> None:
    """One pass: cut this process's sockets that lost their login or role, fire due timers, and
    (with `leases`) renew this process's leases and purge expired ones (a crashed process's)."""
    from .sockets import broadcast, broadcast_presence
    presence.cut(presence.lost_connections(process=presence.PROCESS))
    for session_id in turns.due_sessions():
        outcome = turns.fire_timer(session_id)
        if outcome is not None:
            broadcast(outcome)
    if not leases:
        db.session.rollback()
        return
    presence.refresh_process(presence.PROCESS)
    for session_id in presence.purge_stale():
        broadcast_presence(session_id)
