"""Which subgroups to compare on an evaluation: the columns worth grouping by, the cut points a
person types, and the per-group report for that choice (at any threshold)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dlcore.errors import UserError

UNGROUPABLE_KINDS = ("identifier", "text", "empty", "datetime")
MAX_TEXT_GROUPS = 20  # more distinct texts than this are names, numbers or notes, not groups
MIN_BANDED_VALUES = 5  # numeric columns with more distinct values than this are put in bands


@dataclass(frozen=True)
class SubgroupChoice:
    """A person's subgroup choice: the column, whether it is banded (numeric), the cut points
    (None: equal-count thirds) and the shortfall that flags a group."""

    column: str
    banded: bool
    edges: tuple[float, ...] | None = None
    tolerance: float = 0.1


def subgroup_columns(card: dict[str, Any], records: pd.DataFrame) -> list[str]:
    """Columns of ``records`` worth comparing groups of: not the model's outcome, no
    identifiers, free text, dates or empty columns (by the card's schema), no many-valued text."""
    schema = {c["name"]: c for c in card.get("schema", {}).get("columns", [])}
    target = (card.get("layout") or {}).get("target") or card.get("schema", {}).get("target")
    chosen = []
    for name in records.columns:
        info = schema.get(str(name), {})
        if name == target or info.get("kind") in UNGROUPABLE_KINDS:
            continue
        values = records[name]
        if not pd.api.types.is_numeric_dtype(values) and values.nunique() > MAX_TEXT_GROUPS:
            continue
        chosen.append(str(name))
    return chosen


def is_banded(values: pd.Series) -> bool:
    """Whether a column's groups are bands of its values (numeric with many distinct values)."""
    return bool(pd.api.types.is_numeric_dtype(values) and values.nunique() > MIN_BANDED_VALUES)


def parse_cut_points(text: str) -> tuple[float, ...]:
    """'50, 65' → (50.0, 65.0), sorted and without repeats.

    Raises UserError naming what is not a number, or when there is no cut point at all.
    """
    parts = [p.strip() for p in (text or "").replace(";", ",").split(",") if p.strip()]
    numbers = []
    for part in parts:
        try:
            number = float(part)
        except ValueError:
            number = float("nan")
        if not np.isfinite(number):
            raise UserError(
                f"Cut point '{part[:40]}' is not a number.",
                expected="numbers separated by commas, such as 50, 65",
                fix="type the band limits as numbers",
            )
        numbers.append(number)
    if not numbers:
        raise UserError(
            "No cut points.",
            expected="numbers separated by commas, such as 50, 65",
            fix="type at least one cut point, or choose equal-count thirds",
        )
    return tuple(sorted(set(numbers)))


def choice_report(
    choice: SubgroupChoice, y: np.ndarray, p: np.ndarray, values: pd.Series, threshold: float
) -> Any:
    """The SubgroupReport of ``choice`` at ``threshold`` (values banded when the choice says so)."""
    from dlcore.evaluate.clinical import band_numeric, subgroup_report

    edges = list(choice.edges) if choice.edges else None
    groups = band_numeric(values, edges) if choice.banded else values
    return subgroup_report(
        y, p, groups, threshold=threshold, tolerance=choice.tolerance, column=choice.column
    )
