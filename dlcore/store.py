"""The database: SQLAlchemy over a SQLite file in the workspace (or any URL in DLCORE_DATABASE_URL).

It holds the index of datasets and models, and the records and progress events of training jobs.
Files (models, datasets) live in the workspace; rows here point at them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    create_engine,
    event,
    inspect,
    literal_column,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from dlcore.config import get_settings

logger = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    """The current time in UTC, without tzinfo (SQLite stores naive datetimes)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON}  # noqa: RUF012


class DatasetRow(Base):
    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[str] = mapped_column(String(20), default="table")
    rows: Mapped[int] = mapped_column(Integer, default=0)
    columns: Mapped[int] = mapped_column(Integer, default=0)
    target: Mapped[str | None] = mapped_column(String(200), nullable=True)
    task: Mapped[str | None] = mapped_column(String(20), nullable=True)
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    path: Mapped[str] = mapped_column(String(1000))
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ModelRow(Base):
    __tablename__ = "models"
    # Two registrations racing for the same name cannot both take version n: one retries.
    __table_args__ = (UniqueConstraint("name", "version", name="uq_models_name_version"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    task: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20), default="tabular")
    dataset_name: Mapped[str] = mapped_column(String(200), default="")
    dataset_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    key_metric_name: Mapped[str] = mapped_column(String(50), default="")
    key_metric_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    checksum: Mapped[str] = mapped_column(String(64), default="")
    path: Mapped[str] = mapped_column(String(1000))
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), default="train")
    title: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    backend: Mapped[str] = mapped_column(String(30), default="local")
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    model_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    started: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    finished: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    heartbeat: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    host: Mapped[str | None] = mapped_column(String(200), nullable=True)


class JobEventRow(Base):
    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    epoch: Mapped[int | None] = mapped_column(Integer, nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    display_name: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_login: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class BootstrapRow(Base):
    """Things that happen once per workspace, each claimed by inserting its row: the primary key
    lets one transaction in, so two processes creating the first account at the same moment
    cannot both succeed (the claim and the account are inserted in one transaction)."""

    __tablename__ = "bootstrap"

    claim: Mapped[str] = mapped_column(String(40), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AuditRow(Base):
    """Append-only: who did what, when, to which object and model version. Never patient values."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(20), default="")
    action: Mapped[str] = mapped_column(String(40), index=True)
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[str] = mapped_column(String(120), default="")
    model_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    model_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The hash chain: each row carries the previous row's hash (unique, so two writers racing
    # for the same predecessor cannot both append: one retries) and its own.
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    row_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ReviewSessionRow(Base):
    __tablename__ = "review_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text, default="")
    model_id: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[int] = mapped_column(Integer, default=1)
    model_name: Mapped[str] = mapped_column(String(200), default="")
    dataset_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20), default="tabular")
    threshold: Mapped[float] = mapped_column(Float, default=0.5)
    show_identifiers: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(64))
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)


class ReviewCaseRow(Base):
    __tablename__ = "review_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("review_sessions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    record_index: Mapped[str] = mapped_column(String(120))
    probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    prediction: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(Text, default="")


class ReviewDecisionRow(Base):
    __tablename__ = "review_decisions"
    # One decision per reviewer and case: a second decision updates the first.
    __table_args__ = (
        UniqueConstraint("session_id", "case_id", "reviewer", name="uq_review_decision"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("review_sessions.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int] = mapped_column(
        ForeignKey("review_cases.id", ondelete="CASCADE"), index=True
    )
    reviewer: Mapped[str] = mapped_column(String(64), index=True)
    agree: Mapped[bool] = mapped_column(Boolean)
    label: Mapped[str] = mapped_column(String(200))
    confidence: Mapped[int] = mapped_column(Integer, default=3)
    note: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Store:
    """One database: an engine, a session factory and the tables created on first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = _make_engine(url)
        Base.metadata.create_all(self.engine)
        self.notes = _migrate(self.engine)
        _protect_audit(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.reaped = reap_stale_jobs(self.engine)

    def session(self) -> Session:
        """A new ORM session; use it as a context manager and commit what you change."""
        return self.sessions()

    def dispose(self) -> None:
        """Close every pooled connection (before a process forks or a test removes the file)."""
        self.engine.dispose()


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            json_serializer=lambda obj: json.dumps(obj, default=str),
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            # WAL lets the app read while a training worker writes its progress.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(
        url, pool_pre_ping=True, json_serializer=lambda obj: json.dumps(obj, default=str)
    )


# Columns and indexes added after a database was first created: added in place (create_all
# creates missing tables, never missing columns).
_ADDED_COLUMNS = {
    "jobs": {"host": "VARCHAR(200)"},
    "audit": {"prev_hash": "VARCHAR(64)", "row_hash": "VARCHAR(64)"},
}
_UNIQUE_INDEXES = {
    "uq_models_name_version": ("models", "name, version"),
    "uq_review_decision": ("review_decisions", "session_id, case_id, reviewer"),
    "uq_audit_prev_hash": ("audit", "prev_hash"),
}


def _migrate(engine: Engine) -> list[str]:
    """Add columns and unique indexes a database created by an older version lacks.

    Returns notes for what could not be added (duplicate rows written before the constraint
    existed): ``python -m dlcore doctor`` shows them.
    """
    notes: list[str] = []
    inspector = inspect(engine)
    for table, columns in _ADDED_COLUMNS.items():
        present = {c["name"] for c in inspector.get_columns(table)}
        for column, sql_type in columns.items():
            if column not in present:
                with engine.begin() as connection:
                    connection.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}"))
    for index, (table, columns) in _UNIQUE_INDEXES.items():
        try:
            with engine.begin() as connection:
                connection.execute(
                    text(f"CREATE UNIQUE INDEX IF NOT EXISTS {index} ON {table} ({columns})")
                )
        except Exception as exc:  # duplicates from before the constraint: reported, not fatal
            notes.append(
                f"unique index {index} on {table} could not be created ({type(exc).__name__})"
            )
            logger.warning("unique index %s on %s could not be created", index, table)
    return notes


AUDIT_REFUSAL = "the audit trail is append-only"


def _protect_audit(engine: Engine) -> None:
    """Make the audit table append-only in the database itself.

    SQLite: triggers refuse UPDATE and DELETE, and an INSERT that names an existing id (what
    ``INSERT OR REPLACE`` does to rewrite a row) or carries no hash. PostgreSQL: a trigger refuses
    UPDATE (also ``INSERT … ON CONFLICT DO UPDATE``), DELETE and TRUNCATE.
    """
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            for operation in ("UPDATE", "DELETE"):
                connection.execute(
                    text(
                        f"CREATE TRIGGER IF NOT EXISTS audit_no_{operation.lower()} BEFORE "
                        f"{operation} ON audit BEGIN SELECT RAISE(ABORT, '{AUDIT_REFUSAL}'); END"
                    )
                )
            connection.execute(
                text(
                    "CREATE TRIGGER IF NOT EXISTS audit_no_replace BEFORE INSERT ON audit "
                    "WHEN NEW.row_hash IS NULL OR EXISTS (SELECT 1 FROM audit WHERE id = NEW.id) "
                    f"BEGIN SELECT RAISE(ABORT, '{AUDIT_REFUSAL}'); END"
                )
            )
        elif engine.dialect.name == "postgresql":
            for statement in POSTGRES_AUDIT_SQL:
                connection.execute(text(statement))
        else:
            logger.warning(
                "the audit table of a %s database is protected only by the hash chain",
                engine.dialect.name,
            )


POSTGRES_AUDIT_SQL = (
    "CREATE OR REPLACE FUNCTION dlcore_audit_append_only() RETURNS trigger AS $$ "
    f"BEGIN RAISE EXCEPTION '{AUDIT_REFUSAL}'; END $$ LANGUAGE plpgsql",
    "CREATE OR REPLACE FUNCTION dlcore_audit_needs_hash() RETURNS trigger AS $$ "
    "BEGIN IF NEW.row_hash IS NULL THEN "
    f"RAISE EXCEPTION '{AUDIT_REFUSAL}'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
    "DROP TRIGGER IF EXISTS audit_no_change ON audit",
    "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit "
    "FOR EACH ROW EXECUTE FUNCTION dlcore_audit_append_only()",
    "DROP TRIGGER IF EXISTS audit_no_truncate ON audit",
    "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION dlcore_audit_append_only()",
    "DROP TRIGGER IF EXISTS audit_needs_hash ON audit",
    "CREATE TRIGGER audit_needs_hash BEFORE INSERT ON audit "
    "FOR EACH ROW EXECUTE FUNCTION dlcore_audit_needs_hash()",
)

# A running job whose worker has not written a heartbeat for this long is dead, wherever it ran
# (the worker beats every HEARTBEAT_S, also while it loads data, evaluates and registers).
HEARTBEAT_S = 10.0
STALE_AFTER_S = 90.0


def stale_seconds() -> float:
    """How old a heartbeat may be before its job counts as dead (DLCORE_JOB_STALE_S, default 90)."""
    import os

    try:
        return max(1.0, float(os.environ.get("DLCORE_JOB_STALE_S") or STALE_AFTER_S))
    except ValueError:
        return STALE_AFTER_S


# The database server's own clock, in UTC without tzinfo (as the DateTime columns store it).
_SERVER_NOW = {"postgresql": "timezone('UTC', now())"}


def db_now_sql(engine: Engine) -> str:
    """SQL for 'now' when writing or judging a job's times (created, started, finished, its
    heartbeat): the database server's clock where the database is a server that workers on
    several hosts share (PostgreSQL), so hosts whose clocks disagree judge a heartbeat alike
    and a job's times and durations agree whichever host wrote them; else the bound parameter
    ``:now`` (SQLite: every reader and writer runs on the one machine that holds the file, with
    its one clock)."""
    return _SERVER_NOW.get(engine.dialect.name, ":now")


def db_now(engine: Engine) -> Any:
    """'Now' for a job's times in an ORM insert or update: the server's clock as an SQL
    expression on PostgreSQL, this process's UTC time elsewhere (see db_now_sql)."""
    sql = _SERVER_NOW.get(engine.dialect.name)
    return literal_column(sql, type_=DateTime) if sql else utcnow()


def db_clock(engine: Engine) -> dt.datetime:
    """'Now' by the clock db_now writes with, as a value: the database server's (one query) on
    PostgreSQL, this process's UTC time elsewhere. For comparing with the times a job's rows
    carry (its age, a running job's elapsed time) on a host whose own clock may be off."""
    sql = _SERVER_NOW.get(engine.dialect.name)
    if sql is None:
        return utcnow()
    with engine.connect() as connection:
        return connection.scalar(text(f"SELECT {sql}"))


def reap_stale_jobs(engine: Engine, stale_after_s: float | None = None) -> int:
    """Mark active jobs whose heartbeat is older than ``stale_after_s`` as failed; returns how many.

    Runs whenever a process opens the store, so a killed worker's job does not stay 'running'
    even when only the CLI or another host uses the database. The age is judged by the clock
    the heartbeat was written with (db_now_sql): on PostgreSQL the server's, so a reader whose
    clock runs ahead does not reap a live job of another host.
    """
    if stale_after_s is None:
        stale_after_s = stale_seconds()
    now_sql = db_now_sql(engine)
    reason = (
        f"the worker stopped sending its heartbeat (none for more than {stale_after_s:.0f} s): "
        "it was killed or its machine stopped"
    )
    params: dict[str, Any] = {"reason": reason}
    if now_sql == ":now":
        cutoff_sql = ":cutoff"
        params |= {"now": utcnow(), "cutoff": utcnow() - dt.timedelta(seconds=stale_after_s)}
    else:
        cutoff_sql = f"{now_sql} - make_interval(secs => :stale)"
        params["stale"] = float(stale_after_s)
    statement = text(
        f"UPDATE jobs SET status = 'failed', finished = {now_sql}, error = :reason "
        "WHERE status IN ('queued', 'running') AND heartbeat IS NOT NULL "
        f"AND heartbeat < {cutoff_sql}"
    )
    if now_sql == ":now":
        statement = statement.bindparams(
            bindparam("now", type_=DateTime), bindparam("cutoff", type_=DateTime)
        )
    with engine.begin() as connection:
        result = connection.execute(statement, params)
    count = int(result.rowcount or 0)
    if count:
        logger.warning("marked %d job(s) failed: no heartbeat", count)
    return count


_stores: dict[str, Store] = {}
_lock = threading.Lock()


def get_store(url: str | None = None) -> Store:
    """Return the process-wide Store for ``url`` (default: the settings' database URL)."""
    url = url or get_settings().database_url
    with _lock:
        store = _stores.get(url)
        if store is None:
            store = Store(url)
            _stores[url] = store
            logger.debug("opened store %s", url.split("://", 1)[0])
        return store


def reset_stores() -> None:
    """Dispose of every open store (tests switch workspaces between cases)."""
    with _lock:
        for store in _stores.values():
            store.dispose()
        _stores.clear()
