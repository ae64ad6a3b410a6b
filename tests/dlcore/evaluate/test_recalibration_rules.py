"""Recalibration is adopted only when it helps, judged on records it was not fitted on."""

from __future__ import annotations

import numpy as np
import pytest

from dlcore.errors import UserError
from dlcore.evaluate.calibration import (
    Recalibrator,
    brier_score,
    choose_recalibration,
    fit_recalibration,
    judge_on_held_out,
    log_loss,
)


def _calibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.02, 0.9, n)
    return (rng.random(n) < p).astype(int), p


def test_overconfident_probabilities_are_recalibrated_by_cross_fitting():
    y, p = _calibrated(600, 0)
    logit = np.log(p / (1 - p))
    overconfident = 1 / (1 + np.exp(-3 * logit))
    recalibrator, decision = choose_recalibration(y, overconfident)
    assert decision.adopted and decision.folds == 5
    assert decision.validation_log_loss_after < decision.validation_log_loss_before
    assert 2.0 < recalibrator.temperature < 4.5
    assert log_loss(y, recalibrator.apply(overconfident)) < log_loss(y, overconfident)


def test_calibrated_probabilities_are_left_alone():
    y, p = _calibrated(400, 1)
    recalibrator, decision = choose_recalibration(y, p)
    assert not decision.adopted
    assert recalibrator.method == "none"
    assert "did not lower" in decision.reason


def test_a_worsening_recalibration_is_refused_on_held_out_records():
    y, p = _calibrated(500, 2)
    harmful = Recalibrator("temperature", temperature=3.0, fitted_on="validation split", n=100)
    decision = choose_recalibration(*_calibrated(300, 3))[1]
    decision.adopted = True  # as if the validation split had said it helps
    kept, judged = judge_on_held_out(harmful, decision, y, p)
    assert judged.refused and not judged.adopted
    assert kept.method == "none"
    assert judged.test_brier_after > judged.test_brier_before
    assert judged.test_brier_before == pytest.approx(brier_score(y, p))
    assert "refused" in judged.reason


def test_a_validation_split_without_both_classes_is_refused():
    p = np.linspace(0.1, 0.4, 30)
    with pytest.raises(UserError, match="lacks a class") as caught:
        fit_recalibration(np.zeros(30, dtype=int), p, "temperature")
    assert caught.value.expected and caught.value.fix
    recalibrator, decision = choose_recalibration(np.zeros(30, dtype=int), p)
    assert recalibrator.method == "none" and not decision.adopted


def test_multiclass_brier_and_log_loss():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    y = np.array([0, 2])
    assert brier_score(y, p) == pytest.approx(((0.09 + 0.04 + 0.01) + (0.01 + 0.01 + 0.04)) / 2)
    assert log_loss(y, p) == pytest.approx(-(np.log(0.7) + np.log(0.8)) / 2)


def test_a_registered_model_refuses_a_recalibration_that_worsens_its_test_split(
    tiny_binary, monkeypatch
):
    from dlcore.evaluate import calibration
    from dlcore.evaluate.model_report import RecalibrationRefused, fit_model_recalibration
    from dlcore.registry import load_model

    loaded = load_model(tiny_binary.record.id)
    before = dict(loaded.card.get("calibration") or {})
    monkeypatch.setattr(
        calibration,
        "fit_recalibration",
        lambda *a, **k: Recalibrator("temperature", temperature=8.0, fitted_on="validation split"),
    )
    with pytest.raises(RecalibrationRefused, match="Brier score") as caught:
        fit_model_recalibration(loaded, "temperature")
    assert "before" in str(caught.value) and "after" in str(caught.value)
    assert dict(load_model(tiny_binary.record.id).card.get("calibration") or {}) == before
    saved = fit_model_recalibration(loaded, "temperature", allow_worse=True)
    assert saved.held_out_brier_after > saved.held_out_brier_before
    assert "before" in saved.describe()


def test_prior_shift_undoes_balanced_class_weights():
    from dlcore.models.spec import ModelSpec
    from dlcore.training.fit import prior_shift, sample_weights

    y = np.array([0] * 60 + [1] * 30 + [2] * 10)
    weights = sample_weights(y, "multiclass", ModelSpec(class_weighting="balanced"))
    shift = prior_shift(y, weights, 3)
    # balanced weights make every class weigh 1/3: the shift is log(prevalence * 3)
    np.testing.assert_allclose(shift, np.log(np.array([0.6, 0.3, 0.1]) * 3), rtol=1e-5)
    # a network that learnt the balanced posterior (1/3 each, for an uninformative record)
    # returns the training prevalence once shifted
    logits = np.log(np.full(3, 1 / 3)) + shift
    np.testing.assert_allclose(np.exp(logits) / np.exp(logits).sum(), [0.6, 0.3, 0.1], rtol=1e-5)
