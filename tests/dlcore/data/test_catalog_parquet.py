"""A large table is written to Parquet in row groups: the same frame reads back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from dlcore.data import catalog


def test_row_groups_read_back_as_the_same_frame(tmp_path, monkeypatch):
    monkeypatch.setattr(catalog, "PARQUET_ROWS_PER_GROUP", 4)
    frame = pd.DataFrame(
        {
            "age": [41.5, np.nan, 60.0, 33.0, 70.25, np.nan, 55.0, 48.0, 39.0, 61.0],
            "count": np.arange(10),
            # a text column empty in the whole first group, and a mixed object column
            "note": [None] * 4 + ["a", "b", None, "c", "d", "e"],
            "mixed": pd.Series([1, "x", None, 2.5, "y", 3, None, "z", 4, "w"], dtype=object),
        }
    )
    path = tmp_path / "data.parquet"
    catalog.write_parquet(frame, path)
    assert pq.ParquetFile(path).num_row_groups == 3
    back = pd.read_parquet(path)
    expected = catalog._parquet_safe(frame)
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)
    assert back["mixed"].tolist()[:2] == ["1", "x"] and back["note"].isna().sum() == 5
    assert frame["mixed"].tolist()[0] == 1  # the caller's frame is not changed
    small = tmp_path / "small.parquet"
    catalog.write_parquet(frame.head(3), small)
    assert pq.ParquetFile(small).num_row_groups == 1
    pd.testing.assert_frame_equal(pd.read_parquet(small), expected.head(3), check_dtype=False)


def test_only_text_columns_are_dictionary_encoded(tmp_path, monkeypatch):
    """Issue 15: dictionary encoding of number columns held ~20 MB more while writing
    1,000,000 rows; text keeps it (a few labels repeated)."""
    monkeypatch.setattr(catalog, "PARQUET_ROWS_PER_GROUP", 4)
    frame = pd.DataFrame({"age": np.arange(10) * 1.5, "arm": ["a", "b"] * 5})
    path = tmp_path / "data.parquet"
    catalog.write_parquet(frame, path)
    group = pq.ParquetFile(path).metadata.row_group(0)
    assert "RLE_DICTIONARY" not in group.column(0).encodings
    assert "RLE_DICTIONARY" in group.column(1).encodings
    pd.testing.assert_frame_equal(pd.read_parquet(path), frame, check_dtype=False)
