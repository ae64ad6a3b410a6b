"""Small file-system helpers: atomic folder and file writes, content hashes, short ids."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

TMP_PREFIX = ".tmp-"
LOCK_FILE = ".writer.lock"
# A temporary folder without a writer's lock (written by an older version) is an orphan once it
# is this old.
UNLOCKED_ORPHAN_AGE_S = 3600.0


def new_id(prefix: str) -> str:
    """A short unique id such as ``m-3f2a9c1b7d``."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def neutral_name(what: str, task: str | None = None) -> str:
    """A default name for a model or dataset that says what it is and when, never a file name
    (file names can name a patient): e.g. 'binary model 2026-11-29 07:41'."""
    import datetime as dt

    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    return " ".join(p for p in (task, what, stamp) if p)


def file_source(name: str) -> str:
    """How a dataset or card names the file it came from: the SHA-256 of the file's name, never
    the name itself (file names can name a patient)."""
    return "file sha256:" + hashlib.sha256(Path(str(name)).name.encode()).hexdigest()


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """The SHA-256 of bytes, as hex."""
    return hashlib.sha256(data).hexdigest()


def write_json(path: Path, payload: Any) -> None:
    """Write JSON atomically (a temporary file, then rename). The text is streamed to the file
    as it is encoded (arrays one at a time): a split of a million records is not held whole."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        if isinstance(payload, dict) and any(_int_vector(v) for v in payload.values()):
            _dump_with_vectors(payload, handle)
        else:
            json.dump(payload, handle, indent=2, default=_json_default)
    os.replace(tmp, path)


def _int_vector(value: Any) -> bool:
    import numpy as np

    return isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "iu"


def _dump_with_vectors(payload: dict[str, Any], handle: Any) -> None:
    """``json.dump(payload, handle, indent=2)`` for a dict whose values include 1-D integer
    arrays, each written 100,000 numbers at a time (the same text; no list of Python ints)."""
    handle.write("{")
    for i, (key, value) in enumerate(payload.items()):
        handle.write(("," if i else "") + "\n  " + json.dumps(str(key)) + ": ")
        if not _int_vector(value):
            text = json.dumps(value, indent=2, default=_json_default)
            handle.write(text.replace("\n", "\n  "))
        elif not len(value):
            handle.write("[]")
        else:
            handle.write("[")
            for start in range(0, len(value), 100_000):
                chunk = value[start : start + 100_000].tolist()
                handle.write(("," if start else "") + ",".join(f"\n    {v}" for v in chunk))
            handle.write("\n  ]")
    handle.write("\n}" if payload else "}")


def read_json(path: Path) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text())


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


@contextmanager
def atomic_folder(final: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``final``; on success rename it to ``final``.

    On an exception the temporary folder is removed and ``final`` is untouched.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f"{TMP_PREFIX}{final.name}-{uuid.uuid4().hex[:6]}"
    tmp.mkdir()
    # The writer holds a lock on a file inside while it writes; the kernel drops it when the
    # process dies (even by kill -9), which is how a cleaner tells an orphan from a live write.
    lock = _hold_lock(tmp / LOCK_FILE)
    try:
        yield tmp
        if final.exists():
            raise FileExistsError(final)
        (tmp / LOCK_FILE).unlink(missing_ok=True)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if lock is not None:
            os.close(lock)


def _hold_lock(path: Path) -> int | None:
    try:
        import fcntl
    except ImportError:  # Windows: orphans are judged by age alone
        return None
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    return descriptor


def _is_orphan(folder: Path, now: float) -> bool:
    lock_path = folder / LOCK_FILE
    if lock_path.exists():
        try:
            import fcntl
        except ImportError:
            return now - folder.stat().st_mtime > UNLOCKED_ORPHAN_AGE_S
        try:
            descriptor = os.open(lock_path, os.O_RDWR)
        except FileNotFoundError:
            return False  # the writer has just finished
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live writer holds it
        finally:
            os.close(descriptor)
        return True
    try:
        return now - folder.stat().st_mtime > UNLOCKED_ORPHAN_AGE_S
    except FileNotFoundError:
        return False


def remove_orphaned_folders(*parents: Path) -> list[str]:
    """Remove temporary ``.tmp-*`` folders left by writers that died (kill -9, power loss).

    A folder is an orphan when no live process holds its writer's lock (or, for folders without a
    lock, when it is over an hour old). Returns the names removed.
    """
    removed: list[str] = []
    now = time.time()
    for parent in parents:
        if not parent.is_dir():
            continue
        for folder in parent.glob(f"{TMP_PREFIX}*"):
            if folder.is_dir() and _is_orphan(folder, now):
                shutil.rmtree(folder, ignore_errors=True)
                if not folder.exists():
                    removed.append(folder.name)
    if removed:
        logger.warning("removed %d orphaned temporary folder(s)", len(removed))
    return removed


# Cells a spreadsheet would read as a formula (OWASP's CSV injection list).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def neutralise_cell(value: Any) -> Any:
    """A cell made safe for a spreadsheet: text beginning with =, +, -, @, tab or carriage return
    gets a leading single quote; numbers (also text such as '-2' or '+1.5e3') stay as they are."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    if _NUMBER.fullmatch(value.strip()):
        return value
    return "'" + value


def neutralise_csv_cells(frame: Any) -> Any:
    """A copy of a DataFrame whose text cells and column names are neutralised for CSV export.

    Every CSV the product writes goes through this (predictions, audit, review decisions,
    subgroup tables): a cell such as ``=HYPERLINK(...)`` is written as ``'=HYPERLINK(...)``.
    Numeric columns are untouched, so -2 stays the number -2.
    """
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)
        out[column] = series.map(neutralise_cell).astype(
            series.dtype if pd.api.types.is_string_dtype(series) else object
        )
    out.columns = [neutralise_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


# Rows neutralised and written at a time by write_csv.
CSV_BLOCK_ROWS = 50_000

TABLE_FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet", ".pq": "parquet"}


def write_table(frame: Any, path: Path) -> str:
    """Write a DataFrame in the format its file name's extension names (CSV, XLSX, Parquet),
    atomically; text cells are neutralised for spreadsheets (CSV and XLSX). Returns the format.

    Raises UserError for another extension.
    """
    from dlcore.errors import UserError

    path = Path(path)
    kind = TABLE_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise UserError(
            f"The output file '{path.name}' has the extension '{path.suffix or '(none)'}'.",
            expected="a file name ending in .csv, .xlsx or .parquet",
            fix="name the output file with one of those extensions",
        )
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}.tmp")
    try:
        if kind == "csv":
            write_csv(frame, tmp)
        elif kind == "xlsx":
            neutralise_csv_cells(frame).to_excel(tmp, index=False, engine="openpyxl")
        else:
            frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return kind


def write_csv(frame: Any, path: Path | None = None, **kwargs: Any) -> bytes | None:
    """Write a DataFrame as CSV with formulas neutralised (to ``path``, or return the bytes).

    Text cells and column names are quoted, numbers are not (csv.QUOTE_NONNUMERIC): pandas'
    default quotes a cell only for a comma, a quote or a newline, so a cell holding a bare
    carriage return would otherwise split its row in a reader; -2 stays the number -2.
    """
    kwargs.setdefault("index", False)
    kwargs.setdefault("quoting", csv.QUOTE_NONNUMERIC)
    if path is None:
        return neutralise_csv_cells(frame).to_csv(**kwargs).encode()
    # In blocks of rows: neutralising makes a copy, and a copy of a million-row table is as
    # large as the table (predict on 1,000,000 x 21 numbers: 1,279 MB peak with one copy).
    with open(path, "w", newline="", encoding=kwargs.pop("encoding", "utf-8")) as handle:
        for start in range(0, max(len(frame), 1), CSV_BLOCK_ROWS):
            block = neutralise_csv_cells(frame.iloc[start : start + CSV_BLOCK_ROWS])
            block.to_csv(
                handle,
                header=start == 0 and kwargs.get("header", True),
                **{k: v for k, v in kwargs.items() if k != "header"},
            )
    return None
