"""The workspace at a glance (the app's Home page and sidebar): saved datasets, registered models
and jobs, read in one consistent snapshot.

For the default SQLite database it reads with the standard library's ``sqlite3``, read-only and in
one transaction, so the app's first page needs neither SQLAlchemy nor pandas. Any other database,
or a file this reader does not understand (an older schema), is read through the store.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlcore.config import get_settings

logger = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
DEMO_TITLE = "Demo model"
MAX_ROWS = 200


@dataclass(frozen=True)
class DatasetGlance:
    """A saved dataset as listed."""

    id: str
    name: str
    source: str
    rows: int
    columns: int
    target: str | None
    task: str | None
    kind: str


@dataclass(frozen=True)
class ModelGlance:
    """A registered model as listed; ``source`` is its training data's source ('demo:…')."""

    id: str
    name: str
    version: int
    task: str
    dataset_name: str
    created: str  # 'YYYY-MM-DD HH:MM:SS' (UTC)
    key_metric_name: str
    key_metric_value: float | None
    source: str = ""


@dataclass(frozen=True)
class JobGlance:
    """A job as listed: its state and progress."""

    id: str
    title: str
    status: str
    fraction: float
    eta_s: float | None
    error: str | None
    dataset_id: str | None

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE


@dataclass(frozen=True)
class Glance:
    """One snapshot of the workspace, newest first in each list."""

    datasets: tuple[DatasetGlance, ...] = ()
    models: tuple[ModelGlance, ...] = ()
    jobs: tuple[JobGlance, ...] = ()  # the newest MAX_ROWS jobs
    active_jobs: int = 0

    def dataset_name(self, dataset_id: str | None) -> str | None:
        """The name of a saved dataset, or None."""
        return next((d.name for d in self.datasets if d.id == dataset_id), None)

    def model_name(self, model_id: str | None) -> str | None:
        """The name of a registered model, or None."""
        return next((m.name for m in self.models if m.id == model_id), None)

    def demo_model(self, key: str = "breast_cancer") -> ModelGlance | None:
        """The newest model trained on demo data set ``key``."""
        return next((m for m in self.models if m.source == f"demo:{key}"), None)

    def demo_job(self) -> JobGlance | None:
        """The newest demo-model job."""
        return next((j for j in self.jobs if j.title.startswith(DEMO_TITLE)), None)

    def demo_state(self, key: str = "breast_cancer") -> str:
        """'training' while a demo job is queued or running, else 'ready' when the demo model
        exists, else 'failed' when the last demo job did not succeed, else 'absent'.

        One rule for the Home page's status and the sidebar, so they never disagree.
        """
        job = self.demo_job()
        if job is not None and job.is_active:
            return "training"
        if self.demo_model(key) is not None:
            return "ready"
        if job is not None and job.status != "succeeded":
            return "failed"
        return "absent"


def take() -> Glance:
    """A consistent snapshot of the workspace (an empty one before the database exists)."""
    url = get_settings().database_url
    if url.startswith("sqlite:///") and "?" not in url:
        path = Path(url[len("sqlite:///") :])
        if not path.is_file():
            return Glance()
        try:
            return _read_sqlite(path)
        except (sqlite3.Error, ValueError, KeyError, TypeError) as exc:
            logger.info("light workspace read failed (%s); reading through the store", exc)
    return _read_store()


_SOURCES: dict[Path, str] = {}  # a model's training-data source never changes: read its card once


def _card_source(folder: Path) -> str:
    source = _SOURCES.get(folder) or _read_card_source(folder)
    if source:
        _SOURCES[folder] = source
    return source


def _read_card_source(folder: Path) -> str:
    try:
        card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    dataset = card.get("dataset") if isinstance(card, dict) else None
    return str(dataset.get("source") or "") if isinstance(dataset, dict) else ""


def _job(
    id_: str,
    title: str,
    status: str,
    progress: dict[str, Any] | None,
    error: str | None,
    params: dict[str, Any] | None,
) -> JobGlance:
    progress = progress or {}
    eta = progress.get("eta_s")
    return JobGlance(
        id=id_,
        title=title or "",
        status=status,
        fraction=min(max(float(progress.get("fraction") or 0.0), 0.0), 1.0),
        eta_s=float(eta) if isinstance(eta, int | float) else None,
        error=error,
        dataset_id=(params or {}).get("dataset_id"),
    )


def _read_sqlite(path: Path) -> Glance:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5, isolation_level=None)
    try:
        connection.execute("BEGIN")  # one read transaction: the three lists agree
        datasets = connection.execute(
            "SELECT id, name, source, rows, columns, target, task, kind, path FROM datasets "
            "ORDER BY created DESC LIMIT ?",
            (MAX_ROWS,),
        ).fetchall()
        models = connection.execute(
            "SELECT id, name, version, task, dataset_name, created, key_metric_name, "
            "key_metric_value, path FROM models ORDER BY created DESC, id LIMIT ?",
            (MAX_ROWS,),
        ).fetchall()
        jobs = connection.execute(
            "SELECT id, title, status, progress, error, params FROM jobs "
            "ORDER BY created DESC, id DESC LIMIT ?",
            (MAX_ROWS,),
        ).fetchall()
        (active,) = connection.execute(
            "SELECT count(*) FROM jobs WHERE status IN (?, ?)", ACTIVE
        ).fetchone()
        connection.execute("COMMIT")
    finally:
        connection.close()
    return Glance(
        datasets=tuple(
            DatasetGlance(i, n, s or "", int(r or 0), int(c or 0), t, k, kind or "table")
            for i, n, s, r, c, t, k, kind, folder in datasets
            if Path(folder).is_dir()
        ),
        models=tuple(
            ModelGlance(
                i,
                n,
                int(v or 1),
                t,
                dn or "",
                str(created or "")[:19].replace("T", " "),
                kn or "",
                None if kv is None else float(kv),
                _card_source(Path(folder)),
            )
            for i, n, v, t, dn, created, kn, kv, folder in models
            if Path(folder).is_dir()
        ),
        jobs=tuple(
            _job(i, t, s, json.loads(p) if p else None, e, json.loads(q) if q else None)
            for i, t, s, p, e, q in jobs
        ),
        active_jobs=int(active),
    )


def _read_store() -> Glance:
    from dlcore.data.catalog import list_datasets
    from dlcore.registry import _folder, list_models
    from dlcore.training.jobs import job_summary, list_jobs

    return Glance(
        datasets=tuple(
            DatasetGlance(d.id, d.name, d.source, d.rows, d.columns, d.target, d.task, d.kind)
            for d in list_datasets()[:MAX_ROWS]
        ),
        models=tuple(
            ModelGlance(
                m.id,
                m.name,
                m.version,
                m.task,
                m.dataset_name,
                m.created.replace("T", " "),
                m.key_metric_name,
                m.key_metric_value,
                _card_source(_folder(m.id)),
            )
            for m in list_models()[:MAX_ROWS]
        ),
        jobs=tuple(
            _job(j.id, j.title, j.status, j.progress, j.error, j.params)
            for j in list_jobs(limit=MAX_ROWS)
        ),
        active_jobs=job_summary().active,
    )
