"""Entry point: choose the async mode, monkey-patch before anything else is imported, serve.

    python app.py            # serve on http://127.0.0.1:5000 (HOST / PORT override)
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

from couples import create_app  # noqa: E402
from couples.extensions import socketio  # noqa: E402

app = create_app()

if __name__ == "__main__":
    from couples.realtime import start_background_tasks
    start_background_tasks(app)
    socketio.run(app, host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "5000")),
                 allow_unsafe_werkzeug=ASYNC_MODE == "threading", debug=False, use_reloader=False)
