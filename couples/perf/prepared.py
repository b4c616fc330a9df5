"""Server-side prepared statements for the few statements every turn runs (PostgreSQL), and
running one of them alone, straight through the driver. Off: COUPLES_PERF_OFF=prepared (or
COUPLES_DB_PREPARE=0, behind a pooler that shares connections per transaction)."""
import collections
import re

from sqlalchemy import column, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import NullType

from . import enabled

_PLAN_CHANGED = "0A000"  # feature_not_supported: "cached plan must not change result type"


class Prepared:
    """A hot-path statement that PostgreSQL parses and plans once per connection, not per call.

    On PostgreSQL the first use on a connection sends `PREPARE name (types) AS <statement>`, and
    every call sends `EXECUTE name (values)` (what it saves: docs/performance.md). psycopg2 has no
    server-side prepare of its own, and psycopg 3's does not cooperate with eventlet.
    Prepared statements live as long as their connection (a ROLLBACK keeps them), so which are
    ready is kept in the pool's per-connection `info`, which SQLAlchemy clears when it replaces
    a connection. They need session pooling: behind PgBouncer in transaction mode, turn them off
    (COUPLES_DB_PREPARE=0, the engine's `couples_prepare` execution option). Elsewhere (SQLite),
    or turned off, the statement simply runs as it is. A migration that changes the type of a
    column the statement selects costs each pooled connection one failed call, then it heals."""

    _BIND = re.compile(r"%\((\w+)\)s")

    def __init__(self, name: str, statement):
        self.name, self.statement, self._pg, self._rows = name, statement, None, {}

    def execute(self, conn: Connection, params: dict):
        if not self._on(conn.dialect.name, conn.get_execution_options()):
            return conn.execute(self.statement, params)
        prepare, execute, constants, _ = self._pg or self._compile(conn.dialect)
        ready = conn.connection.info.setdefault("couples_prepared", set())
        if self.name not in ready:
            cursor = conn.connection.dbapi_connection.cursor()
            try:
                cursor.execute(prepare)  # no parameters: psycopg2 sends it as written
            finally:
                cursor.close()
            ready.add(self.name)
        try:
            return conn.execute(execute, {**constants, **params})
        except DBAPIError as err:
            if getattr(err.orig, "pgcode", None) == _PLAN_CHANGED:
                # A migration changed a selected column's type under this process: this connection's
                # statement can never run again. Replace the connection (the next one prepares
                # afresh) and report the database as briefly unavailable; the client resends.
                conn.invalidate()
                err.connection_invalidated = True
            raise

    def can_run_alone(self, engine: Engine) -> bool:
        return self.available(engine)

    @classmethod
    def available(cls, engine: Engine) -> bool:
        """Do prepared statements run on this engine (PostgreSQL, and not turned off)?"""
        return cls._on(engine.dialect.name, engine.get_execution_options())

    @staticmethod
    def _on(dialect: str, options) -> bool:
        return dialect == "postgresql" and options.get("couples_prepare", True) and enabled("prepared")

    def run_alone(self, engine: Engine, params: dict, all_rows: bool = False):
        """Run the statement by itself on a pooled connection of its own, in autocommit mode,
        straight through the driver; returns its first row (attributes by column name) or None
        (also for a statement that returns no rows); with `all_rows`, a list of every row.

        For a statement that is a whole request's work (a joined partner's turn): around one
        statement, the Session and Core's execution context cost as much client CPU as the driver's
        own work. Only where `can_run_alone` (PostgreSQL, prepared). Errors are raised as
        SQLAlchemy's, as Connection.execute raises them; a lost connection is invalidated and the
        pool replaced, as SQLAlchemy does on a disconnect, so the next request reconnects."""
        prepare, _, constants, sql = self._pg or self._compile(engine.dialect)
        driver = engine.dialect.loaded_dbapi
        try:
            fairy = engine.raw_connection()
        except driver.Error as err:  # the pool does not wrap a failed connect; Connection does
            raise DBAPIError.instance(None, None, err, driver.Error, dialect=engine.dialect) from err
        dbapi = fairy.dbapi_connection
        cursor = None
        try:
            dbapi.autocommit = True  # undone when the connection goes back (configure_engine)
            cursor = dbapi.cursor()
            ready = fairy.info.setdefault("couples_prepared", set())
            if self.name not in ready:
                cursor.execute(prepare)
                ready.add(self.name)
            cursor.execute(sql, {**constants, **params})
            if cursor.description is None:  # a write with no RETURNING: no row to give
                return [] if all_rows else None
            if all_rows:
                row_type = self._row_type(tuple(d[0] for d in cursor.description))
                return [row_type(*r) for r in cursor.fetchall()]
            first = cursor.fetchone()
            if first is None:
                return None
            return self._row_type(tuple(d[0] for d in cursor.description))(*first)
        except driver.Error as err:
            lost = bool(engine.dialect.is_disconnect(err, dbapi, cursor) or getattr(dbapi, "closed", 0))
            if lost or getattr(err, "pgcode", None) == _PLAN_CHANGED:
                fairy.invalidate(err)
                if lost:
                    engine.dispose()
            raise DBAPIError.instance(sql, params, err, driver.Error,
                                      connection_invalidated=lost, dialect=engine.dialect) from err
        finally:
            try:
                if cursor is not None:
                    cursor.close()
                fairy.close()  # back to the pool (or gone, if invalidated)
            except driver.Error as err:  # a connection that broke on the way back: never reused
                fairy.invalidate(err)

    def _row_type(self, columns: tuple):
        found = self._rows.get(columns)
        if found is None:
            found = self._rows[columns] = collections.namedtuple(f"{self.name}_row", columns, rename=True)
        return found

    def _compile(self, dialect):
        compiled = self.statement.compile(dialect=dialect)
        sql = str(compiled)
        order = list(dict.fromkeys(self._BIND.findall(sql)))
        body = self._BIND.sub(lambda m: f"${order.index(m.group(1)) + 1}", sql).replace("%%", "%")
        binds = {name: bind for bind, name in compiled.bind_names.items()}  # as rendered: param_1
        types = ["unknown" if isinstance(binds[n].type, NullType)
                 else dialect.type_compiler_instance.process(binds[n].type) for n in order]
        args = lambda items: f" ({', '.join(items)})" if items else ""  # noqa: E731 - none: no parentheses
        execute = text(f"EXECUTE {self.name}{args([':' + n for n in order])}")
        if hasattr(self.statement, "selected_columns"):  # a SELECT: keep its result columns' types
            execute = execute.columns(*(column(c.key, c.type) for c in self.statement.selected_columns))
        constants = {n: binds[n].effective_value for n in order
                     if binds[n].value is not None or binds[n].callable is not None}
        driver_sql = f"EXECUTE {self.name}{args([f'%({n})s' for n in order])}"  # for run_alone
        self._pg = (f"PREPARE {self.name}{args(types)} AS {body}", execute, constants, driver_sql)
        return self._pg
