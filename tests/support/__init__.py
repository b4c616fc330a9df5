"""Shared harness for the fault suites (tests/faults): a restartable server process, TCP proxies
that cut or black-hole connections, a throwaway PostgreSQL cluster, recording socket clients and
a bot that plays either partner from its view, and invariant checks that read the database."""
