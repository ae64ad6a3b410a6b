"""What a search trial reports each epoch: its validation loss, the best so far, and the
validation AUC of that best epoch (issue 16: the search is judged on AUC against the defaults)."""

from __future__ import annotations

import math

import numpy as np
import pytest


def test_the_best_epochs_auc_is_kept_not_the_highest_or_the_last():
    from dlcore.training.search import BestEpoch

    best = BestEpoch()
    assert best.update({"val_loss": 0.50, "val_auc": 0.80}) == {
        "val_loss": 0.50,
        "best_val_loss": 0.50,
        "best_val_auc": 0.80,
    }
    assert best.update({"val_loss": 0.40, "val_auc": 0.85})["best_val_auc"] == 0.85
    # a higher AUC on a worse loss is not the trial's network (early stopping keeps epoch 2)
    worse = best.update({"val_loss": 0.45, "val_auc": 0.95})
    assert worse == {"val_loss": 0.45, "best_val_loss": 0.40, "best_val_auc": 0.85}
    # an equal loss later is not an improvement (early stopping keeps the first)
    assert best.update({"val_loss": 0.40, "val_auc": 0.70})["best_val_auc"] == 0.85
    assert best.update({"val_loss": math.nan, "val_auc": 0.99})["best_val_auc"] == 0.85


def test_a_trial_without_an_auc_reports_none():
    from dlcore.training.search import BestEpoch

    best = BestEpoch()  # regression or multiclass: Keras logs no val_auc
    assert best.update({"val_loss": 3.0, "val_mae": 1.2}) == {"val_loss": 3.0, "best_val_loss": 3.0}
    assert best.auc is None


def test_a_trial_reports_the_validation_auc_of_the_network_it_keeps(breast_cancer):
    """The reported AUC is that of the restored best epoch: within 0.01 of the exact validation
    AUC of the trained network (Keras' AUC uses 200 thresholds)."""
    from sklearn.metrics import roc_auc_score

    from dlcore.models.spec import ModelSpec
    from dlcore.training.honest import split_output
    from dlcore.training.search import TABLE_SPACE, train_trial

    base = ModelSpec(hidden_units=[8], epochs=12, early_stopping_patience=2, batch_size=64, seed=1)
    reports: list[dict] = []
    result = train_trial(
        {"learning_rate": 0.02}, breast_cancer, base.to_dict(), TABLE_SPACE, reports.append
    )
    history = result.history
    assert [r["epoch"] for r in reports] == list(range(1, result.epochs_run + 1))
    assert [r["val_loss"] for r in reports] == pytest.approx(history["val_loss"])
    best_epoch = int(np.argmin(history["val_loss"]))
    assert reports[-1]["best_val_loss"] == pytest.approx(history["val_loss"][best_epoch])
    assert reports[-1]["best_val_auc"] == pytest.approx(history["val_auc"][best_epoch])
    validation = result.split.validation
    output = split_output(result, validation)
    y = result.data.y[validation]
    exact = roc_auc_score(y, output[:, -1])
    assert exact > 0.9
    assert reports[-1]["best_val_auc"] == pytest.approx(exact, abs=0.01)


def test_a_trial_past_the_search_deadline_stops_within_its_epoch_and_says_so(breast_cancer):
    """A trial still running when the search's time is up stops at its next batch (not at the
    end of its epochs): the cut epoch is validated and reported with out_of_time, and the trial
    reads "stopped at the budget"."""
    import time

    from dlcore.models.spec import ModelSpec
    from dlcore.training.search import TABLE_SPACE, train_trial, trial_status

    base = ModelSpec(hidden_units=[8], epochs=500, early_stopping_patience=0, batch_size=8, seed=1)
    reports: list[dict] = []
    started = time.monotonic()
    result = train_trial({}, breast_cancer, base.to_dict(), TABLE_SPACE, reports.append, started)
    assert result.cancelled and result.epochs_run == 1  # 500 epochs asked, cut in the first
    assert len(reports) == 1 and reports[0]["out_of_time"] is True
    assert np.isfinite(reports[0]["val_loss"])
    assert trial_status(reports[-1], None, 500) == "stopped at the budget"
    # cut in its last epoch: that epoch was partial, so not "finished" either
    assert trial_status({**reports[-1], "epoch": 500}, None, 500) == "stopped at the budget"
    # a trial that ran all its epochs within the time is finished
    assert trial_status({**reports[-1], "epoch": 500, "out_of_time": False}, None, 500) == (
        "finished"
    )
    assert trial_status({"epoch": 3, "best_val_loss": 0.2}, None, 500) == "stopped early"
    # a trial that started when the time was up reported nothing: not run, not "finished"
    assert trial_status({}, None, 500) == "not run (budget)"


def test_the_search_clock_counts_down_where_it_lives():
    import time

    from dlcore.training.search import SearchClock

    clock = SearchClock(0.2)
    assert 0.1 < clock.remaining() <= 0.2
    time.sleep(0.25)
    assert clock.remaining() < 0


def test_the_trials_stop_early_enough_for_the_search_to_end_within_its_budget():
    from dlcore.training.search import trials_time

    assert trials_time(30) == 1770.0  # 30 s kept for stopping the trials and Tune's shutdown
    assert trials_time(1) == 57.0  # 5% of a short budget
    assert trials_time(0.1) == pytest.approx(5.7)


def test_a_lost_trial_names_its_error_kind_and_first_line():
    from dlcore.training.search import error_reason, trial_status

    class ActorDiedError(RuntimeError):
        pass

    error = ActorDiedError("The actor died unexpectedly.\n  traceback lines ...")
    assert trial_status({"epoch": 4, "best_val_loss": 0.3}, error, 10) == "lost"
    assert error_reason(error) == "ActorDiedError: The actor died unexpectedly."
    assert error_reason(None) is None
    assert len(error_reason(RuntimeError("x" * 500))) == 160


def test_a_trial_caps_tensorflows_threads_at_its_cpus(monkeypatch):
    """A trial given 1 CPU sets DLCORE_TF_THREADS=1 before TensorFlow loads in its worker (else
    every trial on a node takes all its cores); a value set by the operator is kept."""
    import os

    from dlcore.config import get_settings, reset_settings
    from dlcore.training.search import cap_threads

    monkeypatch.delenv("DLCORE_TF_THREADS", raising=False)
    try:
        cap_threads(1)
        assert os.environ["DLCORE_TF_THREADS"] == "1" and get_settings().tf_threads == 1
        monkeypatch.setenv("DLCORE_TF_THREADS", "3")
        cap_threads(1)
        assert os.environ["DLCORE_TF_THREADS"] == "3"
    finally:
        monkeypatch.delenv("DLCORE_TF_THREADS", raising=False)
        reset_settings()
