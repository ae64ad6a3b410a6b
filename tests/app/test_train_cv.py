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


def test_train_page_starts_the_tables_default_network(isolated_workspace):
    """The page's knobs start at default_spec for the table (a small table: 5 networks averaged,
    weight decay 0.01), and the queued job trains exactly that: the network the benches judge."""
    from apptools import button, cancelled_and_gone

    from dlcore.data.catalog import save_dataset
    from dlcore.data.demo import load_demo
    from dlcore.models.spec import default_spec
    from dlcore.training.jobs import list_jobs

    dataset = load_demo("breast_cancer")
    save_dataset(dataset)
    defaults = default_spec(dataset.schema.task, len(dataset.frame))
    assert (defaults.ensemble, defaults.weight_decay) == (5, 0.01)  # 569 records
    at = open_page("train")
    assert widget(at.number_input, "Networks averaged").value == 5
    assert widget(at.select_slider, "Weight decay").value == 0.01
    assert any(c.value.startswith("5 networks like this one") for c in at.caption)
    healthy(widget(at.checkbox, "Cross-validate first").uncheck().run())
    healthy(button(at, "Start training").click().run())
    job = list_jobs(limit=5)[0]
    spec = job.params["spec"]
    assert spec["ensemble"] == 5 and spec["weight_decay"] == 0.01
    assert spec["hidden_units"] == defaults.hidden_units and spec["dropout"] == defaults.dropout
    assert cancelled_and_gone(job.id)
    healthy(widget(at.number_input, "Networks averaged").set_value(2).run())
    healthy(button(at, "Start training").click().run())
    second = list_jobs(limit=5)[0]
    assert second.id != job.id and second.params["spec"]["ensemble"] == 2
    assert cancelled_and_gone(second.id)
