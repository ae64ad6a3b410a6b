"""Training outside the Streamlit script: jobs in the store, run by worker processes.

A job is a row in the store (queued → running → succeeded | failed | cancelled | interrupted)
with its progress and per-epoch events. ``submit_training`` records the job and asks a backend
to start a worker for it; the worker waits for a free slot (at most ``DLCORE_MAX_CONCURRENT_JOBS``
run at once, oldest first), trains through ``dlcore.training.pipeline.train_and_register`` and writes
progress as it goes. The page only reads the store, so changing page, reloading the browser or a
second user never stops or loses a run. A cancel is a flag the worker reads during training; a
worker that dies is found by ``reap_jobs`` and its job marked with the reason.

Backends share one small interface (``JobBackend``): the local-process backend is here, the Ray
backend (``DLCORE_JOBS_BACKEND=ray``) in ``dlcore.training.ray_backend``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import DateTime, bindparam, select, text, update

from dlcore.config import get_settings
from dlcore.errors import NotFoundError, UserError
from dlcore.fsutil import new_id
from dlcore.governance.accounts import Account, acting, refresh
from dlcore.store import (
    HEARTBEAT_S,
    JobEventRow,
    JobRow,
    db_clock,
    db_now,
    db_now_sql,
    get_store,
    reap_stale_jobs,
    utcnow,
)

logger = logging.getLogger(__name__)

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, INTERRUPTED = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
    "interrupted",
)
ACTIVE = (QUEUED, RUNNING)
CLAIM_POLL_S = 1.0
CANCEL_POLL_S = 0.5
LAUNCH_GRACE_S = 30.0
# A running job that has not stopped this long after a cancel (it was loading data, building the
# network, evaluating or registering: phases with no batch to check the flag at) gets SIGTERM.
CANCEL_GRACE_S = 2.0


def this_host() -> str:
    """The machine's name: a worker's pid means something only on the host that started it.

    A Ray task names its node too (DLCORE_NODE_NAME), so a job says where it ran."""
    import socket

    return (os.environ.get("DLCORE_NODE_NAME") or socket.gethostname())[:200]


@dataclass
class JobInfo:
    """A job as pages show it."""

    id: str
    kind: str
    title: str
    status: str
    params: dict[str, Any]
    progress: dict[str, Any]
    error: str | None
    model_id: str | None
    result: dict[str, Any]
    cancel_requested: bool
    created: dt.datetime
    started: dt.datetime | None
    finished: dt.datetime | None
    backend: str = "local"
    pid: int | None = None
    host: str | None = None
    heartbeat: dt.datetime | None = None
    # When the row was read, by the clock its times were written with (the database server's
    # on PostgreSQL): a running job's elapsed time does not depend on this host's clock.
    read_at: dt.datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def elapsed_s(self) -> float:
        if self.started is None:
            return 0.0
        end = self.finished or self.read_at or utcnow()
        return max(0.0, (end - self.started).total_seconds())


def _info(row: JobRow, read_at: dt.datetime | None = None) -> JobInfo:
    return JobInfo(
        id=row.id,
        kind=row.kind,
        title=row.title,
        status=row.status,
        params=dict(row.params or {}),
        progress=dict(row.progress or {}),
        error=row.error,
        model_id=row.model_id,
        result=dict(row.result or {}),
        cancel_requested=bool(row.cancel_requested),
        created=row.created,
        started=row.started,
        finished=row.finished,
        backend=row.backend,
        pid=row.pid,
        host=row.host,
        heartbeat=row.heartbeat,
        read_at=read_at,
    )


# -- backends ---------------------------------------------------------------------------------


class JobBackend(Protocol):
    """Where workers run. ``launch`` starts one for a job; the others ask about or stop it."""

    name: str

    def launch(self, job_id: str) -> int | None: ...

    def is_alive(self, job: JobInfo) -> bool: ...

    def terminate(self, job: JobInfo) -> None: ...


class LocalProcessBackend:
    """Workers as separate Python processes on this machine (``python -m dlcore.training.worker JOB``).

    A fresh interpreter per job: TensorFlow never forks, a crash never takes the app down, and a
    worker outlives the browser session (and the app process) that started it.
    """

    name = "local"

    def __init__(self) -> None:
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    def launch(self, job_id: str) -> int | None:
        settings = get_settings()
        settings.jobs_dir.mkdir(parents=True, exist_ok=True)
        log_path = settings.jobs_dir / f"{job_id}.log"
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_root, env.get("PYTHONPATH", "")) if p
        )
        env["DLCORE_HOME"] = str(settings.home)
        env["DLCORE_DATABASE_URL"] = settings.database_url
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "dlcore.training.worker", job_id],
                cwd=package_root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        with self._lock:
            self._children[process.pid] = process
        return process.pid

    def is_alive(self, job: JobInfo) -> bool:
        if not job.pid:
            return False
        with self._lock:
            child = self._children.get(job.pid)
        if child is not None:
            return child.poll() is None
        return _pid_runs_worker(job.pid, job.id)

    def terminate(self, job: JobInfo) -> None:
        if job.pid and self.is_alive(job):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(job.pid, signal.SIGTERM)


def _pid_runs_worker(pid: int, job_id: str) -> bool:
    """Whether ``pid`` is a live (not zombie) worker for ``job_id`` (guards against pid reuse)."""
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():
        try:
            status = (proc / "status").read_text()
            if "\nState:\tZ" in status:
                return False
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return False
        return "dlcore.training.worker" in cmdline and job_id in cmdline
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


_backends: dict[str, JobBackend] = {}


def get_backend(name: str | None = None) -> JobBackend:
    """The job backend by name (default from ``DLCORE_JOBS_BACKEND``, else 'local').

    Raises ConfigError when 'ray' is asked for and its cluster cannot be reached or used."""
    name = (
        name
        or os.environ.get("DLCORE_JOBS_BACKEND")
        or os.environ.get("DLCORE_JOB_BACKEND")
        or "local"
    )
    if name not in _backends:
        if name == "local":
            _backends[name] = LocalProcessBackend()
        elif name == "ray":
            from dlcore.training.ray_backend import RayBackend

            _backends[name] = RayBackend()
        else:
            raise UserError(
                f"Job backend '{name}' is unknown.",
                expected="'local' (worker processes on this machine) or 'ray' (a Ray cluster)",
                fix="set DLCORE_JOBS_BACKEND to local or ray",
            )
    return _backends[name]


# -- submitting and reading --------------------------------------------------------------------


def submit_training(
    dataset_id: str,
    spec: Any,
    *,
    name: str | None = None,
    title: str | None = None,
    backend: str | None = None,
    actor: Account | None = None,
    search: dict[str, Any] | None = None,
    cv_folds: int = 0,
) -> str:
    """Queue a training job for a saved dataset and a ModelSpec; returns the job id at once.

    ``cv_folds`` ≥ 2 cross-validates (repeated stratified k-fold) before the final model; more
    folds than the smallest class has records is refused here, before the job is queued.

    ``search`` ({"trials": N, "minutes": M}) makes it a hyperparameter search on Ray Tune around
    ``spec`` whose chosen settings are then trained and registered; its trials are job events of
    kind 'trial' (a live leaderboard).

    The worker trains as ``actor`` (re-read from the store when it starts). Raises
    PermissionDeniedError when ``actor`` may not train, NotFoundError when the dataset does not
    exist and InvalidSpecError for a bad spec.
    """
    from dlcore.data.catalog import load_dataset
    from dlcore.models.spec import check_spec
    from dlcore.registry import check_workspace_writable

    actor = acting(actor, "train")
    check_workspace_writable()

    dataset = load_dataset(dataset_id)
    check_spec(spec, dataset.task)
    if cv_folds and dataset.kind != "images":
        from dlcore.training.cv import check_folds
        from dlcore.training.fit import prepare_data

        check_folds(dataset.task or "", prepare_data(dataset).y, cv_folds)
    if search is not None:
        from dlcore.training.search import check_budget

        search = {"trials": search.get("trials"), "minutes": search.get("minutes")}
        check_budget(search["trials"], search["minutes"])
    job_backend = get_backend(backend)
    job_id = new_id("j")
    with get_store().session() as session:
        session.add(
            JobRow(
                id=job_id,
                created=db_now(get_store().engine),  # the clock every host's job times use
                kind="train",
                title=title or name or f"Train on {dataset.name}",
                status=QUEUED,
                params={
                    "dataset_id": dataset_id,
                    "spec": spec.to_dict(),
                    "name": name,
                    "task": dataset.task,
                    "dataset_name": dataset.name,
                    "actor": {"username": actor.username, "role": actor.role, "via": actor.via},
                    "search": search,
                    "cv_folds": int(cv_folds or 0),
                },
                backend=job_backend.name,
                host=this_host(),
                progress={"fraction": 0.0, "epochs": spec.epochs},
            )
        )
        session.commit()
    pid = job_backend.launch(job_id)
    with get_store().session() as session:
        session.execute(update(JobRow).where(JobRow.id == job_id).values(pid=pid))
        session.commit()
    logger.info("submitted job %s", job_id)
    return job_id


def _job_row(session: Any, job_id: str) -> JobRow:
    row = session.get(JobRow, job_id)
    if row is None:
        raise NotFoundError(
            f"There is no job '{job_id}'.",
            expected="the id of a submitted job",
            fix="pick a job from the list",
        )
    return row


def get_job(job_id: str) -> JobInfo:
    """A job by id. Raises NotFoundError when it does not exist."""
    now = db_clock(get_store().engine)
    with get_store().session() as session:
        return _info(_job_row(session, job_id), now)


def list_jobs(limit: int = 20, *, active_only: bool = False) -> list[JobInfo]:
    """The newest jobs (only queued and running ones with ``active_only``)."""
    query = select(JobRow).order_by(JobRow.created.desc(), JobRow.id.desc()).limit(limit)
    if active_only:
        query = query.where(JobRow.status.in_(ACTIVE))
    now = db_clock(get_store().engine)
    with get_store().session() as session:
        return [_info(r, now) for r in session.scalars(query).all()]


def search_leaderboard(job_id: str) -> list[dict[str, Any]]:
    """A search job's trials so far, best validation loss first: each trial's latest report."""
    latest: dict[int, dict[str, Any]] = {}
    for event in job_events(job_id, "trial"):
        latest[int(event["trial"])] = event
    return sorted(
        latest.values(),
        key=lambda t: (t.get("val_loss") is None, t.get("val_loss") or 0.0, t["trial"]),
    )


def job_events(job_id: str, kind: str = "epoch") -> list[dict[str, Any]]:
    """A job's events of one kind, oldest first (each a dict with 'epoch' and the payload)."""
    query = (
        select(JobEventRow)
        .where(JobEventRow.job_id == job_id, JobEventRow.kind == kind)
        .order_by(JobEventRow.id)
    )
    with get_store().session() as session:
        return [{"epoch": r.epoch, **(r.payload or {})} for r in session.scalars(query).all()]


def job_history(job_id: str) -> dict[str, list[float]]:
    """Per-epoch metrics of a job so far, shaped like Keras' History.history."""
    history: dict[str, list[float]] = {}
    for event in job_events(job_id):
        for key, value in (event.get("logs") or {}).items():
            history.setdefault(key, []).append(float(value))
    return history


def cancel_job(job_id: str) -> JobInfo:
    """Ask a job to stop: a queued job is cancelled at once; a running one stops at its next
    batch (the worker reads the flag every CANCEL_POLL_S), and a worker still running
    CANCEL_GRACE_S later (between batches: preparing, evaluating) is sent SIGTERM by this process.

    Returns the job as it now stands. Raises NotFoundError for an unknown id.
    """
    with get_store().session() as session:
        row = _job_row(session, job_id)
        if row.status in ACTIVE:
            row.cancel_requested = True
            if row.status == QUEUED:
                row.status, row.finished, row.error = (
                    CANCELLED,
                    db_now(get_store().engine),
                    "cancelled before it started",
                )
            session.commit()
        job = _info(row, db_clock(get_store().engine))
    if job.status == RUNNING:
        timer = threading.Timer(CANCEL_GRACE_S, _terminate_if_still_running, args=(job_id,))
        timer.daemon = True
        timer.start()
    return job


def _terminate_if_still_running(job_id: str) -> None:
    """The cancel's fallback: SIGTERM to a worker that did not stop by itself in time."""
    with contextlib.suppress(Exception):  # the job may be gone, the store busy: nothing to do
        job = get_job(job_id)
        if job.status == RUNNING and job.cancel_requested and job.host in (None, this_host()):
            logger.info("job %s did not stop within %.0f s: terminating", job_id, CANCEL_GRACE_S)
            get_backend(job.backend).terminate(job)


def reap_jobs(
    *, reason: str = "the worker process stopped unexpectedly", status: str = FAILED
) -> int:
    """Mark active jobs whose worker is gone (crashed, killed, or the machine restarted).

    Jobs of any host are judged by their heartbeat's age; jobs started on this host also by
    whether their worker process still runs. Returns how many were marked. At app start, call
    with ``status=INTERRUPTED``.
    """
    marked = reap_stale_jobs(get_store().engine)
    host = this_host()
    for job in list_jobs(limit=1000, active_only=True):
        now = job.read_at or utcnow()  # the clock the job's times were written with
        if job.pid is None and (now - job.created).total_seconds() < LAUNCH_GRACE_S:
            continue  # being submitted: the row is written before its worker is launched
        if job.host not in (None, host):
            continue  # another machine's worker: its heartbeat says whether it lives
        backend = get_backend(job.backend) if job.backend == "local" else None
        if backend is None or backend.is_alive(job):
            continue
        with get_store().session() as session:
            result = session.execute(
                update(JobRow)
                .where(JobRow.id == job.id, JobRow.status.in_(ACTIVE))
                .values(status=status, error=reason, finished=db_now(get_store().engine))
            )
            session.commit()
            marked += result.rowcount or 0
        logger.warning("job %s marked %s: %s", job.id, status, reason)
    return marked


def recover_jobs() -> int:
    """At start-up: jobs left queued or running by a previous run, with no worker, are 'interrupted'."""
    return reap_jobs(
        reason="the app or machine restarted while this job was active", status=INTERRUPTED
    )


def wait_for_job(job_id: str, timeout_s: float = 300.0, poll_s: float = 0.5) -> JobInfo:
    """Block until a job leaves the queue and finishes (or the timeout passes); returns it."""
    deadline = time.monotonic() + timeout_s
    while True:
        job = get_job(job_id)
        if not job.is_active or time.monotonic() > deadline:
            return job
        if job.status == RUNNING or job.pid:
            reap_jobs()
        time.sleep(poll_s)


# -- the worker side ---------------------------------------------------------------------------


def _claim(job_id: str, pid: int) -> bool:
    """Move the job from queued to running if a slot is free and it is the oldest queued job.

    One UPDATE statement, so two workers can never both take the last slot (SQLite serialises it).
    """
    limit = get_settings().max_concurrent_jobs
    now = db_now_sql(get_store().engine)  # the clock every host's job times and heartbeats use
    statement = text(
        f"UPDATE jobs SET status = :running, started = {now}, heartbeat = {now}, pid = :pid, "
        "host = :host "
        "WHERE id = :job_id AND status = :queued AND cancel_requested = :false "
        "AND (SELECT COUNT(*) FROM jobs WHERE status = :running) < :limit "
        "AND NOT EXISTS (SELECT 1 FROM jobs AS older WHERE older.status = :queued "
        "AND (older.created < jobs.created OR (older.created = jobs.created AND older.id < jobs.id)))"
    )
    params: dict[str, Any] = {
        "running": RUNNING,
        "queued": QUEUED,
        "pid": pid,
        "host": this_host(),
        "job_id": job_id,
        "limit": limit,
        "false": False,
    }
    if now == ":now":  # SQLite: this process's clock, the one machine's
        statement = statement.bindparams(bindparam("now", type_=DateTime))
        params["now"] = utcnow()
    with get_store().session() as session:
        result = session.execute(statement, params)
        session.commit()
        return (result.rowcount or 0) == 1


class _ProgressWriter:
    """Writes a running job's progress to the store and reads its cancel flag (throttled)."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.last_cancel_check = 0.0
        self.cancelled = False
        self.training = False  # between the 'start' and 'end' events: batches read the flag
        self.terminated = False  # SIGTERM came while training: stop at the next batch

    def on_event(self, event: Any) -> None:
        if event.kind in ("start", "end"):
            self.training = event.kind == "start"
        if event.kind == "epoch":
            # Read the cancel flag at every epoch's end: stop within one epoch.
            self.last_cancel_check = 0.0
        payload = event.to_dict()
        progress = {
            "epoch": event.epoch,
            "epochs": event.epochs,
            "batch": event.batch,
            "batches": event.batches,
            "fraction": event.fraction,
            "eta_s": event.eta_s,
            "elapsed_s": event.elapsed_s,
            "logs": payload["logs"],
            "phase": "training" if event.kind != "end" else "evaluating",
        }
        with get_store().session() as session:
            session.execute(
                update(JobRow)
                .where(JobRow.id == self.job_id)
                .values(progress=progress, heartbeat=db_now(get_store().engine))
            )
            if event.kind in ("epoch", "start", "end"):
                session.add(
                    JobEventRow(
                        job_id=self.job_id,
                        created=db_now(get_store().engine),
                        kind=event.kind,
                        epoch=event.epoch,
                        payload={
                            "logs": payload["logs"],
                            "elapsed_s": event.elapsed_s,
                            "eta_s": event.eta_s,
                        },
                    )
                )
            session.commit()

    def on_trial(self, payload: dict[str, Any]) -> None:
        """A search trial's progress: one event per report (the page keeps each trial's last)."""
        with get_store().session() as session:
            session.add(
                JobEventRow(
                    job_id=self.job_id,
                    created=db_now(get_store().engine),
                    kind="trial",
                    epoch=int(payload.get("epoch") or 0),
                    payload=payload,
                )
            )
            session.execute(
                update(JobRow)
                .where(JobRow.id == self.job_id)
                .values(heartbeat=db_now(get_store().engine))
            )
            session.commit()

    def should_stop(self) -> bool:
        now = time.monotonic()
        if now - self.last_cancel_check >= CANCEL_POLL_S:
            self.last_cancel_check = now
            with get_store().session() as session:
                self.cancelled = bool(
                    session.scalar(select(JobRow.cancel_requested).where(JobRow.id == self.job_id))
                )
        return self.cancelled or self.terminated


def _finish(job_id: str, **values: Any) -> None:
    values.setdefault("finished", db_now(get_store().engine))
    with get_store().session() as session:
        session.execute(update(JobRow).where(JobRow.id == job_id).values(**values))
        session.commit()


class _Heartbeat:
    """A thread that writes the job's heartbeat every HEARTBEAT_S while the worker lives, also
    while it waits, loads data, evaluates and registers (phases without training events)."""

    def __init__(self, job_id: str, interval_s: float = HEARTBEAT_S) -> None:
        self.job_id = job_id
        self.interval_s = interval_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def _run(self) -> None:
        while True:
            # A busy database: beat again at the next interval.
            with contextlib.suppress(Exception), get_store().session() as session:
                session.execute(
                    update(JobRow)
                    .where(JobRow.id == self.job_id, JobRow.status.in_(ACTIVE))
                    .values(heartbeat=db_now(get_store().engine))
                )
                session.commit()
            if self.stop.wait(self.interval_s):
                return

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()


class _Terminated(BaseException):
    """SIGTERM reached the worker (a cancel's fallback, or the machine shutting down)."""


_active_writer: _ProgressWriter | None = None


def _on_sigterm(signum: int, frame: Any) -> None:
    """While batches run, stop at the next one (the epoch's history is kept); in any other phase
    (loading, building, evaluating), stop at once."""
    writer = _active_writer
    if writer is not None and writer.training:
        writer.terminated = True
        return
    raise _Terminated()


def run_worker(job_id: str) -> int:
    """The body of a worker process: wait for a slot, train, record the outcome. Returns 0."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    with _Heartbeat(job_id):
        return _work(job_id)


def _work(job_id: str) -> int:
    pid = os.getpid()
    while True:
        job = get_job(job_id)
        if job.status != QUEUED or job.cancel_requested:
            if job.status == QUEUED:
                _finish(job_id, status=CANCELLED, error="cancelled before it started")
            logger.info("job %s is %s; worker exits", job_id, job.status)
            return 0
        if _claim(job_id, pid):
            break
        reap_jobs()
        time.sleep(CLAIM_POLL_S)
    global _active_writer
    writer = _active_writer = _ProgressWriter(job_id)
    try:
        try:
            outcome = _run_training(job, writer)
        finally:  # once registered, the outcome stands: a late SIGTERM no longer interrupts
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
    except _Terminated:
        cancelled = get_job(job_id).cancel_requested
        _finish(
            job_id,
            status=CANCELLED if cancelled else INTERRUPTED,
            error="cancelled by the user" if cancelled else "the worker was asked to stop",
        )
        logger.info("job %s stopped by SIGTERM", job_id)
        return 0
    except UserError as exc:  # the message is for the person who started it (it may quote
        _finish(job_id, status=FAILED, error=exc.message)  # their data); the log gets its kind
        logger.info("job %s failed: %s", job_id, type(exc).__name__)
        return 0
    except Exception as exc:  # recorded for the page; where it failed goes to the job's log file
        logger.error(
            "job %s stopped by %s\n%s",
            job_id,
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        _finish(
            job_id,
            status=FAILED,
            error=f"Training stopped by an internal error ({type(exc).__name__}: {exc}).",
        )
        return 0
    if outcome.record is None:
        _finish(job_id, status=CANCELLED, error="cancelled by the user")
        return 0
    record = outcome.record
    _finish(
        job_id,
        status=SUCCEEDED,
        model_id=record.id,
        result={
            "model_id": record.id,
            "name": record.name,
            "metrics": outcome.report.headline() if outcome.report else {},
            "best_epoch": outcome.result.best_epoch,
            "epochs_run": outcome.result.epochs_run,
            "stopped_early": outcome.result.stopped_early,
            "timings": outcome.result.timings,
            **_honest_result(outcome.summary),
        },
        progress={
            **(get_job(job_id).progress or {}),
            "fraction": 1.0,
            "eta_s": 0.0,
            "phase": "done",
        },
    )
    return 0


def _honest_result(summary: dict[str, Any] | None) -> dict[str, Any]:
    """What the job's result carries from the run's honest summary: intervals, the test counts
    ('too few cases to judge'), the baseline sentence and the cross-validated estimate."""
    summary = summary or {}
    return {
        "metrics_ci": summary.get("metrics_ci") or {},
        "test_counts": summary.get("test_counts") or {},
        "baseline_sentence": (summary.get("baseline_comparison") or {}).get("sentence", ""),
        "cross_validation": (summary.get("cross_validation") or {}).get("sentence", ""),
    }


def _run_training(job: JobInfo, writer: _ProgressWriter) -> Any:
    from dlcore.data.catalog import load_dataset
    from dlcore.models.spec import ModelSpec
    from dlcore.training.pipeline import train_and_register

    params = job.params
    actor = None
    if params.get("actor"):  # the account that submitted the job, as the store has it now
        actor = refresh(Account(**params["actor"]))
        if actor is None:
            raise UserError(
                "The account that started this job has been disabled or removed.",
                expected="an active account",
                fix="start the training again from an active account",
            )
    dataset = load_dataset(params["dataset_id"])
    spec = ModelSpec.from_dict(params["spec"])
    if params.get("search"):
        from dlcore.training.search import search_and_register

        outcome, _ = search_and_register(
            dataset,
            spec,
            trials=int(params["search"]["trials"]),
            minutes=float(params["search"]["minutes"]),
            name=params.get("name"),
            on_event=writer.on_event,
            should_stop=writer.should_stop,
            on_trial=writer.on_trial,
            actor=actor,
        )
        return outcome
    return train_and_register(
        dataset,
        spec,
        name=params.get("name"),
        on_event=writer.on_event,
        should_stop=writer.should_stop,
        actor=actor,
        cv_folds=int(params.get("cv_folds") or 0),
    )


@dataclass
class JobSummary:
    """Counts of jobs by status (for the sidebar and home page)."""

    counts: dict[str, int] = field(default_factory=dict)

    @property
    def active(self) -> int:
        return self.counts.get(QUEUED, 0) + self.counts.get(RUNNING, 0)


def job_summary() -> JobSummary:
    """How many jobs are in each status."""
    from sqlalchemy import func

    with get_store().session() as session:
        rows = session.execute(select(JobRow.status, func.count()).group_by(JobRow.status)).all()
    return JobSummary({status: int(n) for status, n in rows})
