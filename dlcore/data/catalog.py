"""Datasets kept in the workspace: a folder per dataset (Parquet table + schema), indexed in the store."""

from __future__ import annotations

import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from dlcore.config import get_settings
from dlcore.data.dataset import Dataset
from dlcore.data.images import ImageDataset, SkippedFile
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
    kind: str = "table"


# Rows converted to Arrow and written at once: a large table is written in row groups of this
# many rows, never converted whole (that held two more copies of the table, issue 15).
PARQUET_ROWS_PER_GROUP = 100_000


def _parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy(deep=False)  # copy-on-write: only the columns converted below are copied
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = (
                out[col].map(lambda v: None if v is None or pd.isna(v) else str(v)).astype("str")
            )
    return out


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a table as Parquet (no index), a large one in row groups of
    PARQUET_ROWS_PER_GROUP rows converted one at a time: memory stays near one group's."""
    safe = _parquet_safe(frame)
    if len(safe) <= PARQUET_ROWS_PER_GROUP:
        safe.to_parquet(path, index=False)
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.Schema.from_pandas(safe, preserve_index=False)
    # Dictionary encoding for the text (and other non-number) columns only: on numbers its hash
    # tables held ~20 MB more while writing 1,000,000 rows (issue 15), for a file hardly smaller.
    dictionary = [str(c) for c in safe.columns if not pd.api.types.is_numeric_dtype(safe[c])]
    with pq.ParquetWriter(path, schema, use_dictionary=dictionary) as writer:
        for start in range(0, len(safe), PARQUET_ROWS_PER_GROUP):
            part = safe.iloc[start : start + PARQUET_ROWS_PER_GROUP]
            writer.write_table(pa.Table.from_pandas(part, schema=schema, preserve_index=False))
    # Arrow's allocator (mimalloc) keeps the groups' freed buffers: ~17 MB at 1,000,000 x 21
    # held through evaluation (issue 15). Given back here.
    pa.default_memory_pool().release_unused()


def save_dataset(dataset: Dataset | ImageDataset) -> str:
    """Save a dataset (a table or images) into the workspace and index it; returns its id."""
    if isinstance(dataset, ImageDataset):
        return _save_images(dataset)
    settings = get_settings()
    dataset_id = dataset.id or new_id("d")
    final = settings.datasets_dir / dataset_id
    same = {"fingerprint": dataset.fingerprint(), "schema": dataset.schema.to_dict()}
    if final.exists() and _saved_identity(final) != same:
        dataset_id = new_id("d")  # another dataset (or schema) under this id: save it anew
        final = settings.datasets_dir / dataset_id
    if not final.exists():  # the same records already saved under this id: index them only
        with atomic_folder(final) as folder:
            write_parquet(dataset.frame, folder / "data.parquet")
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


def _saved_identity(folder: Path) -> dict[str, Any] | None:
    """The records' fingerprint and the schema saved in a dataset's folder (None if unreadable)."""
    try:
        saved = read_json(folder / "dataset.json")
        return {"fingerprint": saved.get("fingerprint"), "schema": saved.get("schema")}
    except (OSError, ValueError, AttributeError):
        return None


def _save_images(dataset: ImageDataset) -> str:
    settings = get_settings()
    dataset_id = dataset.id or new_id("d")
    final = settings.datasets_dir / dataset_id
    split = dataset.predefined_split or {}
    with atomic_folder(final) as folder:
        np.savez_compressed(
            folder / "images.npz",
            images=dataset.images,
            labels=dataset.labels
            if dataset.labels is not None
            else np.full(len(dataset.images), -1),
            **{f"split_{k}": v for k, v in split.items()},
        )
        write_json(
            folder / "dataset.json",
            {
                "id": dataset_id,
                "kind": "images",
                "name": dataset.name,
                "source": dataset.source,
                "description": dataset.description,
                "classes": dataset.classes,
                "positive_class": dataset.positive_class,
                "file_names": dataset.file_names,
                "skipped": [asdict(s) for s in dataset.skipped],
                "dicom": dataset.dicom,
                "fingerprint": dataset.fingerprint(),
            },
        )
    with get_store().session() as session:
        session.merge(
            DatasetRow(
                id=dataset_id,
                name=dataset.name,
                source=dataset.source,
                kind="images",
                rows=len(dataset.images),
                columns=int(np.prod(dataset.image_shape)),
                target="class" if dataset.labels is not None else None,
                task=dataset.task if dataset.labels is not None else None,
                fingerprint=dataset.fingerprint(),
                path=str(final),
            )
        )
        session.commit()
    dataset.id = dataset_id
    logger.info("saved image dataset %s (%d images)", dataset_id, len(dataset.images))
    return dataset_id


def _load_images(dataset_id: str, folder: Path, meta: dict) -> ImageDataset:
    with np.load(folder / "images.npz", allow_pickle=False) as archive:
        images = archive["images"]
        labels = archive["labels"]
        split = {k[len("split_") :]: archive[k] for k in archive.files if k.startswith("split_")}
    return ImageDataset(
        name=meta["name"],
        images=images,
        labels=None if (labels < 0).all() else labels.astype(np.int64),
        classes=list(meta.get("classes", [])),
        file_names=list(meta.get("file_names", [])),
        source=meta.get("source", ""),
        description=meta.get("description", ""),
        id=dataset_id,
        positive_class=meta.get("positive_class"),
        predefined_split=split or None,
        skipped=[SkippedFile(**s) for s in meta.get("skipped", [])],
        dicom=meta.get("dicom", {}),
    )


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


def load_dataset(dataset_id: str) -> Dataset | ImageDataset:
    """Load a saved dataset (table or images) by id. Raises NotFoundError when it does not exist."""
    folder = _folder(dataset_id)
    meta = read_json(folder / "dataset.json")
    if meta.get("kind") == "images":
        return _load_images(dataset_id, folder, meta)
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
            r.kind,
        )
        for r in rows
        if Path(r.path).is_dir()
    ]


def ensure_saved(dataset: Dataset | ImageDataset) -> str:
    """The id of this dataset in the workspace: its own, an identical saved one's, or a new save.

    Models keep the id, so their test split can be re-evaluated and their records explained later.
    """
    if dataset.id:
        return dataset.id
    fingerprint = dataset.fingerprint()
    with get_store().session() as session:
        rows = session.scalars(
            select(DatasetRow).where(DatasetRow.fingerprint == fingerprint)
        ).all()
    for row in rows:
        if Path(row.path).is_dir():
            dataset.id = row.id
            return row.id
    return save_dataset(dataset)


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
