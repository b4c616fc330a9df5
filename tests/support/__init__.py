"""Shared harness for the suites: served app processes (server.py), people and couples
(people.py), the shared PostgreSQL and Redis with the REQUIRE_SERVICES rule (services.py),
Playwright moves (browser.py), the API's error shape (errors.py); and for the fault suites, TCP
proxies that cut or black-hole connections, a throwaway PostgreSQL cluster, recording socket
clients and a bot that plays either partner from its view, and invariant checks that read the
database."""
