"""Intervals, the shared 'too few cases' rule, and baselines fitted on the same split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_absolute_error, roc_auc_score

from dlcore.evaluate.baselines import baseline_sentence, compare, fit_baselines
from dlcore.evaluate.intervals import headline_intervals, paired_difference
from dlcore.evaluate.metrics import TOO_FEW, reportability


def test_one_positive_is_too_few_to_judge():
    verdict = reportability("binary", np.array([1] + [0] * 30))
    assert not verdict.judgeable and verdict.label == TOO_FEW == "too few cases to judge"
    assert (verdict.records, verdict.events, verdict.non_events) == (31, 1, 30)
    ok = reportability("binary", np.array([1] * 10 + [0] * 10))
    assert ok.judgeable and ok.label == ""
    assert not reportability(
        "survival", np.c_[np.arange(40.0) + 1, np.r_[np.ones(9), np.zeros(31)]]
    ).judgeable
    assert not reportability("multiclass", np.array([0] * 20 + [1] * 20 + [2] * 9)).judgeable
    assert not reportability("regression", np.arange(9.0)).judgeable


def test_binary_intervals_bracket_the_sklearn_values():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p = np.clip(0.3 * y + rng.uniform(0, 0.7, 300), 0, 1)
    ci = headline_intervals("binary", y, p, resamples=500)
    assert ci["roc_auc"].value == pytest.approx(roc_auc_score(y, p))
    assert ci["brier"].value == pytest.approx(np.mean((p - y) ** 2))
    assert ci["accuracy"].value == pytest.approx(np.mean((p >= 0.5) == y))
    for interval in ci.values():
        assert interval.low <= interval.value <= interval.high
    assert 0.02 < ci["roc_auc"].high - ci["roc_auc"].low < 0.2


def test_regression_and_paired_intervals():
    rng = np.random.default_rng(1)
    y = rng.normal(0, 1, 200)
    good, bad = y + rng.normal(0, 0.3, 200), y + rng.normal(0, 1.0, 200)
    ci = headline_intervals("regression", y, good, resamples=300)
    assert ci["mae"].value == pytest.approx(mean_absolute_error(y, good))
    assert ci["mae"].low < ci["mae"].value < ci["mae"].high
    diff = paired_difference("regression", y, good, bad, resamples=300)
    assert diff.high < 0  # the good model errs clearly less
    labels = (y > 0).astype(int)
    same = paired_difference("binary", labels, good, good, resamples=200)
    assert same.value == 0 and same.low == 0 and same.high == 0


def test_baselines_fit_on_the_same_split_and_the_sentence_names_the_better():
    rng = np.random.default_rng(2)
    n = 600
    x = rng.normal(0, 1, (n, 3))
    group = rng.choice(["a", "b"], n).astype(object)
    y = (rng.random(n) < 1 / (1 + np.exp(-(1.5 * x[:, 0] - x[:, 1])))).astype(int)
    features = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2], "g": group})
    kinds = {"x0": "numeric", "x1": "numeric", "x2": "numeric", "g": "categorical"}
    fit_rows, test_rows = np.arange(400), np.arange(400, n)
    fitted = fit_baselines("binary", features, y, kinds, fit_rows, test_rows, resamples=200)
    assert [b.name for b in fitted] == ["logistic", "boosting"]
    logistic = fitted[0]
    assert 0.75 < logistic.metrics["roc_auc"]["value"] < 0.95
    assert logistic.metrics["roc_auc"]["low"] < logistic.metrics["roc_auc"]["value"]
    noise = rng.uniform(0, 1, (len(test_rows), 1))  # a useless "network"
    ours = {"roc_auc": headline_intervals("binary", y[test_rows], noise)["roc_auc"].to_dict()}
    comparison = compare("binary", y[test_rows], noise, ours, fitted, resamples=200)
    assert comparison["verdict"] == "worse"
    assert comparison["baseline"] in ("logistic", "boosting")
    sentence = baseline_sentence({"baseline_comparison": comparison})
    assert sentence.startswith("On these records the network does worse than")
    assert "AUC" in sentence and " vs " in sentence
    assert baseline_sentence({}) == ""


def test_a_large_development_part_fits_the_baselines_on_a_seeded_subset(monkeypatch):
    from dlcore.evaluate import baselines
    from dlcore.report.card import _training_uncertainty

    monkeypatch.setattr(baselines, "MAX_FIT_RECORDS", 150)
    rng = np.random.default_rng(3)
    n = 500
    x = rng.normal(0, 1, (n, 2))
    y = (x[:, 0] + rng.normal(0, 0.5, n) > 0).astype(int)
    features = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1]})
    kinds = {"x0": "numeric", "x1": "numeric"}
    fitted = fit_baselines("binary", features, y, kinds, np.arange(400), np.arange(400, n))
    assert [(b.fit_records, b.development_records) for b in fitted] == [(150, 400)] * 2
    assert fitted[0].metrics["roc_auc"]["value"] > 0.8  # 150 records suffice for a reference
    assert fitted[0].to_dict()["fit_records"] == 150
    again = fit_baselines("binary", features, y, kinds, np.arange(400), np.arange(400, n))
    assert again[1].metrics == fitted[1].metrics  # the subset is seeded
    ours = {"roc_auc": fitted[0].metrics["roc_auc"]}
    comparison = compare("binary", y[400:], fitted[0].output, ours, fitted, resamples=100)
    card = {"metrics_ci": ours, "baselines": [b.to_dict() for b in fitted]}
    card["baseline_comparison"] = comparison
    text = "\n".join(_training_uncertainty(card))
    assert "fitted on a random 150 of the 400 development records" in text
    small = fit_baselines("binary", features, y, kinds, np.arange(100), np.arange(400, n))
    assert small[0].fit_records == small[0].development_records == 100


def test_multiclass_bootstrap_scores_equal_scikit_learn():
    from sklearn.metrics import f1_score

    from dlcore.evaluate.intervals import macro_f1, rank_auc

    rng = np.random.default_rng(5)
    for n, k in ((40, 3), (200, 10), (7, 4)):
        y = rng.integers(0, k, n)
        scores = np.round(rng.random((n, k)), 1)  # rounded: many ties
        predicted = scores.argmax(axis=1)
        expected_f1 = f1_score(
            y, predicted, labels=list(range(k)), average="macro", zero_division=0
        )
        assert macro_f1(y, predicted, k) == pytest.approx(expected_f1, abs=1e-12)
        for c in range(k):
            if 0 < (y == c).sum() < n:
                expected = roc_auc_score(y == c, scores[:, c])
                assert rank_auc(y == c, scores[:, c]) == pytest.approx(expected, abs=1e-12)
            else:
                assert np.isnan(rank_auc(y == c, scores[:, c]))


def test_numeric_columns_imputed_in_groups_give_the_same_values(monkeypatch):
    """A large fit imputes and scales the numeric columns a group at a time (issue 15: the
    median imputer held four copies of its input); every value is the same as in one group."""
    from dlcore.evaluate import baselines

    rng = np.random.default_rng(5)
    n = 400
    frame = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(7)})
    frame.loc[rng.random(n) < 0.2, "x2"] = np.nan
    frame["arm"] = pd.Series(rng.choice(["a", "b", "c"], n), dtype="str")
    kinds = {**{f"x{i}": "numeric" for i in range(7)}, "arm": "categorical"}
    monkeypatch.setattr(baselines, "NUMERIC_GROUP_CELLS", 3 * n)  # three columns a group
    for scale in (True, False):
        whole = baselines.preprocessor(kinds, scale=scale).fit(frame)
        grouped = baselines.preprocessor(kinds, scale=scale, rows=n).fit(frame)
        names = [name for name, *_ in grouped.transformers]
        assert names == ["numeric_1", "numeric_2", "numeric_3", "categorical"]
        assert [len(columns) for *_, columns in grouped.transformers] == [3, 3, 1, 1]
        assert [name for name, *_ in whole.transformers] == ["numeric", "categorical"]
        out = grouped.transform(frame)
        assert out.shape == (n, 10) and not np.isnan(out).any()
        np.testing.assert_array_equal(out, whole.transform(frame))
