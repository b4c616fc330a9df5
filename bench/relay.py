"""The bare Flask-SocketIO relay: the floor the app is measured against.

It speaks the app's wire shape (connect, "join" -> ack, "action" -> ack {ok, seq}, then one message
to the room: the app sends each viewer one "update", the relay one "event") with nothing else: no
auth, no validation, no storage. `seq` is an in-memory counter.

    COUPLES_ASYNC_MODE=gevent PORT=5301 python bench/relay.py
"""
import os

ASYNC_MODE = os.environ.get("COUPLES_ASYNC_MODE", "eventlet")
if ASYNC_MODE == "eventlet":
    import eventlet
    eventlet.monkey_patch()
elif ASYNC_MODE == "gevent":
    from gevent import monkey
    monkey.patch_all()

import itertools  # noqa: E402
from collections import defaultdict  # noqa: E402

from flask import Flask  # noqa: E402
from flask_socketio import SocketIO, join_room  # noqa: E402

app = Flask(__name__)
socketio = SocketIO(app, async_mode=ASYNC_MODE, message_queue=os.environ.get("REDIS_URL") or None,
                    cors_allowed_origins="*", logger=False, engineio_logger=False)
counters = defaultdict(lambda: itertools.count(1))  # next() on a count is atomic under the GIL


@socketio.on("join")
def on_join(data):
    join_room(str(data["session_id"]))
    return {"ok": True, "snapshot": {}, "events": []}


@socketio.on("action")
def on_action(data):
    room = str(data["session_id"])
    seq = next(counters[room])
    socketio.emit("event", {"session_id": data["session_id"], "seq": seq, "type": data.get("kind"),
                            "data": data.get("data"), "id": data.get("id")}, to=room)
    return {"ok": True, "seq": seq}


if __name__ == "__main__":
    # The app's collector settings (app.py does the same before serving): without them the relay's
    # p99 at 1,500 sockets is its own gen-2 pauses, and the app would be compared with those.
    from couples.perf.gc import tune_gc
    tune_gc()
    # eventlet.wsgi serves at most 1024 requests (= WebSockets) at once unless told otherwise.
    extra = {"max_size": int(os.environ.get("COUPLES_MAX_CONNECTIONS", "10000"))} if ASYNC_MODE == "eventlet" else {}
    socketio.run(app, host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "5301")),
                 allow_unsafe_werkzeug=ASYNC_MODE == "threading", debug=False, use_reloader=False,
                 log_output=False, **extra)
