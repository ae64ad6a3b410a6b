"""The external-cohort report: missingness, all-zero ('not measured') columns, out-of-range
shares, SMD and PSI per column, and one sentence on whether the metrics transfer."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from dlcore.evaluate.cohort_shift import PSI_LARGE, SMD_LARGE, cohort_shift

FEATURES = [
    {"name": "age", "kind": "numeric"},
    {"name": "cholesterol", "kind": "numeric"},
    {"name": "sbp", "kind": "numeric"},
    {"name": "smoking", "kind": "categorical"},
]


def _cohort(n: int, seed: int, *, age_mean: float = 60, smoking_p=(0.5, 0.3, 0.2)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(age_mean, 10, n).round(0),
            "cholesterol": rng.normal(5.2, 1.0, n).clip(2.5, 9).round(2),
            "sbp": rng.normal(135, 15, n).round(0),
            "smoking": rng.choice(["never", "former", "current"], n, p=list(smoking_p)),
        }
    )


def test_similar_cohort_is_said_to_transfer():
    report = cohort_shift(_cohort(400, 1), FEATURES, _cohort(800, 0))
    assert report.verdict == "similar"
    assert all(c.severity == "ok" for c in report.columns)
    assert all(abs(c.smd) < 0.2 for c in report.columns if c.smd is not None)
    assert "fair test" in report.sentence


def test_heavy_missingness_zeros_and_shift_are_reported():
    training = _cohort(800, 0)
    external = _cohort(300, 2, age_mean=72, smoking_p=(0.1, 0.2, 0.7))
    external["cholesterol"] = 0.0  # 'not measured' in this hospital
    rng = np.random.default_rng(3)
    external.loc[rng.random(300) < 0.96, "sbp"] = np.nan
    report = cohort_shift(external, FEATURES, training)
    by_name = {c.column: c for c in report.columns}
    chol = by_name["cholesterol"]
    assert chol.all_zero and chol.out_of_range is None  # not called 'outside the training range'
    assert chol.severity == "large"
    assert not any("of values outside the training range" in f for f in chol.flags)
    sbp = by_name["sbp"]
    assert sbp.missing_external == pytest.approx(0.96, abs=0.03)
    assert sbp.flags[0].startswith("missing in 9")
    assert by_name["age"].smd >= SMD_LARGE
    assert by_name["smoking"].psi >= PSI_LARGE
    assert report.verdict == "unlikely"
    assert "'cholesterol'" in report.sentence and "'sbp'" in report.sentence
    payload = report.to_dict()
    assert payload["columns"][1]["all_zero"] is True


def test_out_of_range_share_and_absent_columns_without_training_data():
    summary = [
        {"name": "age", "kind": "numeric", "min": 30.0, "max": 80.0, "missing_share": 0.0},
        {"name": "smoking", "kind": "categorical", "categories": ["never", "current"]},
        {"name": "sbp", "kind": "numeric", "min": 90.0, "max": 200.0},
    ]
    external = pd.DataFrame(
        {"age": [25, 40, 50, 60, 85, 90, 70, 65, 55, 45], "smoking": ["vape"] + ["never"] * 9}
    )
    report = cohort_shift(external, summary)
    by_name = {c.column: c for c in report.columns}
    assert by_name["age"].out_of_range == pytest.approx(0.3)
    assert by_name["age"].smd is None  # no training data: ranges only
    assert by_name["smoking"].unseen_categories == ["vape"]
    assert report.absent_columns == ["sbp"]
    assert report.reference.startswith("training summary")
    assert report.verdict == "unlikely"


def test_evaluate_external_cohort_reports_the_shift(
    isolated_workspace, cohort_dataset, tmp_path, capsys
):
    import json

    from dlcore.cli.main import main
    from dlcore.data import Dataset
    from dlcore.models.spec import ModelSpec
    from dlcore.registry import load_model
    from dlcore.report.card import model_card_markdown
    from dlcore.training.pipeline import train_and_register

    # A fresh Dataset: training saves it into this test's workspace (the session fixture's may
    # already carry the id of another workspace).
    fresh = Dataset("cohort", cohort_dataset.frame, copy.deepcopy(cohort_dataset.schema))
    outcome = train_and_register(fresh, ModelSpec(hidden_units=[8], epochs=2, seed=1))
    external = cohort_dataset.frame.sample(200, random_state=0).copy()
    external["cholesterol"] = 0.0
    external.loc[external.index[:190], "systolic_bp"] = np.nan
    path = tmp_path / "external.csv"
    external.to_csv(path, index=False)
    assert (
        main(
            [
                "evaluate",
                "--model",
                outcome.record.id,
                "--data",
                str(path),
                "--resamples",
                "50",
                "--json",
            ]
        )
        == 0
    )
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    shift = payload["cohort_shift"]
    assert shift["verdict"] == "unlikely"
    assert shift["reference"] == "training data"
    by_name = {c["column"]: c for c in shift["columns"]}
    assert by_name["cholesterol"]["all_zero"] is True
    assert by_name["systolic_bp"]["missing_external"] == pytest.approx(0.95)
    assert by_name["age"]["severity"] == "ok"
    from dlcore.evaluate.model_report import evaluation_data

    data = evaluation_data(load_model(outcome.record.id), external, source="external")
    text = model_card_markdown(load_model(outcome.record.id).card, cohort_shift=data.cohort_shift)
    assert "## External cohort against the training data" in text and "| cholesterol |" in text
