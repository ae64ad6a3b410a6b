"""`train --json` carries intervals, counts and baselines; bad folds and thresholds exit 2.

Runs the command line in-process (``dlcore.cli.main.main``) to spare a TensorFlow start per call.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dlcore.cli.main import main
from dlcore.data.synthetic import make_cohort


def _run(capsys, *args: str) -> tuple[int, dict]:
    code = main(list(args))
    out = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    return code, json.loads(out[-1]) if out else {}


@pytest.fixture(scope="module")
def small_table(tmp_path_factory):
    frame = make_cohort(300, seed=3).drop(columns=["patient_id", "name", "email"])
    path = tmp_path_factory.mktemp("honest") / "cohort.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def one_positive_table(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame({"a": rng.normal(0, 1, n), "b": rng.normal(0, 1, n)})
    frame["outcome"] = 0
    frame.loc[:4, "outcome"] = 1  # 5 positives: a stratified 20% test split holds 1
    path = tmp_path_factory.mktemp("few") / "few.csv"
    frame.to_csv(path, index=False)
    return path


def test_train_json_has_intervals_counts_baselines_and_the_card_too(capsys, small_table):
    code, out = _run(
        capsys, "train", "--data", str(small_table), "--target", "outcome", "--epochs", "3",
        "--cv", "0", "--json",
    )  # fmt: skip
    assert code == 0, out
    ci = out["metrics_ci"]
    assert set(ci) >= {"roc_auc", "pr_auc", "sensitivity", "specificity", "brier"}
    assert ci["roc_auc"]["low"] <= ci["roc_auc"]["value"] <= ci["roc_auc"]["high"]
    counts = out["test_counts"]
    assert counts["records"] == out["split"]["test"] == 60
    assert counts["events"] + counts["non_events"] == 60
    assert [b["name"] for b in out["baselines"]] == ["logistic", "boosting"]
    assert all("roc_auc" in b["metrics"] for b in out["baselines"])
    assert out["baseline_sentence"].startswith("On these records the network")
    assert out["cross_validation"] is None

    from dlcore.registry import load_model
    from dlcore.report.card import model_card_html, model_card_markdown

    card = load_model(out["model_id"]).card
    assert [b["name"] for b in card["baselines"]] == ["logistic", "boosting"]
    assert card["baseline_comparison"]["sentence"] == out["baseline_sentence"]
    assert card["metrics_ci"]["roc_auc"] == pytest.approx(ci["roc_auc"])
    markdown = model_card_markdown(card)
    assert out["baseline_sentence"] in markdown
    assert "logistic regression" in markdown and "gradient boosting" in markdown
    assert "with 95% intervals" in model_card_html(card)


def test_a_split_with_one_positive_is_too_few_to_judge(capsys, one_positive_table):
    code, out = _run(
        capsys, "train", "--data", str(one_positive_table), "--target", "outcome",
        "--epochs", "2", "--cv", "0", "--json",
    )  # fmt: skip
    assert code == 0, out
    assert out["test_counts"]["events"] == 1
    assert out["judgement"] == "too few cases to judge"
    from dlcore.registry import load_model
    from dlcore.report.card import model_card_markdown

    card = load_model(out["model_id"]).card
    assert card["test_counts"]["label"] == "too few cases to judge"
    assert "Too few cases to judge" in model_card_markdown(card)


def test_cross_validation_reports_an_interval_then_trains(capsys, small_table):
    code, out = _run(
        capsys, "train", "--data", str(small_table), "--target", "outcome", "--epochs", "2",
        "--cv", "3", "--cv-repeats", "1", "--json",
    )  # fmt: skip
    assert code == 0, out
    cv = out["cross_validation"]
    assert (cv["folds"], cv["repeats"], cv["records"]) == (3, 1, 300)
    assert len(cv["fold_values"]) == 3
    auc = cv["metrics"]["roc_auc"]
    assert auc["low"] < auc["value"] < auc["high"]
    assert cv["sentence"].startswith("Cross-validated roc_auc")
    assert out["model_id"]


def test_too_many_folds_exit_2_naming_the_count(capsys, one_positive_table):
    code, out = _run(
        capsys, "train", "--data", str(one_positive_table), "--target", "outcome",
        "--cv", "10", "--json",
    )  # fmt: skip
    assert code == 2
    assert "only 5 records of the smallest class" in out["error"]
    assert "Expected at most 5 folds" in out["error"] and "Fix:" in out["error"]


@pytest.mark.parametrize("threshold", ["7", "nan", "-0.1"])
def test_thresholds_outside_0_1_exit_2(capsys, threshold):
    code, out = _run(capsys, "evaluate", "--model", "m-none", "--threshold", threshold, "--json")
    assert code == 2
    assert f"--threshold {float(threshold)}" in out["error"]
    assert "between 0 and 1" in out["error"] and "Fix:" in out["error"]


def test_evaluate_reports_a_split_under_10_records_with_the_training_label(
    capsys, tmp_path_factory
):
    """`evaluate` used to refuse splits under 10 records ('expected at least 10 records') that
    `train` reported; both now report them, labelled by the one rule (reportability)."""
    rng = np.random.default_rng(1)
    n = 45
    frame = pd.DataFrame({"a": rng.normal(0, 1, n), "b": rng.normal(0, 1, n)})
    frame["outcome"] = 0
    frame.loc[:4, "outcome"] = 1  # 5 positives: the 9-record test split holds 1
    folder = tmp_path_factory.mktemp("tiny")
    frame.to_csv(folder / "tiny.csv", index=False)
    code, trained = _run(
        capsys, "train", "--data", str(folder / "tiny.csv"), "--target", "outcome",
        "--epochs", "1", "--cv", "0", "--json",
    )  # fmt: skip
    assert code == 0, trained
    assert trained["test_counts"]["records"] == 9
    assert trained["judgement"] == "too few cases to judge"

    code, out = _run(capsys, "evaluate", "--model", trained["model_id"], "--json")
    assert code == 0, out
    assert out["n"] == 9 and out["judgement"] == "too few cases to judge"
    assert out["test_counts"] == trained["test_counts"]
    auc = out["metrics"]["roc_auc"]
    assert 0 <= auc["low"] <= auc["value"] <= auc["high"] <= 1

    # an external cohort of 6 records without the outcome: reported too, the AUC undefined
    frame.iloc[10:16].to_csv(folder / "six.csv", index=False)
    code, out = _run(
        capsys, "evaluate", "--model", trained["model_id"], "--data", str(folder / "six.csv"),
        "--json",
    )  # fmt: skip
    assert code == 0, out
    assert out["n"] == 6 and out["judgement"] == "too few cases to judge"
    assert (out["test_counts"]["events"], out["test_counts"]["non_events"]) == (0, 6)
    assert out["metrics"]["roc_auc"]["value"] is None  # NaN: undefined without the outcome
    assert 0 <= out["calibration"]["brier"] <= 1
