"""Figures from real reports: the traces each plot draws and the values on them
(dlcore.plots.clinical, survival, data, learn)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from dlcore.plots.clinical import (
    plot_decision_curve,
    plot_multiclass_with_bands,
    plot_pr_with_band,
    plot_reliability,
    plot_residuals,
    plot_roc_with_band,
    plot_subgroups,
    plot_threshold_confusion,
)


@pytest.fixture(scope="module")
def binary_case():
    rng = np.random.default_rng(0)
    y = (rng.uniform(size=400) < 0.3).astype(int)
    p = np.clip(0.3 + 0.35 * (y - 0.3) + rng.normal(0, 0.15, 400), 0.01, 0.99)
    return y, p


@pytest.fixture(scope="module")
def binary_report(binary_case):
    from dlcore.evaluate.clinical import evaluate_binary_clinical

    y, p = binary_case
    return evaluate_binary_clinical(y, p, threshold=0.4, resamples=100, source="test split")


def test_roc_has_chance_band_curve_and_operating_point(binary_report):
    fig = plot_roc_with_band(binary_report)
    names = [t.name for t in fig.data]
    assert len(fig.data) == 5  # chance, band (upper, lower), curve, threshold
    assert [t.fill for t in fig.data].count("tonexty") == 1
    point = fig.data[-1]
    assert point.name == "threshold 0.40"
    at = binary_report.at_threshold
    assert point.x[0] == pytest.approx(1 - at["specificity"].value)
    assert point.y[0] == pytest.approx(at["sensitivity"].value)
    assert any(n and n.startswith("model (AUC") for n in names)
    assert "test split" in fig.layout.title.text


def test_pr_chance_line_is_the_prevalence(binary_report, binary_case):
    y, _ = binary_case
    fig = plot_pr_with_band(binary_report)
    assert len(fig.data) == 4
    assert list(fig.data[0].y) == pytest.approx([y.mean(), y.mean()])


def test_reliability_points_are_the_bins(binary_report):
    fig = plot_reliability(binary_report.calibration)
    bins = binary_report.calibration.bins
    observed = [t for t in fig.data if t.mode and "markers" in t.mode]
    assert observed, "no observed points"
    assert list(observed[0].x) == pytest.approx([b.mean_predicted for b in bins])


def test_decision_curve_draws_model_all_none_and_marks_the_threshold(binary_report):
    curve = binary_report.decision
    fig = plot_decision_curve(curve, 0.2)
    assert [t.name for t in fig.data][:3] == ["model", "treat all", "treat none"]
    assert list(fig.data[0].y) == pytest.approx(list(curve.model))
    assert all(v == 0 for v in fig.data[2].y)
    unmarked = plot_decision_curve(curve, None)
    assert len(unmarked.layout.shapes) <= len(fig.layout.shapes)


def test_threshold_confusion_cells_are_the_counts():
    fig = plot_threshold_confusion({"tp": 7, "fp": 3, "tn": 20, "fn": 2}, "sick", "well", 0.25)
    z = np.asarray(fig.data[0].z)
    assert z.sum() == 32 and z.max() == 20
    assert "0.250" in fig.layout.title.text


def test_subgroup_forest_has_one_point_per_group_and_overall(binary_case):
    import pandas as pd

    from dlcore.evaluate.clinical import subgroup_report

    y, p = binary_case
    groups = pd.Series(np.where(np.arange(len(y)) % 2 == 0, "a", "b"))
    report = subgroup_report(y, p, groups, threshold=0.4, resamples=50, column="arm")
    fig = plot_subgroups(report)
    assert len(fig.data) == 1
    assert len(fig.data[0].x) == 3  # overall, a, b
    assert fig.data[0].x[0] == pytest.approx(report.overall.auc.value)
    assert fig.layout.title.text == "ROC AUC by arm"


def test_multiclass_and_residual_figures():
    from dlcore.evaluate.clinical import (
        evaluate_multiclass_clinical,
        evaluate_regression_clinical,
    )

    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 300)
    probabilities = rng.dirichlet([1, 1, 1], 300)
    probabilities[np.arange(300), y] += 1.0
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    report = evaluate_multiclass_clinical(y, probabilities, ["a", "b", "c"], resamples=30)
    fig = plot_multiclass_with_bands(report)
    assert len(fig.data) == 4  # chance and one curve per class
    truth = rng.normal(50, 10, 200)
    predicted = truth + rng.normal(2, 3, 200)
    regression = evaluate_regression_clinical(truth, predicted, resamples=30)
    residuals = plot_residuals(regression)
    points = residuals.data[0]
    assert len(points.x) == 200
    assert np.mean(points.y) == pytest.approx(np.mean(predicted - truth), abs=1e-6)


def test_survival_curves_and_kaplan_meier():
    from dlcore.evaluate.survival import kaplan_meier
    from dlcore.plots.survival import plot_kaplan_meier, plot_survival_curves

    fig = plot_survival_curves(
        [0, 1, 2, 3],
        {"this patient": [1, 0.9, 0.7, 0.5], "average": [1, 0.95, 0.85, 0.8]},
        marks=[1.5, 2.5],
    )
    assert len(fig.data) == 2 and fig.data[0].line.width == 3
    assert list(fig.data[1].y) == [1, 0.95, 0.85, 0.8]
    assert len(fig.layout.shapes) == 2

    rng = np.random.default_rng(2)
    groups = []
    for name, scale in (("low risk", 20.0), ("high risk", 5.0)):
        time = rng.exponential(scale, 60) + 0.1
        event = (rng.uniform(size=60) < 0.7).astype(int)
        groups.append(kaplan_meier(time, event, name))
    report = SimpleNamespace(
        risk_groups=groups,
        predicted_groups=[{"group": "low risk", "times": [5.0, 10.0], "survival": [0.8, 0.6]}],
    )
    km = plot_kaplan_meier(report, time_label="months")
    assert len(km.data) == 3  # two observed, one predicted
    assert km.data[0].name.startswith("low risk: observed (60 patients")
    assert list(km.data[1].y) == [1.0, 0.8, 0.6]
    assert km.layout.xaxis.title.text == "months"


def test_data_figures_show_the_counts():
    from dlcore.plots.data import plot_category_counts, plot_class_balance, plot_histogram

    balance = plot_class_balance({"benign": 357, "malignant": 212}, "malignant")
    assert list(balance.data[0].y) == [357, 212]
    colors = list(balance.data[0].marker.color)
    assert colors[0] != colors[1]  # the positive class stands out
    hist = plot_histogram({"counts": [1, 4, 2], "edges": [0.0, 1.0, 2.0, 3.0]}, "age")
    assert list(hist.data[0].x) == [0.5, 1.5, 2.5] and list(hist.data[0].y) == [1, 4, 2]
    cats = plot_category_counts({"never": 5, "current": 3}, "smoking")
    assert list(cats.data[0].x) == ["never", "current"] and list(cats.data[0].y) == [5, 3]


def test_learn_activation_figure_has_one_curve_per_function():
    from dlcore.plots.learn import plot_activations
    from dlcore.teach.concepts import activation_curves

    curves = activation_curves()
    fig = plot_activations(curves, ["relu", "sigmoid"])
    assert [t.name for t in fig.data] == ["relu", "sigmoid"]
    relu = np.asarray(fig.data[0].y)
    assert relu.min() == 0 and np.allclose(relu, np.maximum(np.asarray(curves["x"]), 0))
    slopes = plot_activations(curves, ["sigmoid"], derivative=True)
    assert max(slopes.data[0].y) == pytest.approx(0.25, abs=1e-3)
