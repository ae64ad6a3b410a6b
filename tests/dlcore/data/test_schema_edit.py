"""edit_schema: one call changes the outcome, positive class, columns and grouping, on a copy."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from dlcore.data import infer_schema
from dlcore.data.schema_edit import SchemaChanges, edit_schema
from dlcore.data.synthetic import make_cohort
from dlcore.errors import UserError


@pytest.fixture(scope="module")
def table():
    frame = make_cohort(80, seed=5)
    frame["follow_up_days"] = np.linspace(10, 800, len(frame))
    return frame, infer_schema(frame, "outcome")


def features(schema):
    return [c.name for c in schema.features]


def roles(schema):
    return {c.name: c.role for c in schema.columns}


def test_no_change_gives_an_equal_copy(table):
    frame, schema = table
    edited = edit_schema(schema, frame, SchemaChanges())
    assert edited is not schema
    assert edited.to_dict() == schema.to_dict()


def test_changing_the_target_leaves_the_given_schema_untouched(table):
    frame, schema = table
    before = copy.deepcopy(schema.to_dict())
    edited = edit_schema(schema, frame, SchemaChanges(target="smoking", task="auto"))
    assert schema.to_dict() == before
    assert edited.target == "smoking" and edited.task == "multiclass"
    assert roles(edited)["smoking"] == "target" and roles(edited)["outcome"] != "target"
    assert sorted(edited.classes) == sorted(frame["smoking"].unique())


def test_regression_on_request_and_taking_the_outcome_away(table):
    frame, schema = table
    edited = edit_schema(schema, frame, SchemaChanges(target="age", task="regression"))
    assert edited.task == "regression" and edited.classes == []
    cleared = edit_schema(edited, frame, SchemaChanges(target=None))
    assert cleared.target is None and cleared.task is None
    assert "target" not in roles(cleared).values()
    assert roles(cleared)["age"] == "excluded"


def test_survival_needs_both_columns(table):
    frame, schema = table
    waiting = edit_schema(schema, frame, SchemaChanges(target="outcome", task="survival"))
    assert waiting.target is None  # no follow-up time chosen yet
    edited = edit_schema(
        schema,
        frame,
        SchemaChanges(target="outcome", task="survival", time_column="follow_up_days"),
    )
    assert edited.task == "survival" and edited.time_column == "follow_up_days"
    assert "follow_up_days" not in features(edited)


def test_positive_class_kinds_inclusion_and_group_in_one_call(table):
    frame, schema = table
    edited = edit_schema(
        schema,
        frame,
        SchemaChanges(
            positive_class="0",
            kinds={"noise": "numeric", "smoking": "categorical"},  # unchanged: ignored
            included={"noise": False, "age": True},
            group_column="patient_id",
        ),
    )
    assert edited.positive_class == "0" and schema.positive_class == "1"
    assert "noise" not in features(edited) and "noise" in features(schema)
    assert "age" in features(edited)
    assert edited.group_column == "patient_id" and schema.group_column is None
    ungrouped = edit_schema(edited, frame, SchemaChanges(group_column=None))
    assert ungrouped.group_column is None


def test_a_refused_change_leaves_everything_as_it_was(table):
    frame, schema = table
    before = copy.deepcopy(schema.to_dict())
    with pytest.raises(UserError):
        edit_schema(schema, frame, SchemaChanges(positive_class="maybe"))
    with pytest.raises(UserError):
        edit_schema(schema, frame, SchemaChanges(target="outcome", task="clustering"))
    with pytest.raises(UserError):
        edit_schema(
            schema,
            frame,
            SchemaChanges(target="outcome", task="survival", time_column="sex"),
        )
    assert schema.to_dict() == before
