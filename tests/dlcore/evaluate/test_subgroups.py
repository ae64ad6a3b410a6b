"""Subgroup choices: which columns, typed cut points, and the report for a choice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlcore.errors import UserError
from dlcore.evaluate.subgroups import (
    SubgroupChoice,
    choice_report,
    is_banded,
    parse_cut_points,
    subgroup_columns,
)


def test_cut_points_are_sorted_numbers_without_repeats():
    assert parse_cut_points("65, 50; 50") == (50.0, 65.0)
    assert parse_cut_points(" 1.5 ") == (1.5,)


@pytest.mark.parametrize("text", ["", " , ", "50, old", "inf", "nan"])
def test_bad_cut_points_are_refused_with_a_fix(text):
    with pytest.raises(UserError) as raised:
        parse_cut_points(text)
    assert raised.value.fix


def test_columns_worth_grouping_leave_out_outcome_identifiers_and_free_text():
    records = pd.DataFrame(
        {
            "age": np.arange(30.0),
            "sex": ["f", "m"] * 15,
            "note": [f"free text {i}" for i in range(30)],
            "mrn": [f"P{i}" for i in range(30)],
            "outcome": [0, 1] * 15,
        }
    )
    card = {
        "layout": {"target": "outcome"},
        "schema": {"columns": [{"name": "mrn", "kind": "identifier"}]},
    }
    assert subgroup_columns(card, records) == ["age", "sex"]
    assert is_banded(records["age"]) and not is_banded(records["sex"])


def test_choice_report_bands_by_the_cut_points():
    rng = np.random.default_rng(0)
    n = 300
    age = pd.Series(rng.uniform(20, 90, n), name="age")
    y = (rng.uniform(size=n) < 0.4).astype(int)
    p = np.clip(0.4 + 0.3 * (y - 0.4) + rng.normal(0, 0.1, n), 0.01, 0.99)
    report = choice_report(SubgroupChoice("age", True, (50.0, 65.0), 0.1), y, p, age, 0.5)
    sizes = {row.group: row.n for row in report.rows}
    assert sizes == {
        "< 50": int((age < 50).sum()),
        "50–65": int(((age >= 50) & (age < 65)).sum()),
        "≥ 65": int((age >= 65).sum()),
    }
    thirds = choice_report(SubgroupChoice("age", True, None, 0.1), y, p, age, 0.5)
    assert len(thirds.rows) == 3 and abs(thirds.rows[0].n - n / 3) <= 1
