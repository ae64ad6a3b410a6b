"""The store: tables created on first use, and the database URL taken from the environment."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import inspect

from dlcore.config import get_settings, reset_settings
from dlcore.store import ModelRow, get_store, reset_stores, utcnow

TABLES = {"datasets", "models", "jobs", "job_events"}


@pytest.fixture
def restore_environment(workspace):
    """Put the session's settings and stores back after a test that changes the environment."""
    saved = {k: os.environ.get(k) for k in ("DLCORE_DATABASE_URL", "DLCORE_HOME")}
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    reset_settings()
    reset_stores()
    assert get_settings().home == workspace.resolve()


def test_sqlite_url_creates_the_tables(tmp_path):
    url = f"sqlite:///{tmp_path / 'sub' / 'store.db'}"
    store = get_store(url)
    try:
        assert (tmp_path / "sub" / "store.db").is_file()
        assert set(inspect(store.engine).get_table_names()) >= TABLES
        assert get_store(url) is store  # one store per URL in a process
        with store.session() as session:
            session.add(ModelRow(id="m-1", name="n", task="binary", path="/x", created=utcnow()))
            session.commit()
        with store.session() as session:
            assert session.get(ModelRow, "m-1").name == "n"
        with store.engine.connect() as connection:
            mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        assert mode == "wal"
    finally:
        store.dispose()


def test_database_url_from_the_environment(tmp_path, restore_environment, workspace):
    default = get_store()
    assert default.url == f"sqlite:///{workspace.resolve() / 'dlcore.db'}"
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    os.environ["DLCORE_DATABASE_URL"] = url
    assert get_settings().database_url != url  # settings are read once ...
    reset_settings()
    assert get_settings().database_url == url  # ... until they are reset
    store = get_store()
    assert store.url == url
    assert store is not default
    assert (tmp_path / "elsewhere.db").is_file()
    assert set(inspect(store.engine).get_table_names()) >= TABLES


def test_workspace_home_from_the_environment(tmp_path, restore_environment):
    os.environ["DLCORE_HOME"] = str(tmp_path / "home")
    os.environ.pop("DLCORE_DATABASE_URL", None)
    reset_settings()
    settings = get_settings()
    assert settings.home == (tmp_path / "home").resolve()
    assert settings.models_dir == settings.home / "models"
    assert settings.database_url == f"sqlite:///{settings.home / 'dlcore.db'}"


def test_malformed_limit_is_a_config_error(restore_environment, monkeypatch):
    from dlcore.errors import ConfigError

    monkeypatch.setenv("DLCORE_MAX_UPLOAD_MB", "lots")
    reset_settings()
    with pytest.raises(ConfigError, match="DLCORE_MAX_UPLOAD_MB"):
        get_settings()
    monkeypatch.setenv("DLCORE_MAX_UPLOAD_MB", "0")
    reset_settings()
    with pytest.raises(ConfigError, match="at least 1"):
        get_settings()


def test_jobs_are_reaped_by_heartbeat_age(isolated_workspace):
    """SQLite (one machine, one clock): a job silent for longer than the limit is failed; one
    whose worker beats, one that never beat (still queued) and a finished one are left alone."""
    import datetime as dt

    from sqlalchemy import select

    from dlcore.store import JobRow, reap_stale_jobs
    from dlcore.training.jobs import _claim, _Heartbeat

    store = get_store()
    now = utcnow()

    def add(job_id: str, status: str, beat: dt.datetime | None, age_s: float) -> None:
        with store.session() as session:
            session.add(
                JobRow(
                    id=job_id,
                    kind="train",
                    title=job_id,
                    status=status,
                    params={},
                    backend="local",
                    progress={},
                    heartbeat=beat,
                    created=now - dt.timedelta(seconds=age_s),
                )
            )
            session.commit()

    add("j-live", "queued", None, 10)
    add("j-waiting", "queued", None, 5)
    add("j-done", "succeeded", now - dt.timedelta(hours=2), 7200)
    assert _claim("j-live", 4242)  # before the silent one holds a slot
    add("j-silent", "running", now - dt.timedelta(seconds=200), 300)
    beat = _Heartbeat("j-live", interval_s=60)
    with beat:
        pass
    beat.thread.join(10)
    assert reap_stale_jobs(store.engine, stale_after_s=90) == 1
    with store.session() as session:
        rows = {r.id: r for r in session.scalars(select(JobRow))}
    assert {k: r.status for k, r in rows.items()} == {
        "j-live": "running",
        "j-silent": "failed",
        "j-waiting": "queued",
        "j-done": "succeeded",
    }
    assert abs((utcnow() - rows["j-live"].heartbeat).total_seconds()) < 30
    assert "heartbeat" in rows["j-silent"].error
    assert reap_stale_jobs(store.engine, stale_after_s=90) == 0  # once
