"""A revocation trial against served processes: the partners keep acting while one of them
revokes the therapist's consent over HTTP, and the log says which events came from actions sent
after the revoke was acknowledged. None of those may ever reach the therapist's socket."""
import random
import threading
import time
from types import SimpleNamespace

from .checks import Log
from .clients import Peer, new_id
from .people import Api, seed_session


def _connect(name, role, token, session_id, url):
    peer = Peer(name, role, token, session_id, url)
    peer.connect(url)
    return peer


def revocation_trial(app, urls, db_url, rng: random.Random) -> SimpleNamespace:
    """One trial. `urls`: the processes (Alice on the first, Bob on the second, Theo on the last,
    the revoke sent to the first). Returns what the therapist was sent after the revoke's ack
    (`leaked`, must be empty) and how many actions that covered."""
    first, second, last = urls[0], urls[min(1, len(urls) - 1)], urls[-1]
    world = seed_session(app, first)
    alice = _connect("alice", "a", world.tokens["alice"], world.session_id, first)
    bob = _connect("bob", "b", world.tokens["bob"], world.session_id, second)
    theo = _connect("theo", "therapist", world.tokens["theo"], world.session_id, last)
    revoked = threading.Event()
    theo.sio.on("revoked", lambda *_: revoked.set())
    sent: list[tuple[str, float]] = []  # (client id, when it was sent)
    stop = threading.Event()

    def send(peer, kind, data=None):
        cid = new_id(peer.role)
        sent.append((cid, time.monotonic()))
        peer.pending = None  # never resend: each action is its own, timed
        return peer.act(kind, data=data, client_id=cid)

    def drive():
        """Pause (with a private reason the therapist may read), then both ready: again and again."""
        i = 0
        while not stop.is_set():
            i += 1
            send(bob, "pause", {"reason": f"private reason {i}"})
            send(bob, "ready")
            send(alice, "ready")

    driver = threading.Thread(target=drive, daemon=True)
    driver.start()
    time.sleep(rng.uniform(0.05, 0.5))
    link = Api(first, world.tokens["alice"]).call("GET", "/api/v1/couple")["therapists"][0]["id"]
    Api(first, world.tokens["alice"]).call("POST", f"/api/v1/couple/therapists/{link}/revoke", {})
    acknowledged = time.monotonic()
    time.sleep(0.4)  # the partners go on acting after the revoke
    stop.set()
    driver.join(10)
    cut = revoked.wait(5)
    time.sleep(0.2)  # anything still on its way to the therapist arrives
    for peer in (alice, bob, theo):
        peer.close()

    log = Log(db_url, world.session_id)
    after_ids = {cid for cid, at in sent if cid and at > acknowledged}
    last_seq, after_globals = 0, set()
    for action in log.actions:  # each action wrote the events after the previous one's, up to its seq
        if action["client_id"] in after_ids:
            after_globals.update(range(last_seq + 1, action["seq"] + 1))
        last_seq = action["seq"]
    visible = log.visible("therapist")
    forbidden = {e["seq"] for e in visible if e["global"] in after_globals}
    leaked = sorted(set(theo.log) & forbidden)
    return SimpleNamespace(leaked=[theo.log[s] for s in leaked], cut=cut, after_actions=len(after_ids),
                           after_events=len(forbidden), problems=alice.problems + bob.problems)
