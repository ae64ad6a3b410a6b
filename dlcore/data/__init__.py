"""Reading tables into datasets, schema inference, data-quality reports and bundled demo data."""

from __future__ import annotations

from dlcore.data.dataset import Dataset, encode_target, feature_frame, frame_fingerprint, model_kind
from dlcore.data.demo import DEMOS, load_demo
from dlcore.data.quality import DataReport, quality_report
from dlcore.data.schema import (
    ColumnInfo,
    Schema,
    detect_task,
    infer_schema,
    set_target,
    suggest_target,
    update_columns,
)
from dlcore.data.tables import TableFile, read_table

__all__ = [
    "DEMOS",
    "ColumnInfo",
    "DataReport",
    "Dataset",
    "Schema",
    "TableFile",
    "detect_task",
    "encode_target",
    "feature_frame",
    "frame_fingerprint",
    "infer_schema",
    "load_demo",
    "model_kind",
    "quality_report",
    "read_table",
    "set_target",
    "suggest_target",
    "update_columns",
]
