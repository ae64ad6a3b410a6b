"""target_labels converts each distinct value once: the same labels as value by value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlcore.data.schema import target_labels


def _one_by_one(series: pd.Series) -> list:
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    whole = numeric and np.all(np.mod(series.dropna().to_numpy(dtype=float), 1) == 0)
    return [
        None if pd.isna(v) else (str(int(v)) if whole else str(v).strip()) for v in series.tolist()
    ]


@pytest.mark.parametrize(
    "series",
    [
        pd.Series([1.0, 0.0, np.nan, 1.0, 12.0], name="y"),
        pd.Series([3, 1, 2, 3]),
        pd.Series(["yes", " no", None, "yes "], dtype="str"),
        pd.Series([True, 1, "1", None, 1.0], dtype=object),  # mixed: True and 1 stay apart
        pd.Series([1.5, 2.5, np.nan]),
        pd.Series(np.arange(5000) / 7),  # many distinct values
    ],
)
def test_labels_equal_the_value_by_value_conversion(series):
    labels = target_labels(series)
    assert labels.dtype == object and labels.name == series.name
    got = [None if pd.isna(v) else v for v in labels.tolist()]
    assert got == _one_by_one(series)
