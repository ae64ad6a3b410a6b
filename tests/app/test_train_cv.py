"""Train offers cross-validation, on by default for tables under 500 records; too many folds are
refused before a job is queued; the job panel shows the baseline sentence and 'too few cases'."""

from __future__ import annotations

import pytest
from apptools import healthy, new_app, open_page, widget

from dlcore.errors import UserError


def test_train_page_offers_cross_validation_by_table_size():
    from dlcore.data.catalog import list_datasets

    at = new_app()
    healthy(at.run())
    open_page("train", at)
    checked = {}
    for entry in [d for d in list_datasets() if d.target and d.kind != "images"]:
        healthy(widget(at.selectbox, "Dataset").set_value(entry.id).run())
        box = next(c for c in at.checkbox if c.label.startswith("Cross-validate first"))
        checked[entry.rows] = box.value
    assert checked, "no table dataset on the Train page"
    assert all(value == (rows < 500) for rows, value in checked.items()), checked


def test_too_many_folds_are_refused_before_queueing(breast_cancer):
    from dlcore.data.catalog import ensure_saved
    from dlcore.models.spec import ModelSpec
    from dlcore.training.jobs import list_jobs, submit_training

    ensure_saved(breast_cancer)
    before = len(list_jobs(limit=100))
    with pytest.raises(UserError, match="at most 20 folds"):
        submit_training(breast_cancer.id, ModelSpec(epochs=1), cv_folds=500)
    with pytest.raises(UserError, match="2 or more folds"):
        submit_training(breast_cancer.id, ModelSpec(epochs=1), cv_folds=1)
    assert len(list_jobs(limit=100)) == before


def test_job_result_carries_the_honest_summary(tiny_binary):
    from dlcore.training.jobs import _honest_result

    result = _honest_result(tiny_binary.summary)
    assert result["baseline_sentence"].startswith("On these records the network")
    assert result["test_counts"]["records"] == tiny_binary.result.split.sizes()["test"]
    assert set(result["metrics_ci"]) >= {"roc_auc", "brier"}
