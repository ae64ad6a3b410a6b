"""Clinical evaluation with known answers: CIs that cover, honest calibration metrics, thresholds
that deliver what they promise, net benefit by its formula, subgroups, recalibration, model card."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.metrics import average_precision_score, roc_auc_score

from dlcore.errors import UserError
from dlcore.evaluate.bootstrap import BinaryBootstrap, bootstrap_mean
from dlcore.evaluate.calibration import calibration_report, fit_recalibration, logistic_fit
from dlcore.evaluate.clinical import (
    band_numeric,
    choose_threshold,
    decision_curve,
    evaluate_binary_clinical,
    evaluate_multiclass_clinical,
    evaluate_regression_clinical,
    net_benefit,
    subgroup_report,
)


def separated(n: int, d: float, prevalence: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(int)
    return y, rng.normal(d * y, 1.0)


def test_bootstrap_auc_of_each_resample_equals_sklearn_on_the_expanded_sample():
    y, s = separated(300, 1.0, 0.3, 0)
    s = np.round(s, 1)  # ties
    boot = BinaryBootstrap.draw(y, s, resamples=20, seed=3)
    aucs, aps = boot.auc_samples(), boot.pr_auc_samples()
    for b in (0, 7, 19):
        yy = np.r_[np.ones(boot.w_pos[b].sum()), np.zeros(boot.w_neg[b].sum())]
        ss = np.r_[
            np.repeat(boot.scores_pos, boot.w_pos[b]), np.repeat(boot.scores_neg, boot.w_neg[b])
        ]
        assert aucs[b] == pytest.approx(roc_auc_score(yy, ss), abs=1e-12)
        assert aps[b] == pytest.approx(average_precision_score(yy, ss), abs=1e-5)


def test_bootstrap_is_stratified_and_seeded():
    y, s = separated(200, 1.0, 0.2, 1)
    a = BinaryBootstrap.draw(y, s, resamples=50, seed=7)
    b = BinaryBootstrap.draw(y, s, resamples=50, seed=7)
    np.testing.assert_array_equal(a.w_pos, b.w_pos)
    assert (a.w_pos.sum(axis=1) == y.sum()).all() and (a.w_neg.sum(axis=1) == (1 - y).sum()).all()


def test_95_percent_interval_covers_the_true_auc_about_95_percent_of_the_time():
    d = 1.0
    true_auc = norm.cdf(d / np.sqrt(2))
    covered = 0
    repetitions = 200
    for rep in range(repetitions):
        y, s = separated(200, d, 0.4, 1000 + rep)
        interval = BinaryBootstrap.draw(y, s, resamples=400, seed=rep).auc()
        covered += interval.low <= true_auc <= interval.high
    assert 0.89 <= covered / repetitions <= 0.99, covered


def test_perfectly_calibrated_scores():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.02, 0.98, 20000)
    y = rng.random(20000) < p
    report = calibration_report(y, p)
    assert report.ece < 0.015
    assert report.slope == pytest.approx(1.0, abs=0.08)
    assert report.calibration_in_the_large == pytest.approx(0.0, abs=0.05)
    assert len(report.bins) == 10 and all(b.low <= b.observed <= b.high for b in report.bins)


def test_overconfident_scores_have_slope_below_one_and_recalibration_fixes_them():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.02, 0.98, 5000)
    y = rng.random(5000) < p
    logit = np.log(p / (1 - p))
    overconfident = 1 / (1 + np.exp(-2.5 * logit))
    before = calibration_report(y, overconfident)
    assert before.slope == pytest.approx(0.4, abs=0.05)
    temperature = fit_recalibration(y, overconfident, "temperature")
    assert temperature.temperature == pytest.approx(2.5, rel=0.1)
    assert calibration_report(y, temperature.apply(overconfident)).ece < before.ece / 3
    isotonic = fit_recalibration(y, overconfident, "isotonic")
    assert calibration_report(y, isotonic.apply(overconfident)).ece < before.ece / 3
    again = type(isotonic).from_dict(json.loads(json.dumps(isotonic.to_dict())))
    np.testing.assert_allclose(again.apply(overconfident), isotonic.apply(overconfident))


def test_multiclass_temperature_scaling():
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 1, (3000, 3))
    true = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in true])
    sharp = np.exp(3 * logits) / np.exp(3 * logits).sum(1, keepdims=True)
    fitted = fit_recalibration(y, sharp, "temperature")
    assert fitted.temperature == pytest.approx(3.0, rel=0.15)
    np.testing.assert_allclose(fitted.apply(sharp).sum(axis=1), 1.0)
    with pytest.raises(UserError, match="binary"):
        fit_recalibration(y, sharp, "isotonic")


def test_logistic_fit_recovers_known_coefficients():
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, 20000)
    y = rng.random(20000) < 1 / (1 + np.exp(-(0.5 + 1.5 * x)))
    intercept, slope = logistic_fit(y, x)
    assert intercept == pytest.approx(0.5, abs=0.06) and slope == pytest.approx(1.5, abs=0.08)


def test_net_benefit_matches_the_formula_for_a_known_table():
    # 10 records: at threshold 0.3, TP = 3, FP = 2 (scores ≥ 0.3), FN = 1, TN = 4.
    y = np.array([1, 1, 1, 0, 0, 1, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.4, 0.5, 0.35, 0.2, 0.1, 0.1, 0.05, 0.0])
    pt = 0.3
    assert net_benefit(y, p, pt) == pytest.approx(3 / 10 - 2 / 10 * pt / (1 - pt))
    curve = decision_curve(y, p, 0.1, 0.5, points=5)
    prevalence = 0.4
    assert curve.treat_all[0] == pytest.approx(prevalence - (1 - prevalence) * 0.1 / 0.9)
    assert curve.treat_none == [0.0] * 5
    with pytest.raises(UserError):
        decision_curve(y, p, 0.6, 0.5)


@pytest.mark.parametrize("target", [0.8, 0.9, 0.95])
def test_sensitivity_preset_really_gives_that_sensitivity(target):
    y, s = separated(500, 1.2, 0.3, 4)
    p = 1 / (1 + np.exp(-s))
    t = choose_threshold(y, p, "sensitivity", target)
    sensitivity = ((p >= t) & (y == 1)).sum() / y.sum()
    assert sensitivity >= target
    # and it is the highest such threshold: a hair higher drops below the target
    above = p[p > t]
    if above.size:
        nxt = above.min()
        assert ((p >= nxt) & (y == 1)).sum() / y.sum() < target


def test_specificity_youden_and_cost_presets():
    y, s = separated(500, 1.2, 0.3, 5)
    p = 1 / (1 + np.exp(-s))
    t = choose_threshold(y, p, "specificity", 0.9)
    assert ((p < t) & (y == 0)).sum() / (y == 0).sum() >= 0.9
    youden = choose_threshold(y, p, "youden")

    def j(th):
        return (
            ((p >= th) & (y == 1)).sum() / y.sum()
            + ((p < th) & (y == 0)).sum() / (y == 0).sum()
            - 1
        )

    assert all(j(youden) >= j(th) - 1e-12 for th in np.unique(p))
    cheap, costly = choose_threshold(y, p, "cost", 1.0), choose_threshold(y, p, "cost", 10.0)
    assert costly < cheap  # missing a case costs more: treat at lower probabilities
    with pytest.raises(UserError):
        choose_threshold(y, p, "magic")


def test_binary_clinical_report():
    y, s = separated(400, 1.5, 0.35, 6)
    p = 1 / (1 + np.exp(-(s - 0.7)))
    report = evaluate_binary_clinical(y, p, threshold=0.4, resamples=300)
    assert report.auc.low < report.auc.value < report.auc.high
    assert report.auc.value == pytest.approx(roc_auc_score(y, p))
    c = report.confusion
    assert c["tp"] + c["fn"] == y.sum() and c["tp"] + c["fp"] == (p >= 0.4).sum()
    assert report.at_threshold["sensitivity"].value == pytest.approx(c["tp"] / y.sum())
    assert len(report.roc_band["low"]) == 101 and all(
        lo <= hi for lo, hi in zip(report.roc_band["low"], report.roc_band["high"], strict=True)
    )
    assert set(report.headline()) >= {
        "roc_auc",
        "pr_auc",
        "sensitivity",
        "specificity",
        "ppv",
        "npv",
        "brier",
        "ece",
    }


def test_subgroups_flag_the_group_where_the_model_fails():
    rng = np.random.default_rng(70)
    y, s = separated(1200, 2.0, 0.4, 7)
    site = np.where(rng.random(1200) < 0.25, "B", "A")
    s = np.where(site == "B", rng.normal(0, 1, 1200), s)  # the model is blind at site B
    p = 1 / (1 + np.exp(-(s - 1.0)))
    report = subgroup_report(
        y, p, pd.Series(site), threshold=0.5, tolerance=0.1, column="site", resamples=200
    )
    flags = {r.group: r.flags for r in report.rows}
    assert not [f for f in flags["A"] if "AUC" in f]
    assert any("AUC" in f for f in flags["B"])
    frame = report.to_frame()
    assert list(frame["group"]) == ["all records", "A", "B"]


def test_age_bands():
    ages = pd.Series([30, 49.9, 50, 64, 65, 90, None])
    bands = band_numeric(ages, [50, 65])
    assert list(bands) == ["< 50", "< 50", "50–65", "50–65", "≥ 65", "≥ 65", "missing"]


def test_multiclass_and_regression_reports():
    rng = np.random.default_rng(8)
    y = rng.integers(0, 3, 600)
    logits = rng.normal(0, 1, (600, 3)) + 2 * np.eye(3)[y]
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    report = evaluate_multiclass_clinical(y, probabilities, ["a", "b", "c"], resamples=200)
    for k, name in enumerate("abc"):
        assert report.auc[name].value == pytest.approx(roc_auc_score(y == k, probabilities[:, k]))
    actual = rng.normal(100, 20, 500)
    predicted = actual + rng.normal(3, 10, 500)
    regression = evaluate_regression_clinical(actual, predicted, resamples=300)
    assert regression.mae.value == pytest.approx(np.mean(np.abs(predicted - actual)))
    assert regression.rmse.value == pytest.approx(np.sqrt(np.mean((predicted - actual) ** 2)))
    errors = predicted - actual
    assert regression.bias.value == pytest.approx(errors.mean())
    expected_width = 2 * 1.96 * errors.std() / np.sqrt(len(errors))
    assert regression.bias.high - regression.bias.low == pytest.approx(expected_width, rel=0.2)
    assert bootstrap_mean(np.ones(10)).low == 1.0


@pytest.fixture(scope="module")
def evaluated(tiny_binary):
    from dlcore.evaluate.model_report import clinical_report, evaluation_data
    from dlcore.registry import load_model

    loaded = load_model(tiny_binary.record.id)
    data = evaluation_data(loaded)
    return loaded, data, clinical_report(loaded, data, resamples=200)


def test_test_split_evaluation_matches_the_training_report(tiny_binary, evaluated):
    _, data, report = evaluated
    assert data.external is False and "test split" in data.source
    assert report.n == tiny_binary.report.n
    assert report.auc.value == pytest.approx(tiny_binary.report.roc_auc, abs=1e-6)


def test_external_cohort_needs_the_outcome_column(tiny_binary, breast_cancer, evaluated):
    from dlcore.errors import SchemaMismatchError
    from dlcore.evaluate.model_report import evaluation_data

    loaded = evaluated[0]
    cohort = breast_cancer.frame.sample(150, random_state=3)
    data = evaluation_data(loaded, cohort, source="external cohort")
    assert (
        data.external
        and len(data.y) == 150
        and data.y.sum() == (cohort["diagnosis"] == "malignant").sum()
    )
    with pytest.raises(SchemaMismatchError, match="diagnosis"):
        evaluation_data(loaded, cohort.drop(columns=["diagnosis"]))


def test_recalibration_and_operating_point_are_saved_and_used(tiny_binary, breast_cancer):
    from apptools import snapshot_cards

    restore = snapshot_cards(tiny_binary.record.id)  # leave the shared fixture as it was
    try:
        check_recalibration_and_operating_point(tiny_binary, breast_cancer)
    finally:
        restore()


def check_recalibration_and_operating_point(tiny_binary, breast_cancer) -> None:
    from dlcore.evaluate.model_report import fit_model_recalibration, set_operating_point
    from dlcore.predict import predict
    from dlcore.registry import get_card, load_model

    loaded = load_model(tiny_binary.record.id)
    fitted = fit_model_recalibration(loaded, "temperature")
    assert get_card(loaded.id)["calibration"]["method"] == "temperature"
    set_operating_point(loaded, 0.3, preset="sensitivity", value=0.95, source="test split")
    again = load_model(loaded.id)
    assert again.threshold == 0.3 and again.recalibrator.temperature == fitted.temperature
    result = predict(
        again.model,
        again.layout,
        breast_cancer.frame.head(20),
        threshold=again.threshold,
        recalibrator=again.recalibrator,
    )
    calibrated = fitted.apply(result.output)[:, 0]
    np.testing.assert_allclose(result.table["probability_malignant"], calibrated, rtol=1e-6)
    assert (result.table["decision"] == np.where(calibrated >= 0.3, "malignant", "benign")).all()
    assert "temperature scaling" in result.calibration


def test_model_card_markdown_and_html(evaluated):
    from dlcore.plots.clinical import plot_reliability, plot_roc_with_band
    from dlcore.report.card import model_card_html, model_card_markdown

    loaded, _data, report = evaluated
    card = dict(loaded.card, name="tiny | <script>alert(1)</script>")
    markdown = model_card_markdown(card, report)
    for heading in (
        "## Intended use",
        "## Data",
        "## Performance",
        "## Calibration",
        "## Operating point",
        "## Limitations",
    ):
        assert heading in markdown
    assert (
        "tiny \\| <script>" in markdown.splitlines()[0]
        or "tiny | <script>" in markdown.splitlines()[0]
    )
    page = model_card_html(
        card, report, figures=[plot_roc_with_band(report), plot_reliability(report.calibration)]
    )
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert page.count("<script src=") == 0 and "plotly" in page.lower()
    assert "Not externally validated" in page


def test_cli_evaluate_json(tiny_binary, workspace):
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "dlcore",
            "evaluate",
            "--model",
            tiny_binary.record.id,
            "--resamples",
            "300",
            "--json",
        ],
        cwd=root,
        env={**os.environ, "DLCORE_HOME": str(workspace)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-1500:]
    payload = json.loads(out.stdout)
    auc = payload["metrics"]["roc_auc"]
    assert auc["low"] <= auc["value"] <= auc["high"]
    assert {"brier", "ece", "slope", "calibration_in_the_large"} <= set(payload["calibration"])
    assert payload["operating_point"]["threshold"] == 0.5
