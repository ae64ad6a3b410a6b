"""Ten processes writing at once (model versions, review decisions, audit rows) and kill -9 in the
middle of a registration and of a training: the database stays consistent, versions are distinct,
one decision per reviewer and case, the audit chain unbroken, orphans found and removed, and a
killed job is marked failed by whichever process opens the store next."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from apptools import race_at_start_line
from sqlalchemy import select, text

from dlcore.config import get_settings
from dlcore.store import (
    JobRow,
    ModelRow,
    ReviewCaseRow,
    ReviewDecisionRow,
    ReviewSessionRow,
    get_store,
    utcnow,
)

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("writer_child.py")
WRITERS = 10


def _environment() -> dict[str, str]:
    return {**os.environ, "DLCORE_HOME": str(get_settings().home), "PYTHONPATH": str(ROOT)}


def _review_case() -> tuple[str, int]:
    """A registered (fake) model with a review session of one case, written straight to the store."""
    from dlcore.fsutil import write_json

    folder = get_settings().models_dir / "m-00000000aa"
    folder.mkdir(parents=True)
    write_json(
        folder / "card.json",
        {
            "id": "m-00000000aa",
            "name": "reviewed",
            "layout": {"task": "binary", "classes": ["0", "1"]},
        },
    )
    with get_store().session() as session:
        session.add(
            ModelRow(id="m-00000000aa", name="reviewed", version=1, task="binary", path=str(folder))
        )
        session.add(
            ReviewSessionRow(
                id="r-00000000aa",
                name="race",
                model_id="m-00000000aa",
                dataset_id="d-00000000aa",
                created_by="boss",
            )
        )
        session.flush()
        case = ReviewCaseRow(
            session_id="r-00000000aa", position=0, record_index="0", prediction="1"
        )
        session.add(case)
        session.commit()
        return "r-00000000aa", case.id


def test_ten_concurrent_writers(isolated_workspace):
    from dlcore.governance.audit import verify_chain
    from dlcore.registry import get_card

    session_id, case_id = _review_case()
    race_at_start_line(
        [
            [sys.executable, str(CHILD), str(i), "write", session_id, str(case_id)]
            for i in range(WRITERS)
        ],
        _environment(),
        get_settings().home,
    )
    with get_store().session() as session:
        rows = session.scalars(select(ModelRow).where(ModelRow.name == "race")).all()
        decisions = session.scalars(select(ReviewDecisionRow)).all()
    assert sorted(r.version for r in rows) == list(range(1, WRITERS + 1))
    assert all(get_card(r.id)["version"] == r.version for r in rows)  # cards rewritten on retry
    assert [(d.session_id, d.case_id, d.reviewer) for d in decisions] == [
        (session_id, case_id, "ada")
    ]
    chain = verify_chain()
    assert chain.rows == WRITERS * 5 and chain.ok, chain.problems
    with get_store().engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def test_kill_9_during_registration_leaves_an_orphan_that_is_found_and_removed(
    isolated_workspace, tmp_path
):
    from dlcore.doctor import run_doctor
    from dlcore.registry import list_models

    ready = tmp_path / "ready"
    child = subprocess.Popen(
        [sys.executable, str(CHILD), "0", "hang", str(ready)],
        env=_environment(),
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert time.monotonic() < deadline and child.poll() is None, child.stderr.read()[-1500:]
        time.sleep(0.05)
    models_dir = get_settings().models_dir
    from dlcore.fsutil import remove_orphaned_folders

    assert remove_orphaned_folders(models_dir) == []  # a live writer's folder is left alone
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    orphans = [p.name for p in models_dir.glob(".tmp-*")]
    assert len(orphans) == 1
    assert list_models() == []  # nothing half-written is listed
    report = run_doctor()
    assert report.fixed == [f"removed the orphaned temporary folder {orphans[0]}"]
    assert report.ok and report.checked["database_integrity"] == "ok"
    assert list(models_dir.glob(".tmp-*")) == []


def test_a_dead_workers_job_is_failed_by_the_next_process_that_opens_the_store(isolated_workspace):
    old = utcnow() - dt.timedelta(minutes=10)
    with get_store().session() as session:
        session.add(
            JobRow(
                id="j-00000000aa",
                status="running",
                host="another-host",
                pid=424242,
                heartbeat=old,
                started=old,
            )
        )
        session.add(
            JobRow(
                id="j-00000000bb",
                status="running",
                host="another-host",
                pid=424243,
                heartbeat=utcnow(),
                started=old,
            )
        )
        session.commit()
    from dlcore.training.jobs import reap_jobs

    assert reap_jobs() == 1  # by heartbeat age; the pid means nothing on this host
    with get_store().session() as session:
        session.execute(
            text("UPDATE jobs SET status = 'running', error = NULL WHERE id = 'j-00000000aa'")
        )
        session.commit()
    opened = subprocess.run(
        [sys.executable, "-c", "from dlcore.store import get_store; print(get_store().reaped)"],
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert opened.stdout.strip() == "1"
    with get_store().session() as session:
        statuses = dict(session.execute(select(JobRow.id, JobRow.status)).all())
        error = session.get(JobRow, "j-00000000aa").error
    assert statuses == {"j-00000000aa": "failed", "j-00000000bb": "running"}
    assert "heartbeat" in error


@pytest.mark.skipif(
    os.environ.get("DLCORE_HOSTILE_FULL") != "1",
    reason="starts a real training worker (TensorFlow): run by make test-hostile",
)
def test_kill_9_during_training(isolated_workspace):
    from dlcore.data.catalog import ensure_saved
    from dlcore.data.demo import load_demo
    from dlcore.models.spec import default_spec
    from dlcore.registry import list_models
    from dlcore.training.jobs import get_job, reap_jobs, submit_training

    dataset = load_demo("breast_cancer")
    spec = default_spec(dataset.task, len(dataset.frame))
    spec.epochs, spec.early_stopping_patience = 500, 0
    job_id = submit_training(ensure_saved(dataset), spec, name="to be killed")
    deadline = time.monotonic() + 150
    while True:
        job = get_job(job_id)
        if (job.progress or {}).get("epoch") and job.pid:
            break
        assert time.monotonic() < deadline and job.is_active, (job.status, job.error)
        time.sleep(0.5)
    os.killpg(job.pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while reap_jobs() == 0:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    job = get_job(job_id)
    assert job.status == "failed" and "stopped unexpectedly" in job.error
    assert [m.name for m in list_models()] == []
    with get_store().engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
