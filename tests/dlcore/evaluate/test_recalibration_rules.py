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
    log_loss,
    report_on_held_out,
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
    assert "did not clearly lower" in decision.reason


def test_a_gain_within_its_noise_is_not_adopted():
    # 80 slightly over-confident records: temperature scaling lowers the cross-fitted log-loss,
    # but by less than two standard errors of the per-record gains: not adopted
    y, p = _calibrated(80, 2)
    sharpened = 1 / (1 + np.exp(-1.2 * np.log(p / (1 - p))))
    recalibrator, decision = choose_recalibration(y, sharpened)
    gain = decision.validation_log_loss_before - decision.validation_log_loss_after
    assert 1e-4 < gain < 0.02
    assert not decision.adopted and recalibrator.method == "none"
    assert "must exceed 2 standard errors" in decision.reason


def test_a_recalibration_that_worsens_cross_fitted_validation_is_refused(monkeypatch):
    from dlcore.evaluate import calibration

    y, p = _calibrated(400, 2)
    # every fold's map (and the final one) is a harmful temperature: the cross-fitted log-loss
    # of the validation records rises, so the network's own probabilities are kept
    monkeypatch.setattr(
        calibration,
        "fit_recalibration",
        lambda *a, **k: Recalibrator("temperature", temperature=3.0, fitted_on="validation split"),
    )
    recalibrator, decision = choose_recalibration(y, p)
    assert not decision.adopted and recalibrator.method == "none"
    assert decision.validation_log_loss_after > decision.validation_log_loss_before + 0.01
    assert "did not clearly lower" in decision.reason


def test_the_test_split_reports_but_never_decides():
    y_val, p_val = _calibrated(600, 0)
    overconfident = 1 / (1 + np.exp(-3 * np.log(p_val / (1 - p_val))))
    _, decision = choose_recalibration(y_val, overconfident)
    assert decision.adopted
    # a test split on which the adopted map happens to be worse: it is reported, not undone
    y, p = _calibrated(500, 2)
    sharpened = 1 / (1 + np.exp(-3 * np.log(p / (1 - p))))
    worse = Recalibrator("temperature", temperature=4.0, fitted_on="validation split", n=600)
    kept, judged = report_on_held_out(worse, decision, y, p)
    assert judged.adopted and not judged.refused and judged.worse_on_test
    assert kept.method == "temperature"
    assert judged.test_brier_before == pytest.approx(brier_score(y, p))
    assert judged.test_brier_after == pytest.approx(brier_score(y, worse.apply(p)))
    assert judged.test_brier_after > judged.test_brier_before
    assert "worse than the network's own output" in judged.reason
    assert "worse than the network's own output" in kept.describe()
    # and when it helps on the test split, the numbers are reported without the warning
    recalibrator2, decision2 = choose_recalibration(y_val, overconfident)
    kept2, judged2 = report_on_held_out(recalibrator2, decision2, y, sharpened)
    assert judged2.adopted and not judged2.worse_on_test
    assert judged2.test_brier_after < judged2.test_brier_before
    assert "worse" not in kept2.describe()


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
