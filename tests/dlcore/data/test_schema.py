"""Schema inference: column kinds, identifiers left out, target, task and positive class."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlcore.data import detect_task, infer_schema, set_target, suggest_target, update_columns
from dlcore.data.schema import Schema, guess_positive_class, infer_column
from dlcore.data.synthetic import make_cohort
from dlcore.errors import SchemaMismatchError, UserError


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return make_cohort(300, seed=11)


def test_cohort_column_kinds_and_roles(cohort):
    schema = infer_schema(cohort, "outcome")
    kinds = {c.name: c.kind for c in schema.columns}
    roles = {c.name: c.role for c in schema.columns}
    assert kinds == {
        "patient_id": "identifier",
        "name": "identifier",
        "email": "identifier",
        "age": "numeric",
        "systolic_bp": "numeric",
        "cholesterol": "numeric",
        "sex": "binary",
        "smoking": "categorical",
        "noise": "numeric",
        "outcome": "binary",
    }
    for identifier in ("patient_id", "name", "email"):
        assert roles[identifier] == "excluded"
        assert schema.column(identifier).reason  # a reason the page can show
    assert roles["outcome"] == "target"
    assert schema.feature_names == [
        "age",
        "systolic_bp",
        "cholesterol",
        "sex",
        "smoking",
        "noise",
    ]
    assert schema.target == "outcome"
    assert schema.task == "binary"


def test_missing_share_and_unique_counts(cohort):
    schema = infer_schema(cohort, "outcome")
    chol = schema.column("cholesterol")
    assert chol.missing_share == pytest.approx(cohort["cholesterol"].isna().mean())
    assert 0.03 < chol.missing_share < 0.2
    assert schema.column("smoking").n_unique == 3
    assert schema.column("age").missing_share == 0.0


def test_identifier_detected_from_values_not_only_names():
    n = 40
    frame = pd.DataFrame(
        {
            "contact": [f"person{i}@clinic.org" for i in range(n)],
            "telefon": [f"+44 20 7946 {1000 + i}" for i in range(n)],
            "contact_2": [f"020-7946-{1000 + i}" for i in range(n)],
            "code": [f"X{i:05d}Q" for i in range(n)],
            "seq": np.arange(1000, 1000 + n),
            "visit_date": pd.date_range("2024-01-01", periods=n).strftime("%Y-%m-%d"),
            "lipid": np.linspace(1, 3, n),
        }
    )
    schema = infer_schema(frame)
    kinds = {c.name: (c.kind, c.role) for c in schema.columns}
    assert kinds["contact"] == ("identifier", "excluded")
    assert kinds["telefon"] == ("identifier", "excluded")
    assert kinds["contact_2"] == ("identifier", "excluded")
    assert "phone" in schema.column("contact_2").reason
    assert kinds["code"] == ("identifier", "excluded")
    assert kinds["seq"] == ("identifier", "excluded")
    # ISO dates also match the phone pattern; they must be read as dates
    assert kinds["visit_date"] == ("datetime", "excluded")
    assert schema.column("visit_date").reason == "dates are not used as features"
    # 'lipid' contains 'id' but is a token-level non-match: it stays a feature
    assert kinds["lipid"] == ("numeric", "feature")


def test_other_kinds():
    assert infer_column("x", pd.Series([np.nan] * 5)).kind == "empty"
    constant = infer_column("x", pd.Series([3.0] * 10))
    assert constant.role == "excluded"
    assert "same value" in constant.reason
    numbers_as_text = infer_column("x", pd.Series(["1.5", "2.5", "3", "4"]))
    assert numbers_as_text.kind == "numeric"
    free_text = infer_column("note", pd.Series([f"word {i} " * 12 for i in range(80)]))
    assert free_text.kind == "text"
    assert free_text.role == "excluded"
    assert infer_column("flag", pd.Series([True, False, True])).kind == "binary"


@pytest.mark.parametrize(
    ("task", "target", "classes"),
    [
        ("binary", "outcome", ["0", "1"]),
        ("multiclass", "outcome", ["high", "low", "medium"]),
        ("regression", "length_of_stay", []),
    ],
)
def test_task_detection_on_synthetic_cohorts(task, target, classes):
    frame = make_cohort(300, seed=2, task=task)
    schema = infer_schema(frame, target)
    assert schema.task == task
    assert schema.classes == classes
    assert detect_task(frame[target], target) == task
    if task != "binary":
        assert schema.positive_class is None


def test_task_detection_on_demo_sets(breast_cancer, diabetes):
    assert breast_cancer.schema.task == "binary"
    assert breast_cancer.schema.classes == ["benign", "malignant"]
    assert diabetes.schema.task == "regression"
    assert diabetes.schema.target == "progression"


def test_detect_task_small_integer_grades_and_refusals():
    assert detect_task(pd.Series([0, 1, 2, 3, 1, 2])) == "multiclass"
    assert detect_task(pd.Series(np.arange(50))) == "regression"
    assert detect_task(pd.Series(["yes", "no", "yes"])) == "binary"
    with pytest.raises(UserError, match="1 distinct"):
        detect_task(pd.Series([1, 1, 1]), "y")
    with pytest.raises(UserError, match="30 distinct"):
        detect_task(pd.Series([f"class {i}" for i in range(30)]), "label")


def test_positive_class_guessing(breast_cancer, cohort):
    assert breast_cancer.schema.positive_class == "malignant"
    assert infer_schema(cohort, "outcome").positive_class == "1"
    frame = pd.DataFrame({"x": range(6), "died": ["no", "yes", "no", "no", "yes", "no"]})
    assert infer_schema(frame, "died").positive_class == "yes"
    # no positive-sounding word: the rarer class
    labels = pd.Series(["alpha"] * 5 + ["beta"] * 2)
    assert guess_positive_class(labels, ["alpha", "beta"]) == "beta"


def test_float_zero_one_target_labels_are_whole_numbers():
    frame = pd.DataFrame({"x": range(6), "y": [0.0, 1.0, 0.0, 1.0, 1.0, 0.0]})
    schema = infer_schema(frame, "y")
    assert schema.classes == ["0", "1"]
    assert schema.positive_class == "1"


def test_set_target_refusals(cohort):
    schema = infer_schema(cohort)
    with pytest.raises(UserError, match="regression"):
        set_target(schema, cohort, "smoking", task="regression")
    with pytest.raises(UserError, match="3 classes"):
        set_target(schema, cohort, "smoking", task="binary")
    with pytest.raises(SchemaMismatchError, match="no column 'nope'"):
        set_target(schema, cohort, "nope")


def test_changing_target_restores_the_previous_one(cohort):
    schema = infer_schema(cohort, "outcome")
    set_target(schema, cohort, "smoking")
    assert schema.task == "multiclass"
    assert schema.column("outcome").role == "feature"
    assert schema.column("smoking").role == "target"
    assert "smoking" not in schema.feature_names


def test_suggest_target():
    assert suggest_target(pd.DataFrame(columns=["age", "DEATH_EVENT", "x"])) == "DEATH_EVENT"
    assert suggest_target(pd.DataFrame(columns=["a", "b", "c"])) == "c"


def test_update_columns_excludes_and_includes(cohort):
    schema = infer_schema(cohort, "outcome")
    update_columns(schema, included={"noise": False})
    assert "noise" not in schema.feature_names
    assert schema.column("noise").reason == "excluded by the user"
    update_columns(schema, included={"noise": True})
    assert "noise" in schema.feature_names
    # the target cannot be excluded through update_columns
    update_columns(schema, included={"outcome": False})
    assert schema.column("outcome").role == "target"


def test_identifier_is_included_only_when_asked(cohort):
    schema = infer_schema(cohort, "outcome")
    # changing the kind alone does not make it a feature
    update_columns(schema, kinds={"name": "categorical"})
    assert "name" not in schema.feature_names
    # asking to include it without a usable kind is refused with the fix
    with pytest.raises(UserError) as info:
        update_columns(schema, included={"email": True})
    assert "identifier" in str(info.value)
    assert "Fix" in str(info.value)
    assert "email" not in schema.feature_names
    # kind changed and explicitly included: now it is a feature
    update_columns(schema, kinds={"patient_id": "categorical"}, included={"patient_id": True})
    assert "patient_id" in schema.feature_names


def test_text_column_cannot_be_included():
    frame = pd.DataFrame(
        {"note": [f"long free text number {i} " * 5 for i in range(80)], "y": [0, 1] * 40}
    )
    schema = infer_schema(frame, "y")
    assert schema.column("note").kind == "text"
    with pytest.raises(UserError, match="cannot be a model input"):
        update_columns(schema, included={"note": True})
    with pytest.raises(UserError, match="unknown"):
        update_columns(schema, kinds={"note": "words"})


def test_constant_column_cannot_be_included():
    frame = pd.DataFrame({"c": [1.0] * 30, "x": np.arange(30) * 0.5, "y": [0, 1] * 15})
    schema = infer_schema(frame, "y")
    with pytest.raises(UserError, match="same value"):
        update_columns(schema, included={"c": True})


def test_schema_round_trip(cohort):
    schema = infer_schema(cohort, "outcome")
    data = schema.to_dict()
    import json

    again = Schema.from_dict(json.loads(json.dumps(data)))
    assert again == schema
    assert again.to_dict() == data
    assert again.fingerprint() == schema.fingerprint()


def test_fingerprint_is_stable_and_changes_with_the_features(cohort):
    first = infer_schema(cohort, "outcome")
    second = infer_schema(cohort.copy(), "outcome")
    assert first.fingerprint() == second.fingerprint()
    assert len(first.fingerprint()) == 16
    # the values changing does not change the schema
    shifted = cohort.copy()
    shifted["age"] = shifted["age"] + 1
    assert infer_schema(shifted, "outcome").fingerprint() == first.fingerprint()
    # excluding a feature, changing a kind, or changing the target does
    excluded = update_columns(infer_schema(cohort, "outcome"), included={"noise": False})
    assert excluded.fingerprint() != first.fingerprint()
    rekinded = update_columns(infer_schema(cohort, "outcome"), kinds={"age": "categorical"})
    assert rekinded.fingerprint() != first.fingerprint()
    retargeted = infer_schema(cohort, "smoking")
    assert retargeted.fingerprint() != first.fingerprint()


def test_the_follow_up_time_column_is_guessed_from_its_name_and_values():
    from dlcore.data.schema import suggest_time_column

    frame = pd.DataFrame(
        {
            "age": [50, 60, 70],
            "time": [12.0, 30.0, 45.0],
            "DEATH_EVENT": [0, 1, 0],
        }
    )
    assert suggest_time_column(frame) == "time"
    assert suggest_time_column(frame, exclude="time") is None
    frame["time"] = [12.0, 0.0, 45.0]  # a zero is no follow-up time
    assert suggest_time_column(frame) is None
    assert suggest_time_column(frame.rename(columns={"time": "Follow-up (days)"})) is None
    frame["Follow up"] = [3, 4, 5]
    assert suggest_time_column(frame) == "Follow up"
