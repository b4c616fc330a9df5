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
    monkeypatch.setenv("COUPLES_BASE_URL", "https://couples.example.org")
    monkeypatch.setenv("COUPLES_AUDIT_KEY", "k" * 64)  # required too (tests/privacy/test_audit_chain.py)
    cfg = Config(str(tmp_path))
    assert cfg.SESSION_COOKIE_SECURE and cfg.SESSION_COOKIE_HTTPONLY


def test_defaults_are_sqlite_under_instance_eventlet_and_explicit_origins(tmp_path, monkeypatch):
    for var in ("DATABASE_URL", "REDIS_URL", "COUPLES_ASYNC_MODE", "COUPLES_ALLOWED_ORIGINS", "COUPLES_ENV", "PORT"):
        monkeypatch.delenv(var, raising=False)
    cfg = Config(str(tmp_path))
    assert cfg.SQLALCHEMY_DATABASE_URI == f"sqlite:///{tmp_path / 'couples.db'}"
    assert cfg.REDIS_URL is None and cfg.ASYNC_MODE == "eventlet"
    assert cfg.ALLOWED_ORIGINS == ["http://127.0.0.1:5000", "http://localhost:5000"]


def test_served_on_another_port_its_own_pages_may_still_open_a_socket(tmp_path, monkeypatch):
    """`PORT=5077 make run`: the room page comes from :5077, so its socket must be accepted."""
    monkeypatch.delenv("COUPLES_ALLOWED_ORIGINS", raising=False)
    monkeypatch.setenv("PORT", "5077")
    assert Config(str(tmp_path)).ALLOWED_ORIGINS == ["http://127.0.0.1:5077", "http://localhost:5077"]


def test_postgres_urls_use_psycopg2_which_cooperates_with_eventlet():
    assert normalise_db_url("postgres://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert normalise_db_url("postgresql://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert normalise_db_url("sqlite:///x.db") == "sqlite:///x.db"


def test_under_a_gevent_worker_app_py_makes_psycopg2_yield(tmp_path):
    """gunicorn -k gevent patches before it imports app.py: psycopg2 (C) needs psycogreen too, or
    every query would stop the whole process."""
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    probe = ("from gevent import monkey; monkey.patch_all(); import runpy, psycopg2.extensions as e; "
             f"runpy.run_path({str(root / 'app.py')!r}, run_name='app'); print(e.get_wait_callback() is not None)")
    env = {"PATH": "/usr/bin:/bin", "COUPLES_ASYNC_MODE": "gevent",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.db'}", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "True"
