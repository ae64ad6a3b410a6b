"""The audit trail on a real PostgreSQL server: the store creates triggers that refuse UPDATE
(also INSERT … ON CONFLICT DO UPDATE), DELETE, TRUNCATE and rows without a hash; the unique
constraints and the hash chain hold there too. Skipped when no PostgreSQL server binaries, no
'postgres' system account or no psycopg driver is installed."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    pytest.importorskip("psycopg")
    initdb = shutil.which("initdb") or str(BIN / "initdb")
    pg_ctl = shutil.which("pg_ctl") or str(BIN / "pg_ctl")
    if (
        not Path(initdb).exists()
        or subprocess.run(["id", "postgres"], capture_output=True).returncode
    ):
        pytest.skip("no PostgreSQL server binaries or no 'postgres' account")
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="dlcore-pg-"))  # pytest's own folders are root-only
    data = folder / "data"
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    shutil.chown(folder, "postgres") if os.geteuid() == 0 else None
    port = _free_port()
    subprocess.run(
        [*as_postgres, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=''"
    subprocess.run(
        [
            *as_postgres,
            pg_ctl,
            "-D",
            str(data),
            "-o",
            options,
            "-w",
            "-l",
            str(folder / "log"),
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={folder}&port={port}"
    finally:
        subprocess.run(
            [*as_postgres, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )


def test_postgres_audit_is_append_only_and_chained(postgres_url, monkeypatch, tmp_path):
    import psycopg
    from sqlalchemy import text

    from dlcore.config import reset_settings
    from dlcore.governance import audit
    from dlcore.store import get_store, reset_stores

    monkeypatch.setenv("DLCORE_DATABASE_URL", postgres_url)
    monkeypatch.setenv("DLCORE_HOME", str(tmp_path))
    reset_settings()
    reset_stores()
    try:
        store = get_store()
        assert store.engine.dialect.name == "postgresql"
        for i in range(5):
            audit.record(f"user{i}", "predict", role="clinician", detail={"rows": i})
        attacks = [
            "UPDATE audit SET username = 'mallory' WHERE id = 1",
            "DELETE FROM audit WHERE id = 1",
            "TRUNCATE audit",
            "INSERT INTO audit (id, at, username, role, action, object_type, object_id, detail, "
            "row_hash, prev_hash) VALUES (1, now(), 'mallory', 'admin', 'login', '', '', '{}', 'x', 'y') "
            "ON CONFLICT (id) DO UPDATE SET username = 'mallory'",
            "INSERT INTO audit (at, username, role, action, object_type, object_id, detail) "
            "VALUES (now(), 'mallory', 'admin', 'login', '', '', '{}')",
        ]
        refused = []
        for statement in attacks:
            with store.engine.connect() as connection:
                try:
                    connection.execute(text(statement))
                    connection.commit()
                except Exception as exc:  # psycopg raises RaiseException through SQLAlchemy
                    refused.append("append-only" in str(exc))
        assert refused == [True] * len(attacks)
        with store.engine.connect() as connection:
            who = connection.execute(text("SELECT username FROM audit ORDER BY id")).scalars().all()
        assert who == [f"user{i}" for i in range(5)]
        report = audit.verify_chain()
        assert report.rows == 5 and report.ok, report.problems
        # Someone with superuser rights drops the trigger and edits a row: the chain says so.
        raw = postgres_url.replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(
            raw.replace("postgres@/postgres?", "postgres@/postgres?"), autocommit=True
        ) as connection:
            connection.execute("ALTER TABLE audit DISABLE TRIGGER audit_no_change")
            connection.execute("UPDATE audit SET username = 'mallory' WHERE id = 2")
            connection.execute("ALTER TABLE audit ENABLE TRIGGER audit_no_change")
        assert audit.verify_chain().problems == ["row 2's content does not match its hash (edited)"]
    finally:
        reset_stores()
        monkeypatch.undo()
        reset_settings()
