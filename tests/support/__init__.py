"""The one harness of every suite (and the only place each of these is written):

- people.py: people and couples, straight into the database, through the pairing service, or
  over HTTP;
- server.py: served app processes (`database`, `serve`, `serve_many`, `ServerProcess`);
- clients.py: the Socket.IO clients (`SocketClient`; `LivePeer`, which records; `Peer`, which
  survives crashes; `Duo`, a bot that plays both partners);
- inprocess.py: the in-process app's configuration, API and cookie clients, a fake clock, a room
  driven through the services;
- services.py: the shared PostgreSQL and Redis with the REQUIRE_SERVICES rule;
- browser.py: Chromium through Playwright and the moves through the pages;
- errors.py: the API's error shape;
- for the fault suites: TCP proxies that cut or black-hole connections (proxy.py), a throwaway
  PostgreSQL cluster (pg.py), a driver that recovers (driver.py), invariant checks that read the
  database (checks.py, reload.py), a served world (world.py), a revocation trial (revocation.py).
"""
