"""The data-quality report: duplicates, constants, missingness, balance, leakage, suspicious zeros."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from apptools import shared_file

from dlcore.data import infer_schema, quality_report, read_table


@pytest.fixture(scope="module")
def messy() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame(
        {
            "age": rng.normal(60, 10, n).round(3),
            "bmi": rng.normal(27, 4, n).round(1),
            "site": rng.choice(["north", "south", "east"], n),
            "ward": ["A"] * n,
            "y": rng.choice([0, 1], n, p=[0.6, 0.4]),
        }
    )
    frame["age_copy"] = frame["age"]
    frame.loc[: n // 4 - 1, "bmi"] = np.nan  # 50 of 200 missing
    frame = pd.concat([frame, frame.iloc[[3, 7, 7]]], ignore_index=True)  # 3 duplicate rows
    return frame


def test_counts_duplicates_constants_and_missing(messy):
    schema = infer_schema(messy, "y")
    report = quality_report(messy, schema)
    assert report.n_rows == 203
    assert report.n_columns == 6
    assert report.duplicate_rows == 3
    assert report.duplicate_columns == [("age", "age_copy")]
    assert report.constant_columns == ["ward"]
    assert report.missing_share["bmi"] == pytest.approx(
        (50 + sum(messy.loc[[3, 7, 7], "bmi"].isna())) / 203
    )
    assert report.missing_share["age"] == 0.0
    counts = messy["y"].value_counts()
    assert report.class_counts == {"0": int(counts[0]), "1": int(counts[1])}
    assert report.positive_class == "1"
    warnings = " ".join(report.warnings)
    assert "3 record(s) are exact duplicates" in warnings
    assert "'age_copy' is an exact copy of 'age'" in warnings
    assert not any("imbalanced" in w for w in report.warnings)


def test_kind_counts_match_schema(messy):
    schema = infer_schema(messy, "y")
    report = quality_report(messy, schema)
    expected: dict[str, int] = {}
    for col in schema.columns:
        expected[col.kind] = expected.get(col.kind, 0) + 1
    assert report.kind_counts == expected
    assert sum(report.kind_counts.values()) == messy.shape[1]


def test_high_missing_share_is_a_warning():
    a = [float(i % 7) if i % 4 == 0 else np.nan for i in range(40)]  # varies: a feature
    frame = pd.DataFrame({"a": a, "b": np.arange(40.0)})
    report = quality_report(frame, infer_schema(frame))
    assert report.missing_share["a"] == 0.75
    assert any("'a' is missing in 75%" in w for w in report.warnings)
    assert not any("'b' is missing" in w for w in report.warnings)


def test_imbalance_warning_on_five_percent_positives():
    rng = np.random.default_rng(1)
    n = 400
    frame = pd.DataFrame({"x": rng.normal(size=n), "y": [1] * 20 + [0] * 380})
    report = quality_report(frame, infer_schema(frame, "y"))
    assert report.class_counts == {"0": 380, "1": 20}
    imbalance = [w for w in report.warnings if "imbalanced" in w]
    assert len(imbalance) == 1
    assert "'1' is 5.0%" in imbalance[0]


def test_leakage_column_equal_to_target_plus_noise():
    rng = np.random.default_rng(2)
    n = 300
    y = rng.choice([0, 1], n)
    frame = pd.DataFrame(
        {
            "honest": rng.normal(size=n) + 0.5 * y,
            "copy_of_y": y + rng.normal(0, 0.05, n),
            "y": y,
        }
    )
    report = quality_report(frame, infer_schema(frame, "y"))
    suspects = {s.column: s for s in report.leakage_suspects}
    assert set(suspects) == {"copy_of_y"}
    assert suspects["copy_of_y"].score >= 0.98
    assert suspects["copy_of_y"].metric == "AUC"
    assert "almost perfectly" in suspects["copy_of_y"].reason
    assert report.association["honest"] < 0.9
    assert any(w.startswith("Possible leakage") and "copy_of_y" in w for w in report.warnings)


def test_regression_leakage_uses_correlation():
    rng = np.random.default_rng(3)
    n = 200
    y = rng.normal(50, 10, n)
    frame = pd.DataFrame({"x": rng.normal(size=n), "y_again": y * 2 + 1, "y": y})
    schema = infer_schema(frame, "y")
    assert schema.task == "regression"
    report = quality_report(frame, schema)
    assert report.association_metric == "|correlation|"
    assert [s.column for s in report.leakage_suspects] == ["y_again"]
    assert report.target_summary["min"] == pytest.approx(y.min())
    assert report.target_summary["max"] == pytest.approx(y.max())


def test_heart_failure_time_is_the_only_leakage_suspect():
    path = shared_file("heart_failure/heart_failure_clinical_records_dataset.csv")
    frame = read_table(path).frame
    schema = infer_schema(frame, "DEATH_EVENT")
    report = quality_report(frame, schema)
    assert [s.column for s in report.leakage_suspects] == ["time"]
    suspect = report.leakage_suspects[0]
    assert 0.7 <= suspect.score < 0.98  # flagged by its name and strength, not as a copy
    assert "follow-up" in suspect.reason
    assert report.class_counts == {"0": 203, "1": 96}


def test_pima_suspicious_zeros():
    path = shared_file("pima_diabetes/pima-indians-diabetes.data.csv")
    table = read_table(path)
    assert table.frame.columns[0] == "column_1"
    schema = infer_schema(table.frame, "column_9")
    report = quality_report(table.frame, schema)
    flagged = {f.column for f in report.findings if "zero(s)" in f.message}
    assert flagged == {"column_2", "column_3", "column_4", "column_5", "column_6"}
    assert "column_1" not in flagged  # zero pregnancies is a real value
    glucose = next(f for f in report.findings if f.column == "column_2" and "zero" in f.message)
    assert glucose.severity == "warning"
    assert "5 zero(s)" in glucose.message


def test_breast_cancer_has_no_leakage_suspects(breast_cancer):
    report = quality_report(breast_cancer.frame, breast_cancer.schema)
    assert report.leakage_suspects == []
    # the strong features are strong, but under the near-perfect threshold
    assert max(report.association.values()) > 0.9
    assert report.class_counts == {"benign": 357, "malignant": 212}
    assert report.duplicate_rows == 0


def test_identifiers_are_reported_and_not_scored(cohort_dataset):
    report = quality_report(cohort_dataset.frame, cohort_dataset.schema)
    info = [f.message for f in report.findings if f.severity == "info"]
    for name in ("patient_id", "name", "email"):
        assert any(f"'{name}' is left out" in m for m in info)
        assert name not in report.association
    assert "smoking" in report.category_counts
    assert sum(report.category_counts["smoking"].values()) == len(cohort_dataset.frame)
    assert sum(report.histograms["age"]["counts"]) == len(cohort_dataset.frame)


def test_small_table_warning():
    frame = pd.DataFrame({"x": np.arange(30.0), "y": [0, 1] * 15})
    report = quality_report(frame, infer_schema(frame, "y"))
    assert any("Only 30 records" in w for w in report.warnings)


def test_report_to_dict_is_json_ready(messy):
    import json

    report = quality_report(messy, infer_schema(messy, "y"))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["duplicate_rows"] == 3
    assert data["constant_columns"] == ["ward"]
