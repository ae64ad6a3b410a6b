"""dlcore.glance: the light read (stdlib sqlite3) gives exactly what the store gives, and one rule
says what the demo model's state is."""

from __future__ import annotations

from pathlib import Path

from dlcore.glance import Glance, JobGlance, ModelGlance, _read_sqlite, _read_store, take


def test_an_empty_workspace_has_nothing_and_creates_no_database(isolated_workspace):
    assert take() == Glance()
    assert not (isolated_workspace / "dlcore.db").exists()


def test_the_light_read_equals_the_store_read(tiny_binary, tiny_regression):
    from dlcore.config import get_settings
    from dlcore.store import JobRow, get_store
    from dlcore.training.demo_models import ensure_demo_datasets

    ensure_demo_datasets()
    with get_store().session() as session:
        session.add(
            JobRow(
                id="glance-job",
                title="Demo model: a queued one",
                status="queued",
                params={"dataset_id": "d1"},
                progress={"fraction": 0.25, "eta_s": 12},
            )
        )
        session.commit()
    try:
        path = get_settings().database_url.removeprefix("sqlite:///")
        light, full = _read_sqlite(Path(path)), _read_store()
        assert light == full
        assert take() == light
        assert {tiny_binary.record.id, tiny_regression.record.id} <= {m.id for m in light.models}
        assert len(light.datasets) >= 3  # the demo tables
        job = next(j for j in light.jobs if j.id == "glance-job")
        assert (job.status, job.fraction, job.eta_s, job.dataset_id) == ("queued", 0.25, 12.0, "d1")
        assert light.active_jobs >= 1
        binary = next(m for m in light.models if m.id == tiny_binary.record.id)
        assert binary.source == "demo:breast_cancer"
        assert len(binary.created) == 19 and "T" not in binary.created
    finally:
        with get_store().session() as session:
            session.delete(session.get(JobRow, "glance-job"))
            session.commit()


def _job(status: str) -> JobGlance:
    return JobGlance("j", "Demo model: breast cancer", status, 0.5, None, None, "d")


def _model() -> ModelGlance:
    return ModelGlance("m", "demo", 1, "binary", "d", "2026-01-01 00:00:00", "roc_auc", 0.9,
                       "demo:breast_cancer")  # fmt: skip


def test_one_rule_for_the_demo_state():
    assert Glance().demo_state() == "absent"
    # a job still queued or running wins over a model already registered: Home and the sidebar
    # both say it is training until the job itself has finished
    assert Glance(models=(_model(),), jobs=(_job("queued"),)).demo_state() == "training"
    assert Glance(models=(_model(),), jobs=(_job("running"),)).demo_state() == "training"
    assert Glance(models=(_model(),), jobs=(_job("succeeded"),)).demo_state() == "ready"
    assert Glance(models=(_model(),), jobs=(_job("failed"),)).demo_state() == "ready"
    assert Glance(jobs=(_job("failed"),)).demo_state() == "failed"
    assert Glance(models=(_model(),)).demo_state() == "ready"
