"""The store against a real PostgreSQL server (the pgserver wheel's binaries, started here):
tables, the atomic job claim under concurrent workers, unique model versions and review
decisions, and the append-only audit trail with its hash chain."""

from __future__ import annotations

import datetime as dt
import tempfile
import threading

import pytest
from sqlalchemy import select, text

pgserver = pytest.importorskip("pgserver", reason="the pgserver wheel is not installed")


@pytest.fixture(scope="module")
def postgres_url():
    """A running PostgreSQL server with an empty database; its SQLAlchemy URL."""
    folder = tempfile.mkdtemp(prefix="dlcore-pg-")
    try:
        server = pgserver.get_server(folder, cleanup_mode="stop")
    except Exception as exc:  # no server binaries for this platform
        pytest.skip(f"PostgreSQL could not be started here: {type(exc).__name__}: {exc}")
    server.psql("CREATE DATABASE dlcore_test;")
    url = f"postgresql+psycopg://postgres:@/dlcore_test?host={folder}"
    yield url
    server.cleanup()


@pytest.fixture
def on_postgres(postgres_url, monkeypatch):
    """The engine's settings pointed at PostgreSQL for one test, then back."""
    from dlcore.config import reset_settings
    from dlcore.store import get_store, reset_stores

    monkeypatch.setenv("DLCORE_DATABASE_URL", postgres_url)
    reset_settings()
    reset_stores()
    store = get_store()
    assert store.engine.dialect.name == "postgresql"
    yield store
    reset_stores()
    monkeypatch.delenv("DLCORE_DATABASE_URL")
    reset_settings()


def _queued_jobs(store, n: int, tag: str) -> list[str]:
    from dlcore.store import JobRow, utcnow

    start = utcnow()
    ids = [f"j-{tag}-{i:02d}" for i in range(n)]
    with store.session() as session:
        for i, job_id in enumerate(ids):
            session.add(
                JobRow(
                    id=job_id,
                    kind="train",
                    title=job_id,
                    status="queued",
                    params={},
                    backend="local",
                    progress={},
                    created=start + dt.timedelta(milliseconds=i),
                )
            )
        session.commit()
    return ids


def test_the_job_claim_never_runs_more_than_the_limit_under_concurrent_workers(
    on_postgres, monkeypatch
):
    from dlcore.config import reset_settings
    from dlcore.store import JobRow
    from dlcore.training.jobs import _claim

    monkeypatch.setenv("DLCORE_MAX_CONCURRENT_JOBS", "2")
    reset_settings()
    with on_postgres.session() as session:
        session.execute(text("DELETE FROM jobs"))
        session.commit()
    ids = _queued_jobs(on_postgres, 12, "claim")
    barrier = threading.Barrier(len(ids))
    claimed: list[str] = []

    def worker(job_id: str) -> None:
        barrier.wait()
        for _ in range(5):
            if _claim(job_id, 1000):
                claimed.append(job_id)
                return

    threads = [threading.Thread(target=worker, args=(job_id,)) for job_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with on_postgres.session() as session:
        running = session.scalars(select(JobRow.id).where(JobRow.status == "running")).all()
    assert len(running) <= 2, running
    assert sorted(running) == sorted(claimed)
    # oldest first: whoever got a slot was at the head of the queue
    assert sorted(running) == ids[: len(running)]


def test_concurrent_registrations_get_distinct_versions(on_postgres, tiny_binary):
    from dlcore.registry import list_models, register

    card = {"name": "pg concurrent", "layout": tiny_binary.record and _layout(tiny_binary)}
    versions: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            versions.append(register(tiny_binary.result.model, dict(card)).version)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sorted(versions) == list(range(1, 11))
    assert sorted(m.version for m in list_models() if m.name == "pg concurrent") == list(
        range(1, 11)
    )


def _layout(outcome) -> dict:
    return outcome.result.layout.to_dict()


def test_one_decision_per_case_and_reviewer_is_enforced_by_the_database(on_postgres):
    from dlcore.store import ReviewCaseRow, ReviewDecisionRow, ReviewSessionRow

    with on_postgres.session() as session:
        session.add(
            ReviewSessionRow(
                id="r-pg", name="pg review", model_id="m-x", dataset_id="d-x", created_by="t"
            )
        )
        session.commit()
        case = ReviewCaseRow(session_id="r-pg", position=0, record_index="0")
        session.add(case)
        session.commit()
        case_id = case.id
    rows = [
        ReviewDecisionRow(
            session_id="r-pg", case_id=case_id, reviewer="dr a", agree=True, label="1"
        ),
        ReviewDecisionRow(
            session_id="r-pg", case_id=case_id, reviewer="dr a", agree=False, label="0"
        ),
    ]
    with on_postgres.session() as session:
        session.add(rows[0])
        session.commit()
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), on_postgres.session() as session:
        session.add(rows[1])
        session.commit()


def test_the_audit_trail_is_append_only_and_chained_on_postgres(on_postgres):
    from sqlalchemy.exc import DBAPIError

    from dlcore.governance.audit import record, verify_chain

    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            record(f"user{i}", "login", role="admin")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    report = verify_chain()
    assert report.ok and report.rows >= 10
    for statement in (
        "UPDATE audit SET username = 'mallory' WHERE id = (SELECT MIN(id) FROM audit)",
        "DELETE FROM audit",
        "TRUNCATE audit",
        "INSERT INTO audit (at, username, role, action, object_type, object_id, detail) "
        "VALUES (now(), 'mallory', 'admin', 'login', '', '', '{}')",
    ):
        with pytest.raises(DBAPIError, match="append-only"), on_postgres.engine.begin() as conn:
            conn.execute(text(statement))
    assert verify_chain().ok


def test_heartbeats_are_judged_by_the_servers_clock_across_skewed_hosts(on_postgres, monkeypatch):
    """A worker whose clock runs 10 minutes slow and a reaper whose clock runs 10 minutes fast
    (two hosts, one database): the live job is kept, the one silent for 200 s is reaped."""
    import dlcore.store
    from dlcore.store import JobRow, reap_stale_jobs, utcnow
    from dlcore.training import jobs

    with on_postgres.session() as session:
        session.execute(text("DELETE FROM job_events"))
        session.execute(text("DELETE FROM jobs"))
        session.commit()
    live, silent, queued = _queued_jobs(on_postgres, 3, "clock")
    true_utcnow = utcnow
    skew = dt.timedelta(minutes=10)
    for module in (jobs, dlcore.store):  # the worker's host
        monkeypatch.setattr(module, "utcnow", lambda: true_utcnow() - skew)
    assert jobs._claim(live, 4242)
    beat = jobs._Heartbeat(live, interval_s=60)
    with beat:
        pass
    beat.thread.join(10)
    with on_postgres.session() as session:
        age = session.scalar(
            text(
                "SELECT EXTRACT(EPOCH FROM timezone('UTC', now()) - heartbeat) FROM jobs "
                "WHERE id = :id"
            ),
            {"id": live},
        )
        session.execute(
            text(
                "UPDATE jobs SET status = 'running', "
                "heartbeat = timezone('UTC', now()) - interval '200 seconds' WHERE id = :id"
            ),
            {"id": silent},
        )
        session.commit()
    assert abs(float(age)) < 30  # the server's clock, not the worker's 10 minutes slow one

    monkeypatch.setattr(dlcore.store, "utcnow", lambda: true_utcnow() + skew)  # the reaper's
    assert reap_stale_jobs(on_postgres.engine, stale_after_s=90) == 1
    with on_postgres.session() as session:
        status = dict(session.execute(select(JobRow.id, JobRow.status)).all())
        error = session.scalar(select(JobRow.error).where(JobRow.id == silent))
    assert status == {live: "running", silent: "failed", queued: "queued"}
    assert "heartbeat" in error


def test_twelve_racers_for_the_first_account_one_wins_on_postgres(on_postgres, monkeypatch):
    """The bootstrap claim is a primary key: on PostgreSQL a second inserter waits for the
    first's transaction, then fails on it; exactly one first account, one creation audited."""
    from dlcore.errors import UserError
    from dlcore.governance import accounts
    from dlcore.governance.accounts import FirstAccountTakenError, create_user
    from dlcore.governance.audit import verify_chain

    monkeypatch.setenv("DLCORE_AUTH", "local")
    saw_none: list[bool] = []  # racers whose check found no account: they raced for the claim
    check = accounts.has_accounts

    def recorded_check() -> bool:
        seen = check()
        saw_none.append(not seen)
        return seen

    monkeypatch.setattr(accounts, "has_accounts", recorded_check)
    with on_postgres.session() as session:
        session.execute(text("DELETE FROM users"))
        session.execute(text("DELETE FROM bootstrap"))
        session.commit()
    racers = 12
    barrier = threading.Barrier(racers)
    outcomes: dict[int, BaseException | None] = {}

    def racer(i: int) -> None:
        barrier.wait()
        try:
            create_user(f"pgadmin{i}", "admin", "first admin passphrase")
            outcomes[i] = None
        except UserError as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    created = [i for i, outcome in outcomes.items() if outcome is None]
    refused = [outcome for outcome in outcomes.values() if outcome is not None]
    assert len(created) == 1 and len(refused) == racers - 1, outcomes
    assert sum(saw_none) >= 2, saw_none  # a real race: several got past the check
    print(f"{sum(saw_none)} of {racers} racers saw no account; 1 created, {len(refused)} refused")
    assert all(isinstance(r, FirstAccountTakenError) for r in refused), refused
    assert all("sign in as its admin to add accounts" in str(r) for r in refused)
    winner = f"pgadmin{created[0]}"
    with on_postgres.session() as session:
        users = session.execute(text("SELECT username FROM users")).scalars().all()
        claims = session.execute(text("SELECT claim, username FROM bootstrap")).all()
        creations = session.execute(
            text(
                "SELECT username, object_id FROM audit WHERE action = 'user_create' "
                "AND object_id LIKE 'pgadmin%'"
            )
        ).all()
    assert users == [winner]
    assert [tuple(c) for c in claims] == [("first_account", winner)]
    assert [tuple(c) for c in creations] == [(winner, winner)]
    assert verify_chain().ok


def test_job_times_are_the_servers_clock_on_skewed_hosts(on_postgres, monkeypatch, breast_cancer):
    """A job submitted and claimed on a host whose clock runs 10 minutes fast and finished on
    one 10 minutes slow: created, started and finished are the server's time, the launch grace
    holds, and the durations shown are the true, non-negative ones."""
    import dlcore.store
    from dlcore.data.catalog import ensure_saved
    from dlcore.models.spec import default_spec
    from dlcore.store import JobEventRow, JobRow, utcnow
    from dlcore.training import jobs

    class NoWorker:
        """The local backend, without starting a worker (the times are the point)."""

        name = "local"

        def launch(self, job_id: str) -> int | None:
            return None

        def is_alive(self, job) -> bool:
            return False

        def terminate(self, job) -> None:
            pass

    def server_now() -> dt.datetime:
        with on_postgres.engine.connect() as connection:
            return connection.scalar(text("SELECT timezone('UTC', now())"))

    def host_clock(offset: dt.timedelta) -> None:
        for module in (jobs, dlcore.store):
            monkeypatch.setattr(module, "utcnow", lambda: true_utcnow() + offset)
        for column in (JobRow.__table__.c.created, JobEventRow.__table__.c.created):
            monkeypatch.setattr(column.default, "arg", lambda _context: true_utcnow() + offset)

    def near_server(moment: dt.datetime | None) -> bool:
        return moment is not None and abs((moment - server_now()).total_seconds()) < 5

    with on_postgres.session() as session:
        session.execute(text("DELETE FROM job_events"))
        session.execute(text("DELETE FROM jobs"))
        session.commit()
    monkeypatch.setitem(jobs._backends, "local", NoWorker())
    true_utcnow, skew = utcnow, dt.timedelta(minutes=10)
    dataset_id = ensure_saved(breast_cancer)
    spec = default_spec(breast_cancer.task, len(breast_cancer.frame))

    host_clock(+skew)  # the app's host, 10 minutes fast
    job_id = jobs.submit_training(dataset_id, spec, name="skewed", backend="local")
    cancelled = jobs.submit_training(dataset_id, spec, name="cancelled", backend="local")
    queued = jobs.get_job(job_id)
    assert near_server(queued.created) and queued.read_at is not None
    assert jobs.reap_jobs() == 0  # just submitted (no pid yet): inside the launch grace
    assert jobs.get_job(job_id).status == "queued"
    assert jobs._claim(job_id, 4242)
    running = jobs.get_job(job_id)
    assert near_server(running.started) and running.started >= running.created
    assert 0.0 <= running.elapsed_s < 5, running.elapsed_s  # not the host's 600 s
    stopped = jobs.cancel_job(cancelled)
    assert stopped.status == "cancelled" and near_server(stopped.finished)

    host_clock(-skew)  # the worker's host, 10 minutes slow
    jobs._finish(job_id, status="succeeded")
    done = jobs.get_job(job_id)
    assert near_server(done.finished) and done.finished >= done.started
    assert 0.0 <= done.elapsed_s < 5, done.elapsed_s
    listed = {j.id: j for j in jobs.list_jobs()}
    assert listed[job_id].elapsed_s == done.elapsed_s
    assert [j.id for j in jobs.list_jobs()] == [cancelled, job_id]  # newest first, server time
    print(
        f"hosts ±10 min: created→started {(done.started - done.created).total_seconds():.2f} s, "
        f"duration {done.elapsed_s:.2f} s, finished {(server_now() - done.finished).total_seconds():.2f} s ago"
    )
