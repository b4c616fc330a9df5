"""database.Prepared: PostgreSQL plans a hot statement once per connection; SQLite runs it as is."""
import pytest
from sqlalchemy import Integer, bindparam, create_engine, literal, select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from couples.database import Prepared

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
