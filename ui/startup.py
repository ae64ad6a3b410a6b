"""What happens once per app process: the store opened, stale jobs marked, demo data ready,
and the demo model queued for training in the background if there is none yet."""

from __future__ import annotations

import logging
import os
from typing import Any

import streamlit as st

logger = logging.getLogger("dashboard")


@st.cache_resource(show_spinner=False)
def boot() -> dict[str, Any]:
    """Prepare the workspace (runs once per server process). Returns what it did."""
    from dlcore.doctor import clean_workspace
    from dlcore.store import get_store
    from dlcore.training.demo_models import ensure_demo_datasets
    from dlcore.training.jobs import recover_jobs

    get_store()
    clean_workspace()  # temporary folders of writers killed mid-write
    interrupted = recover_jobs()
    datasets = ensure_demo_datasets()
    job_id = None
    if os.environ.get("DLCORE_DEMO_AUTOTRAIN", "1") != "0":
        job_id = ensure_demo_model(datasets["breast_cancer"])
    logger.info("dashboard ready (interrupted jobs: %d, demo job: %s)", interrupted, job_id)
    return {"interrupted": interrupted, "datasets": datasets, "demo_job": job_id}


def ensure_demo_model(dataset_id: str) -> str | None:
    """Queue the breast-cancer demo model unless one exists or is already being trained."""
    from dlcore.governance.accounts import SYSTEM_ACCOUNT
    from dlcore.training.demo_models import DEMO_MODEL_NAMES, DEMO_SPECS, demo_model
    from dlcore.training.jobs import list_jobs, submit_training

    if demo_model("breast_cancer") is not None:
        return None
    for job in list_jobs(limit=50, active_only=True):
        if job.params.get("dataset_id") == dataset_id:
            return job.id
    return submit_training(
        dataset_id,
        DEMO_SPECS["breast_cancer"],
        name=DEMO_MODEL_NAMES["breast_cancer"],
        title="Demo model: breast cancer diagnosis",
        actor=SYSTEM_ACCOUNT,
    )
