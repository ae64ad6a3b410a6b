"""What happens once per app process: the store opened, stale jobs marked, demo data ready,
and the demo model queued for training in the background if there is none yet.

Under ``streamlit run app.py`` (and AppTest) this runs before the first page, as it always did.
Under ``python -m ui.serve`` (``make run``) it runs in a background thread started once the first
page has been drawn, so that page imports and waits for nothing heavy; Home says what is still
being prepared and refreshes when it is done.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import streamlit as st

from dlcore.glance import Glance, take

logger = logging.getLogger("dashboard")
GLANCE_KEY = "workspace_glance_this_run"
_deferred = False
# The longest the deferred work waits for the first page's script run to end.
AFTER_FIRST_PAGE_WAIT_S = 10.0


def defer_boot() -> None:
    """Run the start-up work after the first page instead of before it (ui.serve calls this)."""
    global _deferred
    _deferred = True


class Boot:
    """The start-up work of this process: whether it is done, and what it did."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: dict[str, Any] = {}
        self.failed = False
        self._thread: threading.Thread | None = None

    def run(self, after: threading.Thread | None = None) -> None:
        if after is not None:
            # The first page's script run sends its last elements while it ends; work that holds
            # the interpreter (imports, parquet writes) would slow that page down if it began now.
            after.join(timeout=AFTER_FIRST_PAGE_WAIT_S)
        try:
            self.result = prepare()
        except Exception:  # the pages meet the same problem and report it to the person
            self.failed = True
            logger.exception("start-up failed")
        finally:
            self.done.set()

    def start_in_background(self, after: threading.Thread | None = None) -> None:
        """Run the work in a thread, once ``after`` (the first page's script run) has ended."""
        if self._thread is None and not self.done.is_set():
            self._thread = threading.Thread(
                target=self.run, args=(after,), name="dashboard-boot", daemon=True
            )
            self._thread.start()


@st.cache_resource(show_spinner=False)
def boot() -> Boot:
    """This process's start-up (runs once per server process): done before it returns, unless
    deferred by ui.serve (then ``after_first_page`` starts it)."""
    state = Boot()
    if not _deferred:
        state.run()
    return state


def after_first_page() -> None:
    """Start the deferred start-up work once this script run has ended (a no-op once started or
    when it ran already)."""
    boot().start_in_background(after=threading.current_thread())


def ready() -> bool:
    """Whether the start-up work has finished."""
    return boot().done.is_set()


def prepare() -> dict[str, Any]:
    """Prepare the workspace. Returns what it did."""
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
    if _deferred:
        _warm_imports()
    logger.info("dashboard ready (interrupted jobs: %d, demo job: %s)", interrupted, job_id)
    return {"interrupted": interrupted, "datasets": datasets, "demo_job": job_id}


def _warm_imports() -> None:
    """Import what the other pages use, so the first visit of each is quick."""
    import plotly.graph_objects  # noqa: F401  (every chart)

    import dlcore.data.catalog
    import dlcore.registry
    import dlcore.training.jobs  # noqa: F401


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


def workspace() -> Glance:
    """The workspace as this run shows it: the snapshot the sidebar took just before this page
    (app.py draws it first), so that Home's counters, its demo status and the sidebar agree; a
    new snapshot when there is none (a page run on its own, as AppTest reruns do)."""
    return st.session_state.pop(GLANCE_KEY, None) or take()
