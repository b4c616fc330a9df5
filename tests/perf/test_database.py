"""database.Prepared: PostgreSQL plans a hot statement once per connection; SQLite runs it as is."""
import pytest
from sqlalchemy import Integer, bindparam, create_engine, literal, select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from couples.perf.prepared import Prepared

# A typed parameter, a constant SQLAlchemy binds itself (literal 41) and a labelled column.
PROBE = select((bindparam("x", type_=Integer) + literal(41)).label("answer"))


def prepared_here(conn, name):
    return conn.execute(text("SELECT count(*) FROM pg_prepared_statements WHERE name = :n"), {"n": name}).scalar()


@pytest.fixture
def pg_engine(postgres_database):
    engine = create_engine(postgres_database)
    yield engine
    engine.dispose()


def test_on_postgresql_it_is_prepared_once_per_connection_and_answers_like_the_statement(pg_engine):
    probe = Prepared("couples_test_probe", PROBE)
    with pg_engine.connect() as conn:
        assert prepared_here(conn, "couples_test_probe") == 0
        assert probe.execute(conn, {"x": 1}).first().answer == 42 == conn.execute(PROBE, {"x": 1}).scalar()
        conn.rollback()  # prepared statements outlive a transaction
        assert probe.execute(conn, {"x": -41}).first().answer == 0
        assert prepared_here(conn, "couples_test_probe") == 1


def test_a_connection_that_was_replaced_prepares_again(pg_engine, postgres_database):
    probe = Prepared("couples_test_probe", PROBE)
    with pg_engine.connect() as conn:
        assert probe.execute(conn, {"x": 1}).scalar() == 42
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    admin = create_engine(postgres_database)
    with admin.connect() as other:  # what a database restart does to a pooled connection
        assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    admin.dispose()
    with pytest.raises(OperationalError):  # the pool notices and drops the dead connection
        with pg_engine.connect() as conn:
            probe.execute(conn, {"x": 1})
    with pg_engine.connect() as conn:  # a new connection: nothing prepared there yet
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
        assert probe.execute(conn, {"x": 2}).scalar() == 43


def test_elsewhere_it_runs_the_statement_itself(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    with engine.connect() as conn:
        assert Prepared("couples_test_probe", PROBE).execute(conn, {"x": 1}).scalar() == 42
    engine.dispose()


def test_turned_off_for_a_transaction_pooler_it_runs_the_statement_itself(postgres_database, monkeypatch):
    from couples.config import engine_options
    monkeypatch.setenv("COUPLES_DB_PREPARE", "0")
    options = engine_options(postgres_database)
    assert options["execution_options"] == {"couples_prepare": False}
    engine = create_engine(postgres_database, execution_options=options["execution_options"])
    with engine.connect() as conn:
        assert Prepared("couples_test_off", PROBE).execute(conn, {"x": 1}).scalar() == 42
        assert prepared_here(conn, "couples_test_off") == 0
    engine.dispose()
    monkeypatch.delenv("COUPLES_DB_PREPARE")
    assert engine_options(postgres_database)["execution_options"] == {"couples_prepare": True}


def test_after_a_migration_changes_a_selected_type_the_connection_is_replaced_and_heals(pg_engine):
    from sqlalchemy import BigInteger, Column, MetaData, Table
    scratch = Table("couples_test_scratch", MetaData(), Column("n", Integer))
    probe = Prepared("couples_test_scratch_probe", select(scratch.c.n))
    with pg_engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS couples_test_scratch"))
        conn.execute(text("CREATE TABLE couples_test_scratch (n integer)"))
        conn.execute(text("INSERT INTO couples_test_scratch VALUES (7)"))
    try:
        with pg_engine.connect() as conn:
            assert probe.execute(conn, {}).scalar() == 7
            conn.commit()
            conn.execute(text("ALTER TABLE couples_test_scratch ALTER COLUMN n TYPE bigint"))
            conn.commit()
            with pytest.raises(DBAPIError) as failed:  # the prepared plan's result type changed
                probe.execute(conn, {})
            assert failed.value.connection_invalidated  # so realtime answers `unavailable`
        with pg_engine.connect() as conn:  # the pool hands out a new connection: prepared afresh
            assert probe.execute(conn, {}).scalar() == 7
    finally:
        with pg_engine.begin() as conn:
            conn.execute(text("DROP TABLE couples_test_scratch"))


# --------------------------------------------------------------------------- run_alone

@pytest.fixture
def app_engine(postgres_database):
    """An engine set up as the app sets it up (connections go back to the pool in transaction mode)."""
    from couples.database import configure_engine
    engine = create_engine(postgres_database)
    configure_engine(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def scratch(app_engine):
    with app_engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS couples_test_alone"))
        conn.execute(text("CREATE TABLE couples_test_alone (n integer PRIMARY KEY)"))
    yield
    with app_engine.begin() as conn:
        conn.execute(text("DROP TABLE couples_test_alone"))


INSERT = Prepared("couples_test_insert", text(
    "INSERT INTO couples_test_alone (n) VALUES (:n) RETURNING n + 1 AS next").bindparams(bindparam("n", type_=Integer)))


def test_alone_it_commits_by_itself_and_answers_with_named_columns(app_engine, scratch):
    assert INSERT.can_run_alone(app_engine)
    assert INSERT.run_alone(app_engine, {"n": 1}).next == 2
    with app_engine.connect() as other:  # committed: another connection sees it
        assert other.execute(text("SELECT count(*) FROM couples_test_alone")).scalar() == 1
    with app_engine.connect() as conn:  # the pooled connection went back in transaction mode
        assert conn.connection.dbapi_connection.autocommit is False


def test_alone_a_broken_rule_is_sqlalchemys_error_and_changes_nothing(app_engine, scratch):
    from sqlalchemy.exc import IntegrityError
    INSERT.run_alone(app_engine, {"n": 5})
    with pytest.raises(IntegrityError):
        INSERT.run_alone(app_engine, {"n": 5})
    assert INSERT.run_alone(app_engine, {"n": 6}).next == 7  # the connections still work
    with app_engine.connect() as conn:
        assert conn.execute(text("SELECT array_agg(n ORDER BY n) FROM couples_test_alone")).scalar() == [5, 6]


def test_alone_a_lost_connection_is_reported_as_invalidated_and_the_next_call_reconnects(app_engine, scratch,
                                                                                         postgres_database):
    probe = Prepared("couples_test_alone_pid", select(text("pg_backend_pid() AS pid")))
    pid = probe.run_alone(app_engine, {}).pid
    admin = create_engine(postgres_database)
    with admin.connect() as other:  # what a database restart does to a pooled connection
        assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    admin.dispose()
    with pytest.raises(OperationalError) as lost:
        probe.run_alone(app_engine, {})
    assert lost.value.connection_invalidated  # so realtime answers `unavailable`, and the client resends
    assert probe.run_alone(app_engine, {}).pid != pid  # a new connection, prepared afresh


def test_alone_only_where_statements_are_prepared(tmp_path, postgres_database):
    sqlite = create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    pooler = create_engine(postgres_database, execution_options={"couples_prepare": False})
    assert not INSERT.can_run_alone(sqlite) and not INSERT.can_run_alone(pooler)
    sqlite.dispose()
    pooler.dispose()


def test_alone_a_database_that_cannot_be_reached_is_sqlalchemys_error(postgres_database):
    from couples.database import configure_engine
    unreachable = create_engine(postgres_database.replace("127.0.0.1:5432", "127.0.0.1:9"),
                                connect_args={"connect_timeout": 2})
    configure_engine(unreachable)
    with pytest.raises(OperationalError):  # what realtime answers as `unavailable`
        Prepared("couples_test_probe", PROBE).run_alone(unreachable, {"x": 1})
    unreachable.dispose()
