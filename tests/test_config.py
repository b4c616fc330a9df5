"""Configuration from the environment: safe defaults, and production refuses unsafe ones."""
import pytest

from couples.config import Config, normalise_db_url


def test_a_secret_key_is_generated_once_and_kept_under_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("COUPLES_ENV", raising=False)
    first = Config(str(tmp_path)).SECRET_KEY
    assert len(first) >= 64 and (tmp_path / "secret_key").read_text().strip() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # readable by the owner only
    assert Config(str(tmp_path)).SECRET_KEY == first


def test_production_requires_a_secret_key_and_secure_cookies(tmp_path, monkeypatch):
    monkeypatch.setenv("COUPLES_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        Config(str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    cfg = Config(str(tmp_path))
    assert cfg.SESSION_COOKIE_SECURE and cfg.SESSION_COOKIE_HTTPONLY


def test_defaults_are_sqlite_under_instance_eventlet_and_explicit_origins(tmp_path, monkeypatch):
    for var in ("DATABASE_URL", "REDIS_URL", "COUPLES_ASYNC_MODE", "COUPLES_ALLOWED_ORIGINS", "COUPLES_ENV"):
        monkeypatch.delenv(var, raising=False)
    cfg = Config(str(tmp_path))
    assert cfg.SQLALCHEMY_DATABASE_URI == f"sqlite:///{tmp_path / 'couples.db'}"
    assert cfg.REDIS_URL is None and cfg.ASYNC_MODE == "eventlet"
    assert cfg.ALLOWED_ORIGINS == ["http://127.0.0.1:5000", "http://localhost:5000"]


def test_postgres_urls_use_psycopg2_which_cooperates_with_eventlet():
    assert normalise_db_url("postgres://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert normalise_db_url("postgresql://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert normalise_db_url("sqlite:///x.db") == "sqlite:///x.db"
