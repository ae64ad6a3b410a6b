"""A Dataset: a table with its schema, and the typed feature and target arrays models need."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dlcore.data.numbers import to_number
from dlcore.data.schema import (
    BINARY,
    CATEGORICAL,
    MOLECULE,
    NUMERIC,
    ColumnInfo,
    Schema,
    target_labels,
)
from dlcore.errors import SchemaMismatchError, UserError

MISSING_CATEGORY = "(missing)"


@dataclass
class Dataset:
    """A table, its schema, and where it came from."""

    name: str
    frame: pd.DataFrame
    schema: Schema
    source: str = ""
    description: str = ""
    id: str | None = None
    notes: list[str] = field(default_factory=list)
    kind: str = "table"

    def fingerprint(self) -> str:
        """A short content hash of the table (rows, columns and values)."""
        return frame_fingerprint(self.frame)

    @property
    def task(self) -> str | None:
        return self.schema.task


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """A short content hash of a frame's column names and values.

    Row hashes are computed 100,000 rows at a time (a row's hash depends on that row only, so
    the digest is the same as over all rows at once) — bounded memory on a large table."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    for start in range(0, len(frame), 100_000):
        rows = frame.iloc[start : start + 100_000]
        digest.update(pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def model_kind(column: ColumnInfo, series: pd.Series | None = None) -> str:
    """How a feature enters a model: 'numeric' (a number) or 'categorical' (one-hot encoded).

    Binary columns of numbers stay numeric (0/1); binary columns of words are categorical.
    """
    if column.kind == NUMERIC:
        return NUMERIC
    if column.kind == BINARY:
        if series is None:
            return NUMERIC if column.dtype != "text" else CATEGORICAL
        nonnull = series.dropna()
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            return NUMERIC
        return NUMERIC if pd.to_numeric(nonnull, errors="coerce").notna().all() else CATEGORICAL
    if column.kind == CATEGORICAL:
        return CATEGORICAL
    if column.kind == MOLECULE:
        return MOLECULE
    raise UserError(
        f"Column '{column.name}' is of kind '{column.kind}'.",
        expected="numeric, binary or categorical for a model input",
        fix="change its kind, or leave it out of the features",
    )


def category_text(value: Any) -> str:
    """The text of one categorical value: 1.0 and 1 both become '1'; missing becomes '(missing)'."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return MISSING_CATEGORY
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    text = str(value).strip()
    return text if text else MISSING_CATEGORY


def feature_frame(
    frame: pd.DataFrame, schema: Schema, kinds: dict[str, str] | None = None
) -> pd.DataFrame:
    """The feature columns typed as models take them: floats (NaN = missing) and category texts.

    A numeric column that is float64 already is kept as it is (no copy: it shares the frame's
    memory, issue 15); others become float32. ``kinds`` maps feature name to 'numeric' or 'categorical' (from a model card); without it they
    are derived from the schema. Raises SchemaMismatchError naming missing columns or bad values.
    """
    features = schema.features
    missing = [c.name for c in features if c.name not in frame.columns]
    if missing:
        raise SchemaMismatchError(
            f"The records lack {len(missing)} column(s) the model needs: {', '.join(missing)}.",
            expected="columns " + ", ".join(c.name for c in features),
            fix="add the missing columns (an empty column is allowed: its values count as missing)",
        )
    out = {}
    for col in features:
        kind = (kinds or {}).get(col.name) or model_kind(col, frame[col.name])
        if kind == NUMERIC:
            numbers = to_number(frame[col.name], col.name)
            same = frame[col.name].dtype == np.float64
            out[col.name] = numbers.to_numpy(dtype=np.float64 if same else np.float32)
        elif kind == MOLECULE:  # SMILES text ('' = no usable molecule); featurised by the layout
            out[col.name] = np.array(
                [
                    "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
                    for v in frame[col.name]
                ],
                dtype=object,
            )
        else:
            out[col.name] = np.array([category_text(v) for v in frame[col.name]], dtype=object)
    return pd.DataFrame(out, index=frame.index, copy=False)


def encode_target(frame: pd.DataFrame, schema: Schema) -> tuple[np.ndarray, np.ndarray]:
    """The target as numbers, and a mask of rows that have one.

    Binary: 1.0 for the positive class, else 0.0; multiclass: the class index; regression: the value;
    survival: (n, 2) of follow-up time and event (1.0 when the event happened).
    """
    if not schema.target or schema.target not in frame.columns:
        raise SchemaMismatchError(
            f"The records have no target column '{schema.target}'.",
            expected="the outcome column the schema names",
            fix="choose the target column again",
        )
    series = frame[schema.target]
    if schema.task == "survival":
        if not schema.time_column or schema.time_column not in frame.columns:
            raise SchemaMismatchError(
                f"The records have no time column '{schema.time_column}'.",
                expected="the follow-up time column the schema names",
                fix="include the time column",
            )
        times = to_number(frame[schema.time_column], schema.time_column, strict=False).to_numpy(
            dtype=np.float32
        )
        labels = target_labels(series)
        events = (labels == schema.positive_class).to_numpy(dtype=np.float32)
        present = ~np.isnan(times) & labels.notna().to_numpy()
        return np.stack([times, events], axis=1), present
    if schema.task == "regression":
        y = to_number(series, schema.target, strict=False).to_numpy(dtype=np.float32)
        infinite = int(np.isinf(y).sum())
        if infinite:  # inf (or a number beyond float32) would make every loss NaN
            raise UserError(
                f"The target column '{schema.target}' holds {infinite} infinite value(s).",
                expected="finite numbers in a regression target",
                fix="correct or remove those records (or mark the values as missing)",
            )
        return y, ~np.isnan(y)
    labels = target_labels(series)
    present = labels.notna().to_numpy()
    if schema.task == "binary":
        y = (labels == schema.positive_class).to_numpy(dtype=np.float32)
        return y, present
    index = {c: i for i, c in enumerate(schema.classes)}
    unknown = sorted({v for v in labels.dropna() if v not in index})
    if unknown:
        raise SchemaMismatchError(
            f"Target '{schema.target}' has classes the schema does not know: {', '.join(unknown[:5])}.",
            expected="classes " + ", ".join(schema.classes),
            fix="choose the target again so its classes are re-read",
        )
    y = np.array([index.get(v, -1) if v is not None else -1 for v in labels], dtype=np.int64)
    return y, present
