"""read_table: formats, delimiters, encodings, headers, and refusals that say what to fix."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from dlcore.data import read_table
from dlcore.errors import BadUploadError, UnsupportedFileError, UserError

SIMPLE = "age,sex,outcome\n61,male,1\n47,female,0\n55,female,1\n"


def _assert_user_message(error: UserError, name: str) -> None:
    message = str(error)
    assert name in message, message
    assert "Expected" in message, message
    assert "Fix" in message, message


# -- good files ------------------------------------------------------------------------------


def test_csv_from_path(tmp_path):
    path = tmp_path / "records.csv"
    path.write_text(SIMPLE)
    table = read_table(path)
    assert table.name == "records.csv"
    assert table.file_format == "csv"
    assert table.delimiter == ","
    assert table.encoding == "utf-8"
    assert list(table.frame.columns) == ["age", "sex", "outcome"]
    assert table.frame["age"].tolist() == [61, 47, 55]
    assert table.frame["sex"].tolist() == ["male", "female", "female"]
    assert table.warnings == []


def test_csv_from_bytes_and_file_object():
    from_bytes = read_table(SIMPLE.encode(), "upload.csv")
    assert from_bytes.name == "upload.csv"
    assert from_bytes.frame.shape == (3, 3)
    from_file = read_table(io.BytesIO(SIMPLE.encode()), "upload.csv")
    pd.testing.assert_frame_equal(from_bytes.frame, from_file.frame)


def test_missing_markers_become_missing():
    table = read_table(b"age,sex\n61,male\n?,female\nNA,\n70,N/A\n", "m.csv")
    # the all-missing third record is dropped; the other markers become missing values
    assert len(table.frame) == 3
    assert table.frame["age"].isna().tolist() == [False, True, False]
    assert table.frame["sex"].isna().tolist() == [False, False, True]


@pytest.mark.parametrize(
    ("delimiter", "expected_format"), [(";", "csv"), ("\t", "tsv"), ("|", "csv")]
)
def test_delimiter_is_sniffed(delimiter, expected_format):
    text = SIMPLE.replace(",", delimiter)
    table = read_table(text.encode(), "records.csv")
    assert table.delimiter == delimiter
    assert table.file_format == expected_format
    assert list(table.frame.columns) == ["age", "sex", "outcome"]
    assert table.frame["outcome"].tolist() == [1, 0, 1]


def test_semicolon_csv_with_decimal_points():
    table = read_table(b"a;b\n1.5;x\n2.5;y\n3.5;z\n", "eu.csv")
    assert table.delimiter == ";"
    assert table.frame["a"].tolist() == [1.5, 2.5, 3.5]


def test_semicolon_csv_with_decimal_commas_reads_numbers():
    # the usual European spreadsheet export: semicolons between fields, commas in numbers
    table = read_table(b"crp;sex;dose\n1,5;m;2\n12,25;f;3\n0,75;m;4\n", "eu.csv")
    assert table.delimiter == ";"
    assert table.frame["crp"].tolist() == [1.5, 12.25, 0.75]
    assert table.frame["dose"].tolist() == [2, 3, 4]
    assert table.frame["sex"].tolist() == ["m", "f", "m"]


def test_tsv_suffix():
    table = read_table(SIMPLE.replace(",", "\t").encode(), "records.tsv")
    assert table.file_format == "tsv"
    assert table.delimiter == "\t"
    assert table.frame.shape == (3, 3)


def test_latin1_file_is_decoded_with_a_warning(tmp_path):
    path = tmp_path / "accents.csv"
    path.write_bytes("name,age\nJosé,3\nRenée,4\nZoë,5\n".encode("latin-1"))
    table = read_table(path)
    assert table.encoding == "latin-1"
    assert table.frame["name"].tolist() == ["José", "Renée", "Zoë"]
    assert len(table.warnings) == 1
    assert "Latin-1" in table.warnings[0]
    assert "accents.csv" in table.warnings[0]


def test_utf8_with_bom_has_clean_first_column_name():
    table = read_table("\ufeffage,sex\n1,m\n2,f\n".encode(), "bom.csv")
    assert list(table.frame.columns) == ["age", "sex"]
    assert table.encoding == "utf-8"


def test_file_without_header_gets_column_names_and_a_warning():
    table = read_table(b"6,148,72,1\n1,85,66,0\n8,183,64,1\n", "pima.csv")
    assert list(table.frame.columns) == ["column_1", "column_2", "column_3", "column_4"]
    assert len(table.frame) == 3  # the first row is a record, not a header
    assert table.frame["column_2"].tolist() == [148, 85, 183]
    assert any("no header row" in w and "column_1" in w for w in table.warnings)


def test_xlsx(tmp_path):
    path = tmp_path / "records.xlsx"
    frame = pd.DataFrame({"age": [61, 47, 55], "sex": ["male", "female", "female"]})
    frame.to_excel(path, index=False, engine="openpyxl")
    table = read_table(path)
    assert table.file_format == "xlsx"
    assert table.warnings == []
    assert table.frame["age"].tolist() == [61, 47, 55]
    assert table.frame["sex"].tolist() == ["male", "female", "female"]


def test_xlsx_with_two_sheets_reads_the_first_with_a_warning(tmp_path):
    path = tmp_path / "two.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"a": [1, 2]}).to_excel(writer, sheet_name="first", index=False)
        pd.DataFrame({"b": [3, 4, 5]}).to_excel(writer, sheet_name="second", index=False)
    table = read_table(path.read_bytes(), "two.xlsx")
    assert list(table.frame.columns) == ["a"]
    assert table.frame["a"].tolist() == [1, 2]
    assert len(table.warnings) == 1
    assert "2 sheets" in table.warnings[0] and "'first'" in table.warnings[0]


def test_parquet(tmp_path):
    path = tmp_path / "records.parquet"
    frame = pd.DataFrame({"x": [0.5, np.nan, 2.0], "group": ["a", "b", "a"]})
    frame.to_parquet(path, index=False)
    table = read_table(path)
    assert table.file_format == "parquet"
    assert table.frame["x"].iloc[0] == 0.5
    assert np.isnan(table.frame["x"].iloc[1])
    assert table.frame["group"].tolist() == ["a", "b", "a"]


def test_format_detected_from_content_without_a_name(tmp_path):
    path = tmp_path / "records.parquet"
    pd.DataFrame({"x": [1, 2]}).to_parquet(path, index=False)
    assert read_table(path.read_bytes()).file_format == "parquet"
    assert read_table(SIMPLE.encode()).file_format == "csv"


def test_duplicate_column_names_are_renamed_with_a_warning():
    table = read_table(b"age,age,sex\n1,2,m\n3,4,f\n", "dup.csv")
    assert list(table.frame.columns) == ["age", "age_2", "sex"]
    assert table.frame["age_2"].tolist() == [2, 4]
    assert any("Duplicate column names" in w and "age_2" in w for w in table.warnings)


# -- refusals --------------------------------------------------------------------------------


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(BadUploadError) as info:
        read_table(path)
    _assert_user_message(info.value, "empty.csv")
    assert "empty" in str(info.value)


def test_header_only_file_is_refused():
    with pytest.raises(BadUploadError) as info:
        read_table(b"a,b,c\n", "header.csv")
    _assert_user_message(info.value, "header.csv")
    assert "0 records" in str(info.value)


def test_binary_garbage_named_csv_is_refused():
    garbage = b"\x00\x01\x02" + np.random.default_rng(0).bytes(3000)
    with pytest.raises(BadUploadError) as info:
        read_table(garbage, "garbage.csv")
    _assert_user_message(info.value, "garbage.csv")
    assert "binary" in str(info.value)


def test_xlsx_that_is_not_a_zip_is_refused():
    with pytest.raises(BadUploadError) as info:
        read_table(b"just some text, not a workbook", "fake.xlsx")
    _assert_user_message(info.value, "fake.xlsx")


def test_zip_that_is_not_a_workbook_is_refused():
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(BadUploadError) as info:
        read_table(buffer.getvalue(), "zipped.xlsx")
    _assert_user_message(info.value, "zipped.xlsx")


def test_xls_is_refused_as_unsupported():
    with pytest.raises(UnsupportedFileError) as info:
        read_table(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls")
    _assert_user_message(info.value, "old.xls")
    assert ".xlsx" in str(info.value)


def test_json_is_refused_as_unsupported():
    with pytest.raises(UnsupportedFileError) as info:
        read_table(b'[{"a": 1}]', "records.json")
    _assert_user_message(info.value, "records.json")


def test_ragged_csv_is_refused():
    with pytest.raises(BadUploadError) as info:
        read_table(b"a,b,c\n1,2,3\n4,5,6,7,8\n1,2,3\n", "ragged.csv")
    _assert_user_message(info.value, "ragged.csv")
    assert "line 3" in str(info.value)
    assert "comma" in str(info.value)


def test_oversized_file_is_refused(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text(SIMPLE + "61,male,1\n" * 150)
    with pytest.raises(BadUploadError) as info:
        read_table(path, max_bytes=100)
    _assert_user_message(info.value, "big.csv")
    with pytest.raises(BadUploadError) as info:
        read_table(path.read_bytes(), "big.csv", max_bytes=100)
    _assert_user_message(info.value, "big.csv")
    # the same file under a limit it fits passes
    assert len(read_table(path, max_bytes=10_000).frame) == 153


def test_parquet_name_with_other_content_is_refused():
    with pytest.raises(BadUploadError) as info:
        read_table(SIMPLE.encode(), "fake.parquet")
    _assert_user_message(info.value, "fake.parquet")


def test_missing_path_is_refused(tmp_path):
    with pytest.raises(BadUploadError) as info:
        read_table(tmp_path / "nowhere.csv")
    assert "nowhere.csv" in str(info.value)


def test_old_mac_line_endings_repeated_names_and_nested_parquet():
    assert read_table(b"a,b\r1,2\r3,4\r", "mac.csv").frame.shape == (2, 2)
    table = read_table(b"age,age,age_2\n1,2,3\n", "dup.csv")
    assert list(table.frame.columns) == ["age", "age_3", "age_2"]  # no second 'age_2'
    assert any("'age' → 'age_3'" in w for w in table.warnings)
    buffer = io.BytesIO()
    pd.DataFrame({"visits": [[1, 2], [3]], "age": [50, 60]}).to_parquet(buffer)
    with pytest.raises(BadUploadError, match="lists or records, not single values: visits"):
        read_table(buffer.getvalue(), "nested.parquet")


def test_true_false_text_reads_as_one_and_zero():
    from dlcore.data.dataset import to_number

    values = to_number(pd.Series(["True", "", "false", "2.5"]), "smoker", strict=True)
    assert values.tolist()[:1] == [1.0] and np.isnan(values.iloc[1])
    assert values.tolist()[2:] == [0.0, 2.5]


def test_a_cell_over_128_kb_is_refused_whatever_another_library_set_the_csv_limit_to():
    import csv

    from dlcore.data.tables import read_table
    from dlcore.errors import UserError

    before = csv.field_size_limit(10**9)  # as a library might leave it
    try:
        with pytest.raises(UserError, match="128 kB"):
            read_table(b"a,b\n" + b"x" * (1 << 20) + b",1\n", "a.csv")
        assert csv.field_size_limit() == 10**9  # the process's setting is given back
    finally:
        csv.field_size_limit(before)


def test_saving_a_dataset_twice_keeps_one_copy_and_a_changed_one_gets_a_new_id(
    isolated_workspace, cohort_dataset
):
    import copy

    from dlcore.data.catalog import load_dataset, save_dataset

    dataset = copy.deepcopy(cohort_dataset)
    dataset.id = None
    first = save_dataset(dataset)
    assert save_dataset(dataset) == first  # the same records and schema: indexed, not refused
    changed = copy.deepcopy(dataset)
    changed.frame = changed.frame.head(50)
    second = save_dataset(changed)
    assert second != first
    assert len(load_dataset(first).frame) == len(cohort_dataset.frame)
    assert len(load_dataset(second).frame) == 50
