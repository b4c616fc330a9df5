"""Entry point: choose the async mode, monkey-patch before anything else is imported, serve.

    python app.py            # serve on http://127.0.0.1:5000 (HOST / PORT override)
    flask --app app ...      # CLI commands (db upgrade, demo, ...)
"""
import os

ASYNC_MODE = os.environ.get("COUPLES_ASYNC_MODE", "eventlet")
if ASYNC_MODE == "eventlet":
    import eventlet
    eventlet.monkey_patch()
elif ASYNC_MODE == "gevent":
    from gevent import monkey
    monkey.patch_all()
    try:  # psycopg2 is a C extension: make it cooperate with gevent
        from psycogreen.gevent import patch_psycopg
        patch_psycopg()
    except ImportError:
        pass

from couples import create_app  # noqa: E402
from couples.extensions import socketio  # noqa: E402

app = create_app()

if __name__ == "__main__":
    from couples.realtime import start_background_tasks
    start_background_tasks(app)
    socketio.run(app, host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "5000")),
                 allow_unsafe_werkzeug=ASYNC_MODE == "threading", debug=False, use_reloader=False)
