"""Training jobs with real worker processes (``python -m dlcore.worker JOB``).

Each worker pays TensorFlow's start-up (~4 s here), so the file launches few of them: two tiny
jobs queued together, one submitted by a process that exits at once, one long job cancelled (with
a queued one cancelled behind it), one that fails, and one whose worker is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT_S = 60.0
TINY = {"epochs": 3, "hidden_units": [8], "early_stopping_patience": 0, "batch_size": 32, "seed": 1}
LONG = {
    "epochs": 500,
    "hidden_units": [8],
    "early_stopping_patience": 0,
    "batch_size": 8,
    "seed": 1,
}


def spec(**values):
    from dlcore.models.spec import ModelSpec

    return ModelSpec(**values)


def poll(predicate, timeout_s: float = TIMEOUT_S, every_s: float = 0.2, what: str = "condition"):
    """Call ``predicate()`` until it returns something truthy; returns it (fails on timeout)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")


def pid_alive(pid: int) -> bool:
    """Whether a process runs (a zombie counts as gone)."""
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" not in status.read_text()
    except OSError:
        return False


@pytest.fixture(scope="module", autouse=True)
def one_slot():
    """At most one job runs at a time (the default, set explicitly); active jobs are stopped at the end."""
    from dlcore.config import reset_settings

    previous = os.environ.get("DLCORE_MAX_CONCURRENT_JOBS")
    os.environ["DLCORE_MAX_CONCURRENT_JOBS"] = "1"
    reset_settings()
    yield
    from dlcore.training.jobs import cancel_job, list_jobs

    for job in list_jobs(limit=100, active_only=True):
        cancel_job(job.id)
        if job.pid and pid_alive(job.pid):
            os.kill(job.pid, signal.SIGKILL)
    if previous is None:
        os.environ.pop("DLCORE_MAX_CONCURRENT_JOBS", None)
    else:
        os.environ["DLCORE_MAX_CONCURRENT_JOBS"] = previous
    reset_settings()


@pytest.fixture(scope="module")
def dataset_id() -> str:
    """The breast-cancer demo table saved in the workspace."""
    from dlcore.data import load_demo
    from dlcore.data.catalog import save_dataset

    return save_dataset(load_demo("breast_cancer"))


@pytest.fixture(scope="module")
def two_jobs(dataset_id):
    """Two tiny jobs submitted back to back, then watched as a fresh app process would watch them
    (store and backends forgotten). Returns (first, second, statuses seen while polling)."""
    from dlcore.store import reset_stores
    from dlcore.training import jobs

    first = jobs.submit_training(dataset_id, spec(**TINY), name="queued first")
    second = jobs.submit_training(dataset_id, spec(**{**TINY, "epochs": 2}), name="queued second")
    reset_stores()
    jobs._backends.clear()
    seen: list[tuple[str, str]] = []
    deadline = time.monotonic() + 2 * TIMEOUT_S
    while time.monotonic() < deadline:
        jobs.reap_jobs()
        a, b = jobs.get_job(first), jobs.get_job(second)
        seen.append((a.status, b.status))
        if not a.is_active and not b.is_active:
            break
        time.sleep(0.2)
    return jobs.get_job(first), jobs.get_job(second), seen


def test_job_trains_and_registers_a_model(two_jobs):
    from dlcore.registry import get_card, load_model
    from dlcore.training.jobs import job_history

    job, _, _ = two_jobs
    assert job.status == "succeeded", job.error
    assert job.error is None
    assert job.model_id and job.result["model_id"] == job.model_id
    assert job.result["epochs_run"] == 3
    assert 0.0 <= job.result["metrics"]["roc_auc"] <= 1.0
    assert 0.0 <= job.result["metrics"]["accuracy"] <= 1.0
    assert job.progress["fraction"] == 1.0
    assert job.started is not None and job.finished is not None and job.finished >= job.started

    history = job_history(job.id)
    assert len(history["loss"]) == 3
    assert len(history["val_loss"]) == 3
    assert all(value > 0 for value in history["loss"])

    loaded = load_model(job.model_id)
    assert loaded.name == "queued first"
    assert loaded.task == "binary"
    assert get_card(job.model_id)["spec"]["hidden_units"] == [8]
    assert get_card(job.model_id)["history"]["loss"] == pytest.approx(history["loss"])


def test_queue_runs_one_job_at_a_time(two_jobs):
    first, second, seen = two_jobs
    assert first.status == "succeeded", first.error
    assert second.status == "succeeded", second.error
    assert ("running", "running") not in seen
    # The oldest job goes first, and the second starts only once the first has finished.
    assert ("running", "queued") in seen
    assert second.started >= first.finished
    assert first.started < second.started
    assert second.result["epochs_run"] == 2


def test_job_outlives_the_process_that_submitted_it(dataset_id):
    from dlcore.registry import load_model
    from dlcore.store import reset_stores
    from dlcore.training import jobs

    submitter = (
        "import sys\n"
        "from dlcore.training.jobs import submit_training\n"
        "from dlcore.models.spec import ModelSpec\n"
        "print(submit_training(sys.argv[1], ModelSpec(epochs=2, hidden_units=[8], "
        "early_stopping_patience=0)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", submitter, dataset_id],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.strip().splitlines()[-1]

    # The submitting process is gone; this process never launched the worker.
    reset_stores()
    jobs._backends.clear()
    job = jobs.get_job(job_id)
    assert job.is_active
    assert job.pid and pid_alive(job.pid)
    assert jobs.reap_jobs() == 0, "a live worker must not be taken for a dead one"

    job = jobs.wait_for_job(job_id, timeout_s=TIMEOUT_S)
    assert job.status == "succeeded", job.error
    assert load_model(job.model_id).task == "binary"


def test_cancel_running_and_queued_jobs(dataset_id):
    from dlcore.registry import list_models
    from dlcore.training import jobs
    from dlcore.training.jobs import cancel_job, get_job, job_history, wait_for_job

    models_before = {m.id for m in list_models()}
    long_id = jobs.submit_training(dataset_id, spec(**LONG), name="long run")
    queued_id = jobs.submit_training(dataset_id, spec(**TINY), name="never runs")

    # A queued job is cancelled at once, and its worker leaves without training.
    assert get_job(queued_id).status == "queued"
    cancelled = cancel_job(queued_id)
    assert cancelled.status == "cancelled"
    assert get_job(queued_id).status == "cancelled"
    assert get_job(queued_id).error == "cancelled before it started"
    queued_pid = get_job(queued_id).pid
    assert queued_pid
    poll(
        lambda: not jobs.get_backend().is_alive(get_job(queued_id)),
        what="the queued job's worker to exit",
    )

    # A running job stops within about an epoch of the request.
    def epoch_reached():
        job = get_job(long_id)
        assert job.status in ("queued", "running"), job.error
        return (job.progress.get("epoch") or 0) >= 1 and job.status == "running" and job

    at_cancel = poll(epoch_reached, what="the long job's first epoch")
    epoch_at_cancel = int(at_cancel.progress["epoch"])
    asked = time.monotonic()
    assert cancel_job(long_id).cancel_requested
    job = wait_for_job(long_id, timeout_s=TIMEOUT_S, poll_s=0.1)
    took = time.monotonic() - asked

    assert job.status == "cancelled", job.error
    assert job.error == "cancelled by the user"
    assert took < 10.0
    epochs_run = len(job_history(long_id).get("loss", []))
    assert epoch_at_cancel <= epochs_run < epoch_at_cancel + 3
    assert job.model_id is None
    assert {m.id for m in list_models()} == models_before
    assert get_job(queued_id).started is None


def test_failing_job_records_the_reason(dataset_id):
    from dlcore.data import Dataset, load_demo
    from dlcore.data.catalog import save_dataset
    from dlcore.training.jobs import submit_training, wait_for_job

    demo = load_demo("breast_cancer")
    small = Dataset(
        "fifteen records", demo.frame.sample(15, random_state=0).reset_index(drop=True), demo.schema
    )
    small_id = save_dataset(small)

    job = wait_for_job(submit_training(small_id, spec(**TINY)), timeout_s=TIMEOUT_S)
    assert job.status == "failed"
    assert "Only 15 labelled records" in job.error
    assert "Expected at least 20 training records" in job.error
    assert job.model_id is None
    assert job.finished is not None


def test_killed_worker_is_marked_failed(dataset_id):
    from dlcore.training.jobs import get_backend, get_job, reap_jobs, submit_training, wait_for_job

    job_id = submit_training(dataset_id, spec(**LONG), name="killed")
    running = poll(
        lambda: (
            get_job(job_id).status == "running"
            and (get_job(job_id).progress.get("epoch") or 0) >= 1
        ),
        what="the job to train",
    )
    assert running
    pid = get_job(job_id).pid
    os.kill(pid, signal.SIGKILL)
    # waitpid reports the death once every thread of the (TensorFlow) process has gone.
    poll(lambda: not get_backend().is_alive(get_job(job_id)), what="the worker to die")
    assert get_job(job_id).status == "running"
    assert reap_jobs() == 1
    job = wait_for_job(job_id, timeout_s=TIMEOUT_S)
    assert job.status == "failed"
    assert job.error == "the worker process stopped unexpectedly"
    assert job.model_id is None
    assert job.finished is not None


def insert_job(status: str, pid: int | None, created=None) -> str:
    """A job row as another (now gone) app process would have left it."""
    from dlcore.fsutil import new_id
    from dlcore.store import JobRow, get_store, utcnow

    job_id = new_id("j")
    with get_store().session() as session:
        session.add(
            JobRow(
                id=job_id,
                kind="train",
                title=f"left {status}",
                status=status,
                params={},
                pid=pid,
                started=utcnow() if status == "running" else None,
                created=created or utcnow(),
            )
        )
        session.commit()
    return job_id


def test_recover_marks_jobs_without_a_live_worker_interrupted():
    import datetime as dt

    from dlcore.store import utcnow
    from dlcore.training.jobs import cancel_job, get_job, recover_jobs

    exited = subprocess.Popen(["true"])
    exited.wait()
    dead = insert_job("running", exited.pid)
    # A live process that is not a worker for this job (pid reuse) does not keep it alive either.
    reused = insert_job("running", os.getpid())
    stale_queued = insert_job("queued", None, created=utcnow() - dt.timedelta(minutes=10))
    try:
        assert recover_jobs() >= 3
        for job_id in (dead, reused, stale_queued):
            job = get_job(job_id)
            assert job.status == "interrupted"
            assert "restarted" in job.error
            assert job.finished is not None
    finally:
        for job_id in (dead, reused, stale_queued):
            cancel_job(job_id)


def test_reaper_leaves_a_job_being_submitted_alone():
    """Between recording a job and launching its worker, the row has no pid yet: a reaper running
    in another process (a queued worker, the app) must not mark it failed in that moment."""
    from dlcore.training.jobs import cancel_job, get_job, reap_jobs

    job_id = insert_job("queued", None)
    try:
        reap_jobs()
        assert get_job(job_id).status == "queued"
    finally:
        cancel_job(job_id)
    assert get_job(job_id).status == "cancelled"
