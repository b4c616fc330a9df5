"""A world for a fault suite: migrated DB, served process, seeded couple, connected peers."""
from types import SimpleNamespace

from .clients import Peer
from .proxy import Proxy
from .people import seed_session
from .server import ServerProcess, free_port, migrate

NAMES = (("alice", "a"), ("bob", "b"), ("theo", "therapist"))


def make_world(tmp_path, db_url, *, server_env=None, proxy_peers=False):
    """Migrate, serve, seed, and connect Alice, Bob and Theo; with `proxy_peers` each of them
    talks to the server through a TCP proxy of its own (world.proxies[name])."""
    app = migrate(db_url)
    port = free_port()
    proxies = {name: Proxy(("127.0.0.1", port)) for name, _ in NAMES} if proxy_peers else {}
    server = ServerProcess(tmp_path, db_url, port=port, env=server_env,
                           origins=[p.url for p in proxies.values()])
    server.start()
    w = seed_session(app, server.url)
    peers = {name: Peer(name, role, w.tokens[name], w.session_id,
                        proxies[name].url if name in proxies else server.url)
             for name, role in NAMES}
    for p in peers.values():
        p.connect()
    return SimpleNamespace(app=app, server=server, w=w, db_url=db_url, proxies=proxies, **peers)
