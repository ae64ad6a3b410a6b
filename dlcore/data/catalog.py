"""Datasets kept in the workspace: a folder per dataset (Parquet table + schema), indexed in the store."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from dlcore.config import get_settings
from dlcore.data.dataset import Dataset
from dlcore.data.schema import Schema
from dlcore.errors import NotFoundError
from dlcore.fsutil import atomic_folder, new_id, read_json, write_json
from dlcore.store import DatasetRow, get_store

logger = logging.getLogger(__name__)


@dataclass
class DatasetEntry:
    """One saved dataset as listed in the workspace."""

    id: str
    name: str
    source: str
    rows: int
    columns: int
    target: str | None
    task: str | None
    fingerprint: str
    created: str


def _parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = (
                out[col].map(lambda v: None if v is None or pd.isna(v) else str(v)).astype("str")
            )
    return out


def save_dataset(dataset: Dataset) -> str:
    """Save a dataset into the workspace and index it; returns its id."""
    settings = get_settings()
    dataset_id = dataset.id or new_id("d")
    final = settings.datasets_dir / dataset_id
    with atomic_folder(final) as folder:
        _parquet_safe(dataset.frame).to_parquet(folder / "data.parquet", index=False)
        write_json(
            folder / "dataset.json",
            {
                "id": dataset_id,
                "name": dataset.name,
                "source": dataset.source,
                "description": dataset.description,
                "schema": dataset.schema.to_dict(),
                "fingerprint": dataset.fingerprint(),
                "notes": dataset.notes,
            },
        )
    with get_store().session() as session:
        session.merge(
            DatasetRow(
                id=dataset_id,
                name=dataset.name,
                source=dataset.source,
                rows=len(dataset.frame),
                columns=dataset.frame.shape[1],
                target=dataset.schema.target,
                task=dataset.schema.task,
                fingerprint=dataset.fingerprint(),
                path=str(final),
            )
        )
        session.commit()
    dataset.id = dataset_id
    logger.info("saved dataset %s (%d rows)", dataset_id, len(dataset.frame))
    return dataset_id


def update_dataset_schema(dataset_id: str, schema: Schema) -> None:
    """Replace a saved dataset's schema (target, kinds, included columns)."""
    folder = _folder(dataset_id)
    meta = read_json(folder / "dataset.json")
    meta["schema"] = schema.to_dict()
    write_json(folder / "dataset.json", meta)
    with get_store().session() as session:
        row = session.get(DatasetRow, dataset_id)
        if row is not None:
            row.target, row.task = schema.target, schema.task
            session.commit()


def _folder(dataset_id: str) -> Path:
    folder = get_settings().datasets_dir / dataset_id
    if not (folder / "dataset.json").is_file():
        raise NotFoundError(
            f"There is no dataset '{dataset_id}' in the workspace.",
            expected="the id of a saved dataset",
            fix="list the datasets and pick one of their ids",
        )
    return folder


def load_dataset(dataset_id: str) -> Dataset:
    """Load a saved dataset by id. Raises NotFoundError when it does not exist."""
    folder = _folder(dataset_id)
    meta = read_json(folder / "dataset.json")
    frame = pd.read_parquet(folder / "data.parquet")
    return Dataset(
        name=meta["name"],
        frame=frame,
        schema=Schema.from_dict(meta["schema"]),
        source=meta.get("source", ""),
        description=meta.get("description", ""),
        id=dataset_id,
        notes=meta.get("notes", []),
    )


def list_datasets() -> list[DatasetEntry]:
    """The saved datasets, newest first."""
    with get_store().session() as session:
        rows = session.scalars(select(DatasetRow).order_by(DatasetRow.created.desc())).all()
    return [
        DatasetEntry(
            r.id,
            r.name,
            r.source,
            r.rows,
            r.columns,
            r.target,
            r.task,
            r.fingerprint,
            r.created.isoformat(timespec="seconds"),
        )
        for r in rows
        if Path(r.path).is_dir()
    ]


def find_dataset_by_source(source: str) -> DatasetEntry | None:
    """The newest saved dataset with this source (for example 'demo:breast_cancer'), if any."""
    return next((d for d in list_datasets() if d.source == source), None)


def delete_dataset(dataset_id: str) -> None:
    """Delete a saved dataset: its files and its index row."""
    folder = _folder(dataset_id)
    shutil.rmtree(folder)
    with get_store().session() as session:
        row = session.get(DatasetRow, dataset_id)
        if row is not None:
            session.delete(row)
            session.commit()
    logger.info("deleted dataset %s", dataset_id)
