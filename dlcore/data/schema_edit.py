"""Editing a table's schema as one call: the outcome (target, task, follow-up time), the positive
class, column kinds and inclusion, and the patient grouping — on a copy, never in place.

Pages keep the schema a person is editing between runs; the engine's setters in
``dlcore.data.schema`` change a schema in place, so a failed change could leave it half done.
``edit_schema`` copies first and returns the new schema, leaving the given one untouched.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import pandas as pd

from dlcore.data.schema import (
    Schema,
    set_group_column,
    set_survival_target,
    set_target,
    update_columns,
)
from dlcore.errors import UserError

TASKS = ("auto", "binary", "multiclass", "regression", "survival")
KEEP = "__keep__"  # a field of SchemaChanges that leaves its part of the schema as it is


@dataclass
class SchemaChanges:
    """What a person changed. Every field left at its default leaves that part as it is.

    ``target`` (the event column for survival) with ``task`` ('auto' detects it) and, for
    survival, ``time_column``; ``target=None`` takes the outcome away. ``positive_class`` is one
    of the target's classes. ``kinds`` and ``included`` map column names to a kind or to whether
    it is used as a feature. ``group_column`` names the patient column (None: none).
    """

    target: str | None = KEEP
    task: str = "auto"
    time_column: str | None = None
    positive_class: str | None = KEEP
    kinds: dict[str, str] = field(default_factory=dict)
    included: dict[str, bool] = field(default_factory=dict)
    group_column: str | None = KEEP


def _clear_target(schema: Schema) -> None:
    for column in schema.columns:
        if column.role == "target":
            column.role, column.reason = "excluded", "not used"
    schema.target, schema.task, schema.classes, schema.positive_class = None, None, [], None
    schema.time_column = None


def _set_outcome(schema: Schema, frame: pd.DataFrame, changes: SchemaChanges) -> None:
    if changes.task not in TASKS:
        raise UserError(
            f"Task '{changes.task}' is unknown.",
            expected=", ".join(TASKS),
            fix="pick one of those",
        )
    target = changes.target
    if changes.task == "survival":
        if target is None or changes.time_column is None:
            if schema.target is not None:
                _clear_target(schema)  # until both columns are chosen
            return
        if (
            schema.task != "survival"
            or target != schema.target
            or changes.time_column != schema.time_column
        ):
            set_survival_target(schema, frame, changes.time_column, target)
        return
    if target is None:
        if schema.target is not None:
            _clear_target(schema)
        return
    wanted = None if changes.task == "auto" else changes.task
    if target != schema.target or (wanted and wanted != schema.task) or schema.task == "survival":
        set_target(schema, frame, target, wanted)


def edit_schema(schema: Schema, frame: pd.DataFrame, changes: SchemaChanges) -> Schema:
    """A copy of ``schema`` with ``changes`` applied in order: outcome, positive class, column
    kinds and inclusion, patient grouping. Returns the new schema; ``schema`` is not changed.

    Raises UserError for a change the data cannot take (a target that cannot be learned, a
    non-positive follow-up time, an unknown kind or class, a group column that is the target).
    """
    edited = copy.deepcopy(schema)
    if changes.target != KEEP:
        _set_outcome(edited, frame, changes)
    if changes.positive_class != KEEP and edited.classes:
        if changes.positive_class not in edited.classes:
            raise UserError(
                f"'{changes.positive_class}' is not a class of '{edited.target}'.",
                expected=", ".join(map(str, edited.classes)),
                fix="pick one of the target's classes",
            )
        edited.positive_class = changes.positive_class
    kinds = {k: v for k, v in changes.kinds.items() if v != edited.column(k).kind}
    included = {
        k: bool(v)
        for k, v in changes.included.items()
        if bool(v) != (edited.column(k).role == "feature")
    }
    if kinds or included:
        update_columns(edited, kinds=kinds, included=included, frame=frame)
    if changes.group_column != KEEP and changes.group_column != edited.group_column:
        set_group_column(edited, frame, changes.group_column)
    return edited
