"""Metrics against hand computation, report round trips, and the plotly figures built from them."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from dlcore.evaluate.metrics import (
    evaluate,
    evaluate_binary,
    evaluate_multiclass,
    evaluate_regression,
    key_metric,
    report_from_dict,
    report_to_dict,
    threshold_metrics,
    youden_threshold,
)
from dlcore.plots.data import (
    plot_category_counts,
    plot_class_balance,
    plot_histogram,
    plot_missingness,
)
from dlcore.plots.explain import plot_beeswarm, plot_dependence, plot_importance, plot_waterfall
from dlcore.plots.metrics import (
    binary_confusion,
    plot_confusion,
    plot_multiclass_roc,
    plot_pr,
    plot_regression,
    plot_report,
    plot_roc,
)
from dlcore.plots.training import plot_compare_histories, plot_history

# y: 5 positives, 5 negatives. At 0.5: TP 4, FN 1, FP 2, TN 3.
Y = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
P = np.array([0.9, 0.8, 0.7, 0.5, 0.2, 0.6, 0.55, 0.4, 0.3, 0.1])


def test_threshold_metrics_on_a_hand_made_confusion_table():
    m = threshold_metrics(Y, P, 0.5)
    assert (m.tp, m.fn, m.fp, m.tn) == (4, 1, 2, 3)
    assert m.threshold == 0.5
    assert m.accuracy == pytest.approx(7 / 10)
    assert m.sensitivity == pytest.approx(4 / 5)
    assert m.specificity == pytest.approx(3 / 5)
    assert m.ppv == pytest.approx(4 / 6)
    assert m.npv == pytest.approx(3 / 4)
    assert m.f1 == pytest.approx(2 * 4 / (2 * 4 + 2 + 1))


def test_threshold_metrics_edges():
    everything = threshold_metrics(Y, P, 0.0)
    assert (everything.tp, everything.fp, everything.tn, everything.fn) == (5, 5, 0, 0)
    assert everything.sensitivity == 1.0 and everything.specificity == 0.0
    assert math.isnan(everything.npv)  # no predicted negatives: undefined, not zero
    nothing = threshold_metrics(Y, P, 1.01)
    assert math.isnan(nothing.ppv)
    assert nothing.specificity == 1.0


def test_perfect_score():
    y = np.array([0, 0, 1, 1, 0, 1] * 20)
    p = np.where(y == 1, 0.9, 0.1)
    report = evaluate_binary(y, p, positive_class="malignant")
    assert report.roc_auc == 1.0
    assert report.pr_auc == 1.0
    assert report.brier == pytest.approx(0.01)
    assert report.at_half.accuracy == 1.0
    assert report.prevalence == pytest.approx(0.5)
    assert report.n == 120
    assert report.positive_class == "malignant"
    assert report.youden_source == "evaluation data"


def test_random_score_has_auc_near_half():
    rng = np.random.default_rng(42)
    y = rng.integers(0, 2, 4000)
    p = rng.random(4000)
    report = evaluate_binary(y, p)
    assert abs(report.roc_auc - 0.5) <= 0.05
    assert abs(report.pr_auc - y.mean()) <= 0.05
    assert len(report.roc.x) <= 400  # curves are thinned for storage and plotting
    assert report.roc.x[0] == 0.0 and report.roc.x[-1] == 1.0


def test_roc_auc_matches_the_rank_statistic():
    # AUC = P(score of a random positive > score of a random negative), ties counting half
    pos, neg = P[Y == 1], P[Y == 0]
    pairs = [(a > b) + 0.5 * (a == b) for a in pos for b in neg]
    assert evaluate_binary(Y, P).roc_auc == pytest.approx(np.mean(pairs))


def test_youden_threshold_comes_from_validation():
    rng = np.random.default_rng(0)
    y_val = rng.integers(0, 2, 300)
    p_val = np.clip(0.3 * y_val + rng.normal(0.35, 0.15, 300), 0, 1)
    t_val = youden_threshold(y_val, p_val)
    report = evaluate_binary(Y, P, youden_from=(y_val, p_val))
    assert report.youden_source == "validation"
    assert report.at_youden.threshold == pytest.approx(t_val)
    assert report.at_youden == threshold_metrics(Y, P, t_val)
    assert t_val != pytest.approx(youden_threshold(Y, P))
    # through evaluate(), the same
    via = evaluate("binary", Y, P.reshape(-1, 1), validation=(y_val, p_val.reshape(-1, 1)))
    assert via.at_youden.threshold == pytest.approx(t_val)


def test_youden_threshold_maximises_j():
    t = youden_threshold(Y, P)
    m = threshold_metrics(Y, P, t)
    best = max(
        threshold_metrics(Y, P, c).sensitivity + threshold_metrics(Y, P, c).specificity
        for c in np.unique(P)
    )
    assert m.sensitivity + m.specificity == pytest.approx(best)
    assert youden_threshold(np.zeros(5), np.linspace(0, 1, 5)) == 0.5


def test_multiclass_report_on_a_known_case():
    y = np.array([0, 1, 2, 0, 1, 2])
    probabilities = np.array(
        [
            [0.8, 0.1, 0.1],
            [0.1, 0.7, 0.2],
            [0.2, 0.5, 0.3],
            [0.6, 0.3, 0.1],
            [0.1, 0.3, 0.6],
            [0.1, 0.1, 0.8],
        ]
    )
    report = evaluate_multiclass(y, probabilities, ["low", "medium", "high"])
    assert report.accuracy == pytest.approx(4 / 6)
    assert report.confusion == [[2, 0, 0], [0, 1, 1], [0, 1, 1]]
    per_class = {row["class"]: row for row in report.per_class}
    assert per_class["low"]["recall"] == 1.0 and per_class["low"]["precision"] == 1.0
    assert per_class["medium"]["recall"] == 0.5 and per_class["medium"]["precision"] == 0.5
    assert per_class["high"]["support"] == 2
    assert per_class["low"]["auc"] == 1.0
    assert report.macro_f1 == pytest.approx((1.0 + 0.5 + 0.5) / 3)
    assert report.macro_auc == pytest.approx(np.mean([r["auc"] for r in report.per_class]))
    assert set(report.roc) == {"low", "medium", "high"}
    assert key_metric(report) == ("macro_auc", report.macro_auc)


def test_regression_metrics_against_hand_computation():
    y = np.array([10.0, 20.0, 30.0, 40.0])
    predicted = np.array([12.0, 18.0, 33.0, 40.0])
    report = evaluate_regression(y, predicted)
    errors = predicted - y
    assert report.mae == pytest.approx(np.mean(np.abs(errors)))  # 1.75
    assert report.mae == pytest.approx(1.75)
    assert report.rmse == pytest.approx(np.sqrt(np.mean(errors**2)))  # sqrt(17/4)
    ss_res = np.sum(errors**2)
    ss_tot = np.sum((y - y.mean()) ** 2)
    assert report.r2 == pytest.approx(1 - ss_res / ss_tot)  # 1 - 17/500
    assert report.actual == y.tolist() and report.predicted == predicted.tolist()
    assert key_metric(report) == ("mae", pytest.approx(1.75))


def test_regression_sample_is_capped():
    rng = np.random.default_rng(0)
    y = rng.normal(size=5000)
    report = evaluate_regression(y, y + 0.1, max_points=300)
    assert report.n == 5000
    assert len(report.actual) == len(report.predicted) == 300
    np.testing.assert_allclose(np.array(report.predicted) - np.array(report.actual), 0.1)


def _round_trip(report):
    data = json.loads(json.dumps(report_to_dict(report)))
    return report_from_dict(data)


def test_report_round_trips():
    binary = evaluate_binary(Y, P, positive_class="1")
    assert _round_trip(binary) == binary
    y = np.array([0, 1, 2, 0, 1, 2, 2, 0])
    probs = np.random.default_rng(1).dirichlet([1, 1, 1], size=8)
    multi = evaluate_multiclass(y, probs, ["a", "b", "c"])
    assert _round_trip(multi) == multi
    regression = evaluate_regression(np.arange(10.0), np.arange(10.0) * 1.1)
    assert _round_trip(regression) == regression
    assert binary.headline()["roc_auc"] == _round_trip(binary).headline()["roc_auc"]


# -- plots -----------------------------------------------------------------------------------


def _traces(fig) -> int:
    assert isinstance(fig, go.Figure)
    return len(fig.data)


def test_binary_plots():
    report = evaluate_binary(Y, P)
    roc = plot_roc(report)
    assert _traces(roc) == 3
    assert list(roc.data[1].x) == report.roc.x
    assert roc.data[2].x[0] == pytest.approx(1 - report.at_youden.specificity)
    assert _traces(plot_pr(report)) == 2
    matrix, labels = binary_confusion(report)
    assert matrix == [[3, 2], [1, 4]]
    heat = plot_confusion(matrix, labels)
    assert _traces(heat) == 1
    assert np.asarray(heat.data[0].z).tolist() == [[3, 2], [1, 4]]
    figures = plot_report(report)
    assert [_traces(f) for f in figures] == [3, 2, 1]


def test_history_plots():
    history = {"loss": [0.7, 0.5, 0.4], "val_loss": [0.72, 0.6, 0.62], "auc": [0.6, 0.7, 0.8]}
    with_val = plot_history(history, "loss", best_epoch=2)
    assert _traces(with_val) == 2
    assert list(with_val.data[1].y) == [0.72, 0.6, 0.62]
    assert list(with_val.data[0].x) == [1, 2, 3]
    assert _traces(plot_history(history, "auc")) == 1
    assert _traces(plot_history(history, "mae")) == 0
    compare = plot_compare_histories({"a": history, "b": history}, "loss")
    assert _traces(compare) == 2


def test_multiclass_and_regression_plots():
    y = np.array([0, 1, 2, 0, 1, 2])
    probs = np.eye(3)[[0, 1, 1, 0, 2, 2]] * 0.7 + 0.1
    multi = evaluate_multiclass(y, probs, ["a", "b", "c"])
    assert _traces(plot_multiclass_roc(multi)) == 4  # chance + one per class
    assert [_traces(f) for f in plot_report(multi)] == [4, 1]
    regression = evaluate_regression(np.arange(5.0), np.arange(5.0) + 1)
    fig = plot_regression(regression)
    assert _traces(fig) == 2
    assert list(fig.data[1].x) == regression.actual


def test_data_plots():
    missing = plot_missingness({"a": 0.0, "b": 0.25, "c": 0.5})
    assert _traces(missing) == 1
    assert list(missing.data[0].y) == ["b", "c"]  # columns without missing values left out
    balance = plot_class_balance({"benign": 357, "malignant": 212}, "malignant")
    assert _traces(balance) == 1 and list(balance.data[0].y) == [357, 212]
    histogram = plot_histogram({"counts": [1, 3, 2], "edges": [0.0, 1.0, 2.0, 3.0]}, "x")
    assert _traces(histogram) == 1
    assert list(histogram.data[0].x) == [0.5, 1.5, 2.5]
    assert _traces(plot_category_counts({"a": 2, "b": 5}, "site")) == 1


def test_explanation_plots():
    from dlcore.explain.tabular import Explanation

    rng = np.random.default_rng(0)
    values = rng.normal(size=(6, 4, 1))
    data = pd.DataFrame(
        {"age": rng.normal(60, 5, 6), "sex": ["m", "f"] * 3, "bp": rng.normal(size=6), "x": 1.0}
    )
    explanation = Explanation(
        values=values,
        base_values=np.array([0.3]),
        outputs=values.sum(axis=1) + 0.3,
        features=["age", "sex", "bp", "x"],
        output_names=["P(1)"],
        data=data,
        method="deep",
        task="binary",
    )
    contributions = explanation.contributions(0)
    waterfall = plot_waterfall(
        contributions, 0.3, float(explanation.outputs[0, 0]), output_label="P", max_features=2
    )
    assert _traces(waterfall) == 1
    assert len(waterfall.data[0].y) == 4  # two features, "2 other features", the prediction
    assert _traces(plot_importance(explanation.importance())) == 1
    assert _traces(plot_beeswarm(explanation)) == 4
    assert _traces(plot_beeswarm(explanation, max_features=2)) == 2
    assert _traces(plot_dependence(explanation, "sex")) == 1
