"""Clinical numbers as clinicians write them: thousands separators in both conventions (decided
from the whole column), censored values, units in headers, short rows, Excel title rows and
formula cells, age-like whole numbers, and a clear 'no feature left' message."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from dlcore.data import infer_schema, read_table
from dlcore.data.schema import check_features
from dlcore.errors import BadUploadError, UserError


def _csv(lines: list[str], name: str = "t.csv", **kwargs):
    return read_table("\n".join(lines).encode(), name, **kwargs)


def test_thousands_commas_are_numbers_not_identifiers():
    rows = ["age,platelets,outcome"] + [
        f'{50 + i % 30},"{150 + i},{(i * 37) % 1000:03d}",{i % 2}' for i in range(40)
    ]
    table = _csv(rows)
    assert table.frame["platelets"].dtype == float
    assert table.frame["platelets"].iloc[0] == 150000.0
    assert table.frame["platelets"].iloc[1] == 151037.0
    assert any("thousands separator" in w for w in table.warnings)
    schema = infer_schema(table.frame, "outcome")
    assert schema.column("platelets").kind == "numeric"
    assert "platelets" in schema.feature_names


def test_european_thousands_points_decided_from_the_whole_file():
    # Decimal commas appear only after line 60: the first 50 lines alone would not show them.
    rows = ["id_visit;platelets;crp"]
    rows += [f"{i};{150 + i}.{(i * 7) % 1000:03d};{10 + i}" for i in range(60)]
    rows += [f"{i};{150 + i}.120;{i},5" for i in range(60, 70)]
    table = _csv(rows)
    assert table.decimal == ","
    assert table.frame["platelets"].iloc[0] == 150000.0  # not 150.0: 1000x too small
    assert table.frame["platelets"].iloc[65] == 215120.0
    assert table.frame["crp"].iloc[65] == pytest.approx(65.5)


def test_ambiguous_values_are_flagged_not_guessed():
    rows = ["age,dose"] + [f"{40 + i}," + ('"1,500"' if i < 3 else str(i)) for i in range(30)]
    table = _csv(rows)
    assert not pd.api.types.is_float_dtype(table.frame["dose"])
    assert any("could be a decimal or a thousands separator" in w for w in table.warnings)


@pytest.mark.parametrize(("censored", "below"), [("limit", 5.0), ("half", 2.5)])
def test_censored_values_read_as_numbers_with_a_note(censored, below):
    values = ["<5", "12", ">100", "≤0.1", "≥ 90", "7.5", "30"] * 6
    rows = ["crp (mg/L),y"] + [f"{v},{i % 2}" for i, v in enumerate(values)]
    table = _csv(rows, censored=censored)
    crp = table.frame["crp (mg/L)"]
    assert crp.dtype == float
    assert crp.iloc[0] == below and crp.iloc[2] == 100.0 and crp.iloc[4] == 90.0
    assert crp.iloc[3] == pytest.approx(0.1 if censored == "limit" else 0.05)
    note = next(w for w in table.warnings if "censored" in w)
    assert "'crp (mg/L)'" in note and "24 censored" in note
    schema = infer_schema(table.frame, "y")
    column = schema.column("crp (mg/L)")
    assert column.kind == "numeric" and column.role == "feature"
    assert column.unit == "mg/L"  # the header keeps its unit for display


def test_short_row_is_refused_naming_the_line():
    rows = ["a,b,c", "1,2,3", "4,5,6", "7,8", "9,10,11"]
    with pytest.raises(BadUploadError, match="line 4 has 2 field"):
        _csv(rows)
    with pytest.raises(BadUploadError):
        _csv(["a,b,c", "1,2,3", "4,5,6,7"])


def _xlsx(build) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    build(book.active)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_title_row_is_skipped_with_a_note():
    def build(sheet):
        sheet.title = "Cohort"
        sheet["A1"] = "ICU cohort export, March"
        sheet.append([])
        sheet.append(["age", "lactate", "died"])
        for i in range(20):
            sheet.append([50 + i, 1.0 + i / 10, i % 2])

    table = read_table(_xlsx(build), "cohort.xlsx")
    assert list(table.frame.columns) == ["age", "lactate", "died"]
    assert len(table.frame) == 20
    assert any("look like a title" in w for w in table.warnings)


def test_formula_cells_without_saved_values_are_named():
    def build(sheet):
        sheet.append(["weight", "height", "bmi"])
        for i in range(2, 22):
            sheet.append([70 + i, 1.7, f"=A{i}/(B{i}*B{i})"])  # openpyxl saves no result

    table = read_table(_xlsx(build), "bmi.xlsx")
    note = next(w for w in table.warnings if "Formula cells" in w)
    assert "'bmi' (20)" in note


def test_age_like_consecutive_whole_numbers_are_features():
    frame = pd.DataFrame(
        {
            "age": np.arange(40, 70),
            "year": np.arange(1990, 2020),
            "record": np.arange(1, 31),
            "y": [0, 1] * 15,
        }
    )
    schema = infer_schema(frame, "y")
    assert schema.column("age").kind == "numeric" and schema.column("age").role == "feature"
    assert schema.column("year").role == "feature"
    assert schema.column("record").kind == "identifier"


def test_no_feature_left_names_the_dropped_columns():
    frame = pd.DataFrame(
        {"patient_id": [f"P{i}" for i in range(40)], "los": np.arange(40) % 7, "died": [0, 1] * 20}
    )
    schema = infer_schema(frame, "died")
    with pytest.raises(UserError) as caught:
        check_features(schema)
    message = str(caught.value)
    assert "'patient_id'" in message and "'los'" in message and "possible leakage" in message
