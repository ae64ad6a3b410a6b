"""The leakage guard acts: planted leaks are left out by default, with the reason; a person can
include one back, and the flag stays on the column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from apptools import shared_file

from dlcore.data import infer_schema, quality_report, read_table, update_columns
from dlcore.data.leakage import LEAK_AUC, MISSINGNESS_AUC, association


def _cohort(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(65, 12, n).round(0)
    lactate = rng.gamma(2.0, 1.0, n).round(1)
    risk = 1 / (1 + np.exp(-(0.05 * (age - 65) + 0.6 * (lactate - 2) - 1)))
    died = (rng.random(n) < risk).astype(int)
    return pd.DataFrame({"age": age, "lactate": lactate, "died_in_icu": died})


def test_clean_cohort_keeps_every_feature():
    schema = infer_schema(_cohort(), "died_in_icu")
    assert schema.leakage_excluded == {}
    assert schema.feature_names == ["age", "lactate"]


def test_planted_leaks_are_left_out_with_their_reason():
    frame = _cohort()
    y = frame["died_in_icu"].to_numpy()
    rng = np.random.default_rng(1)
    frame["score_after"] = y * 10 + rng.normal(0, 0.5, len(y))  # AUC ~ 1
    frame["alive"] = np.where(y == 1, "no", "yes")  # complement of the target
    frame["hospital_expire_flag"] = np.where(rng.random(len(y)) < 0.9, y, 1 - y)  # by name
    frame["discharge_location"] = np.where(
        y == 1, "DEAD/EXPIRED", rng.choice(["HOME", "SNF"], len(y))
    )
    frame["los"] = rng.gamma(3, 2, len(y)).round(1)  # unrelated, but named length of stay
    frame["deathtime"] = np.where(y == 1, "2130-01-02 10:00", None)  # missing for survivors
    frame["date_of_death"] = np.where(y == 1, "2130-01-03", None)
    schema = infer_schema(frame, "died_in_icu")
    left_out = schema.leakage_excluded
    assert set(left_out) == {
        "score_after",
        "alive",
        "hospital_expire_flag",
        "discharge_location",
        "los",
        "deathtime",
        "date_of_death",
    }
    assert schema.feature_names == ["age", "lactate"]
    assert "almost perfectly" in left_out["score_after"]
    assert "complement" in left_out["alive"]
    assert "after the outcome" in left_out["los"]
    # A date of death is leakage, not an identifier; the reason on the column says so.
    assert schema.column("date_of_death").reason.startswith("possible leakage")
    assert "identif" not in schema.column("date_of_death").reason
    report = quality_report(frame, schema)
    flagged = {s.column for s in report.leakage_suspects}
    assert set(left_out) <= flagged
    # No imputation note about columns that are not features.
    assert not any("imputed" in w and "deathtime" in w.lower() for w in report.warnings)


def test_missingness_that_predicts_the_outcome_is_leakage():
    frame = _cohort(seed=2)
    y = frame["died_in_icu"].to_numpy()
    rng = np.random.default_rng(3)
    frame["autopsy_score"] = np.where(y == 1, rng.normal(5, 1, len(y)), np.nan)
    frame["crp"] = np.where(rng.random(len(y)) < 0.3, np.nan, rng.normal(50, 20, len(y)))
    schema = infer_schema(frame, "died_in_icu")
    assert "autopsy_score" in schema.leakage_excluded
    assert "recorded" in schema.leakage_excluded["autopsy_score"]
    assert "crp" in schema.feature_names  # missing at random: imputed, not leakage
    report = quality_report(frame, schema)
    assert not any("imputed" in w and "autopsy" in w for w in report.warnings)


def test_category_that_maps_to_one_outcome_is_left_out_but_rare_pure_ones_are_not():
    frame = _cohort(n=400, seed=4)
    y = frame["died_in_icu"].to_numpy()
    rng = np.random.default_rng(5)
    frame["ward_code"] = np.where(
        y == 1, rng.choice(["W1", "W2"], len(y)), rng.choice(["W3", "W4"], len(y))
    )
    # 200 categories of two rows each: many are pure by chance, the column must not be flagged.
    frame["bed"] = [f"B{i // 2}" for i in range(len(y))]
    schema = infer_schema(frame, "died_in_icu")
    assert "ward_code" in schema.leakage_excluded
    assert "bed" not in schema.leakage_excluded


def test_threshold_keeps_a_strong_real_marker(breast_cancer):
    # The strongest single column of the breast-cancer table reaches AUC 0.976 < LEAK_AUC.
    report = quality_report(breast_cancer.frame, breast_cancer.schema)
    assert max(report.association.values()) < LEAK_AUC
    assert breast_cancer.schema.leakage_excluded == {}
    assert len(breast_cancer.schema.features) == 30


def test_association_scores_a_planted_column():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    near = pd.Series(y + rng.normal(0, 0.05, 500), name="x")
    weak = pd.Series(y + rng.normal(0, 2, 500), name="x")
    assert association(near, y, "binary", False) >= LEAK_AUC
    assert association(weak, y, "binary", False) < 0.8
    missing = pd.Series(np.where(y == 1, 1.0, np.nan))
    from dlcore.data.leakage import missingness_association

    assert missingness_association(missing, y, "binary") == pytest.approx(1.0)
    assert MISSINGNESS_AUC < 1


def test_repeated_target_header_is_not_a_feature():
    rows = ["age,outcome,sbp,outcome"] + [
        f"{50 + i % 30},{i % 2},{120 + i % 17},{i % 2}" for i in range(60)
    ]
    table = read_table("\n".join(rows).encode(), "repeated.csv")
    schema = infer_schema(table.frame, "outcome")
    assert "outcome_2" in schema.leakage_excluded
    assert "outcome_2" not in schema.feature_names
    assert "target's name" in schema.leakage_excluded["outcome_2"]


def test_include_overrides_and_the_flag_stays():
    frame = _cohort()
    frame["los"] = np.random.default_rng(6).gamma(3, 2, len(frame)).round(1)
    schema = infer_schema(frame, "died_in_icu")
    update_columns(schema, included={"los": True}, frame=frame)
    assert "los" in schema.feature_names
    assert "los" in schema.leakage_included
    assert "user's request" in schema.column("los").reason
    # The flag travels with the schema (to the model card).
    from dlcore.data.schema import Schema

    again = Schema.from_dict(schema.to_dict())
    assert again.leakage_included == schema.leakage_included


def test_changing_the_target_clears_the_old_flags():
    frame = _cohort()
    frame["los"] = np.random.default_rng(7).gamma(3, 2, len(frame)).round(1)
    schema = infer_schema(frame, "died_in_icu")
    assert "los" in schema.leakage_excluded
    from dlcore.data import set_target

    set_target(schema, frame, "los", "regression")
    assert schema.leakage_excluded.get("died_in_icu") is not None  # named like death
    assert schema.column("los").role == "target"


def test_regression_copy_is_left_out():
    frame = _cohort()
    frame["lactate_mmol"] = frame["lactate"] * 1.0
    frame["lactate_mg"] = frame["lactate"] * 9.01
    schema = infer_schema(frame.drop(columns=["died_in_icu"]), "lactate")
    assert {"lactate_mmol", "lactate_mg"} <= set(schema.leakage_excluded)
    assert schema.feature_names == ["age"]


def test_heart_failure_time_is_left_out_by_default():
    path = shared_file("heart_failure/heart_failure_clinical_records_dataset.csv")
    table = read_table(path)
    schema = infer_schema(table.frame, "DEATH_EVENT")
    assert list(schema.leakage_excluded) == ["time"]
    assert "time" not in schema.feature_names
    assert len(schema.feature_names) == 11


@pytest.mark.parametrize(
    "name",
    [
        "hospital_expire_flag", "icu_death", "in_hospital_mortality", "hosp_mort", "los_icu",
        "dischtime", "discharge_location", "deathtime", "dod_hosp", "hospitaldischargestatus",
        "unitdischargeoffset", "actualhospitalmortality", "Date of death", "length of stay",
        "follow-up time", "expired",
    ],
)  # fmt: skip
def test_post_outcome_names(name):
    from dlcore.data.leakage import POST_OUTCOME_NAME, _normalize

    assert POST_OUTCOME_NAME.search(_normalize(name))


@pytest.mark.parametrize(
    "name", ["expired_co2", "nipple_discharge", "breath_rate", "time", "creatinine", "closs"]
)
def test_names_that_are_not_post_outcome(name):
    from dlcore.data.leakage import POST_OUTCOME_NAME, _normalize

    assert not POST_OUTCOME_NAME.search(_normalize(name))


def test_headerless_column_names_are_not_repeated_targets():
    # column_1 … column_14 (a file without a header): only a true repeat is a repeated target.
    rng = np.random.default_rng(8)
    frame = pd.DataFrame({f"column_{i}": rng.normal(size=80) for i in range(1, 14)})
    frame["column_14"] = rng.integers(0, 2, 80)
    schema = infer_schema(frame, "column_14")
    assert schema.leakage_excluded == {}
    assert len(schema.features) == 13


def test_training_notes_say_what_is_left_out_used_and_grouped():
    frame = _cohort()
    frame["los"] = np.random.default_rng(9).gamma(3, 2, len(frame)).round(1)
    frame["hospital_expire_flag"] = frame["died_in_icu"]
    schema = infer_schema(frame, "died_in_icu")
    update_columns(schema, included={"los": True}, frame=frame)
    notes = schema.training_notes()
    assert notes[0] == "Left out as possible leakage: hospital_expire_flag."
    assert notes[1].endswith("flagged as possible leakage: los.")
