"""The job panel shared by the Train and Learn pages: progress, live curves, cancel, result."""

from __future__ import annotations

import streamlit as st

from dlcore.models.common import MAIN_METRIC
from dlcore.plots.training import plot_history
from dlcore.training.jobs import cancel_job, get_job, job_history, list_jobs, reap_jobs
from ui.auth import allowed, current_account
from ui.common import MODEL_KEY, fmt_duration, show_metrics

POLL_SECONDS = 1.5  # a faster poll starves the training worker on a 2-core laptop (DESIGN.md)


def may_open_models() -> bool:
    """Whether the signed-in account may open the Models page (a clinician on Learn may not)."""
    account = current_account()
    return account is not None and allowed(account, "models")


def job_panel(job_id: str, was_active: bool) -> None:
    """Draw one job: progress with time left and Cancel while it runs; loss and main-metric curves
    (training and validation) as they grow; the test metrics and a link to the model when it ends.

    Call it inside an ``st.fragment(run_every=POLL_SECONDS)`` while the job is active;
    ``was_active`` says whether it was when the page ran, so the page refreshes once at the end.
    """
    job = get_job(job_id)
    if job.is_active and reap_jobs():  # its worker died since the last poll
        job = get_job(job_id)
    progress = job.progress
    task_name = job.params.get("task") or "binary"
    metric = MAIN_METRIC.get(task_name, "loss")
    if job.status == "queued":
        ahead = sum(1 for j in list_jobs(limit=100, active_only=True) if j.created < job.created)
        st.info(
            f"Waiting for a free training slot ({ahead} job(s) ahead).",
            icon=":material/hourglass_top:",
        )
    fraction = min(max(float(progress.get("fraction") or 0.0), 0.0), 1.0)
    epoch, epochs = (
        progress.get("epoch") or 0,
        progress.get("epochs") or job.params.get("spec", {}).get("epochs"),
    )
    if job.is_active:
        text = f"Epoch {epoch} of at most {epochs} · {fmt_duration(job.elapsed_s)} elapsed · about {fmt_duration(progress.get('eta_s'))} left"
        st.progress(fraction, text=text)
        if st.button(
            "Cancel training",
            icon=":material/stop_circle:",
            disabled=job.cancel_requested,
            key=f"cancel_{job_id}",
        ):
            cancel_job(job_id)
            st.rerun(scope="fragment")
        if job.cancel_requested:
            st.caption("Stopping at the end of the current step…")
    history = job_history(job_id)
    if history:
        best = job.result.get("best_epoch")
        g1, g2 = st.columns(2)
        g1.plotly_chart(plot_history(history, "loss", best), key=f"loss_{job_id}")
        if metric in history:
            g2.plotly_chart(plot_history(history, metric, best), key=f"metric_{job_id}")
    elif job.status == "running":
        st.caption("Preparing the data and building the network…")
    if job.status == "succeeded":
        result = job.result
        note = " (stopped early)" if result.get("stopped_early") else ""
        st.success(
            f"Finished: {result.get('epochs_run')} epochs{note}, best at epoch {result.get('best_epoch')}. "
            "Test-split metrics:",
            icon=":material/check_circle:",
        )
        show_metrics(
            {k: v for k, v in result.get("metrics", {}).items() if k != "youden_threshold"}
        )
        if may_open_models() and st.button(
            "Open the model", icon=":material/inventory_2:", key=f"open_{job_id}"
        ):
            st.session_state[MODEL_KEY] = job.model_id
            st.switch_page("pages/models.py")
    elif job.status in ("failed", "interrupted"):
        st.error(f"Training {job.status}: {job.error}", icon=":material/error:")
    elif job.status == "cancelled":
        st.warning(f"Cancelled: {job.error}", icon=":material/cancel:")
    if was_active and not job.is_active:
        st.rerun()  # the run ended: refresh the whole page once and stop polling
