"""Safe exports: every written table neutralises spreadsheet formulas (OWASP: a leading quote),
numbers stay numbers, the format follows the extension; names default to neutral ones and a file
name travels only as its SHA-256."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from dlcore.errors import UserError
from dlcore.fsutil import neutral_name, neutralise_cell, write_table

HOSTILE = [
    '=HYPERLINK("http://x","click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\tx",
    "\rx",
]


@pytest.mark.parametrize("cell", HOSTILE)
def test_formula_cells_get_a_leading_quote(cell):
    assert neutralise_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-2", "+1.5e3", "-0.25", "plain", "a=b", "", "2024-01-01"])
def test_numbers_and_plain_text_stay(cell):
    assert neutralise_cell(cell) == cell


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_write_table_by_extension(tmp_path, suffix):
    cells = HOSTILE
    frame = pd.DataFrame({"note": cells, "value": [-2.0, 1.0, -3.5, 4.0, 0.0, 7.0]})
    path = tmp_path / f"out{suffix}"
    assert (
        write_table(frame, path) == {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}[suffix]
    )
    back = {
        ".csv": lambda: pd.read_csv(path, keep_default_na=False),
        ".xlsx": lambda: pd.read_excel(path),
        ".parquet": lambda: pd.read_parquet(path),
    }[suffix]()
    assert back["value"].tolist() == [-2.0, 1.0, -3.5, 4.0, 0.0, 7.0]
    if suffix == ".parquet":  # not a spreadsheet format: cells kept as they are
        assert back["note"].tolist() == cells
    else:
        assert all(str(v).startswith("'") for v in back["note"]), back["note"].tolist()
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_bare_carriage_return_stays_inside_its_cell():
    """pandas' default CSV quoting leaves a cell holding a bare CR (no LF) unquoted, and readers
    split the row there; the product's writer quotes every text cell."""
    import csv
    import io

    from dlcore.fsutil import write_csv

    frame = pd.DataFrame(
        {
            "note": ["before\rafter", "two\nlines", "plain", "-2"],
            "value": [-2, 3, -4, 5],
            "score": [-2.5, 0.25, float("nan"), 1e3],
        }
    )
    data = write_csv(frame)
    rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
    assert rows == [
        ["note", "value", "score"],
        ["before\rafter", "-2", "-2.5"],
        ["two\nlines", "3", "0.25"],
        ["plain", "-4", ""],
        ["-2", "5", "1000.0"],
    ]
    back = pd.read_csv(io.BytesIO(data))
    assert back.shape == (4, 3)
    assert back["note"].tolist() == ["before\rafter", "two\nlines", "plain", "-2"]
    assert back["value"].tolist() == [-2, 3, -4, 5] and back["value"].dtype == "int64"
    assert back["score"].iloc[0] == -2.5 and pd.isna(back["score"].iloc[2])
    # Numbers are written bare (a spreadsheet reads them as numbers), text quoted.
    assert data.decode().split("\n")[1] == '"before\rafter",-2,-2.5'


@pytest.mark.parametrize("name", ["out.txt", "out", "out.xls", "out.json"])
def test_write_table_refuses_other_extensions(tmp_path, name):
    with pytest.raises(UserError, match=r"csv, \.xlsx or \.parquet"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / name)


def test_table_datasets_get_neutral_names_and_hashed_sources(tmp_path, isolated_workspace):
    from dlcore.cli.commands import load_data_argument

    path = tmp_path / "Doe_John_1970-01-01.csv"
    pd.DataFrame({"age": [50, 60, 70, 80], "outcome": [0, 1, 0, 1]}).to_csv(path, index=False)
    dataset = load_data_argument(str(path), "outcome")
    assert "Doe" not in dataset.name and "table" in dataset.name
    assert dataset.source == "file sha256:" + hashlib.sha256(path.name.encode()).hexdigest()
    assert neutral_name("model", "binary").startswith("binary model ")


def test_a_csv_written_in_blocks_is_the_csv_written_whole(tmp_path, monkeypatch):
    """write_csv neutralises and writes a large table block by block (bounded memory): the file
    must be byte for byte what one whole-table pass gives, header once, formulas neutralised in
    every block."""
    import dlcore.fsutil as fsutil

    frame = pd.DataFrame(
        {
            "note": ["=SUM(A1)", "plain", "-2", "@x", "+cmd|' /C calc'!A0", "ok", "\r"],
            "value": [1.5, -2.0, 3.0, 4.25, -0.5, 6.0, 7.0],
        }
    )
    whole = fsutil.write_csv(frame)
    monkeypatch.setattr(fsutil, "CSV_BLOCK_ROWS", 3)
    fsutil.write_csv(frame, tmp_path / "blocks.csv")
    written = (tmp_path / "blocks.csv").read_bytes()
    assert written == whole
    assert written.count(b'"note"') == 1
    assert b'"\'=SUM(A1)"' in written and b'"\'@x"' in written
    back = pd.read_csv(tmp_path / "blocks.csv")
    assert back["value"].tolist() == frame["value"].tolist()
    empty = frame.iloc[:0]
    fsutil.write_csv(empty, tmp_path / "empty.csv")
    assert (tmp_path / "empty.csv").read_bytes() == fsutil.write_csv(empty)
