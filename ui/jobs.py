"""The job panel shared by the Train and Learn pages: progress, live curves, cancel, result."""

from __future__ import annotations

import streamlit as st

from dlcore.models.common import MAIN_METRIC
from dlcore.plots.training import plot_history
from dlcore.training.jobs import (
    JobInfo,
    cancel_job,
    get_job,
    job_history,
    list_jobs,
    reap_jobs,
    search_leaderboard,
)
from dlcore.training.search import NOT_RUN
from ui.auth import allowed, current_account
from ui.common import MODEL_KEY, fmt_duration, show_metrics

POLL_SECONDS = 1.5  # a faster poll starves the training worker on a 2-core laptop (DESIGN.md)
STATE_WORDS = {
    "queued": "queued",
    "running": "running",
    "succeeded": "finished",
    "failed": "failed",
    "cancelled": "cancelled",
    "interrupted": "interrupted",
}


def jobs_ahead(job: JobInfo, active: list[JobInfo] | None = None) -> int:
    """How many active jobs were submitted before this queued one (0 for any other job)."""
    if job.status != "queued":
        return 0
    active = list_jobs(limit=100, active_only=True) if active is None else active
    return sum(1 for j in active if j.id != job.id and j.created < job.created)


def job_state_text(job: JobInfo) -> str:
    """The job's state in a few words, as it is now: 'queued', 'running · epoch 3 of 50',
    'stopping', 'finished', 'cancelled at epoch 4'…"""
    progress = job.progress or {}
    epoch, epochs = progress.get("epoch") or 0, progress.get("epochs")
    if job.status == "running" and job.cancel_requested:
        return "stopping"
    if job.status == "running":
        return f"running · epoch {epoch} of {epochs}" if epoch and epochs else "running"
    if job.status in ("cancelled", "failed", "interrupted") and epoch:
        return f"{STATE_WORDS[job.status]} at epoch {epoch}"
    return STATE_WORDS.get(job.status, job.status)


def progress_text(job: JobInfo) -> str:
    """The progress column of the jobs table: a share while it runs, 100% only when it finished,
    where it stopped otherwise (a cancelled run is not 100% done)."""
    fraction = float((job.progress or {}).get("fraction") or 0.0)
    if job.status == "succeeded":
        return "100%"
    if job.is_active:
        return f"{min(fraction, 0.99):.0%}"
    epoch = (job.progress or {}).get("epoch") or 0
    return f"stopped at epoch {epoch}" if epoch else "not started"


def submitted_text(job: JobInfo) -> str:
    """What to tell the person who just started a job (it is queued until its worker starts)."""
    ahead = jobs_ahead(job)
    if job.status == "running":
        return "Training started in the background."
    if ahead:
        return f"Training queued behind {ahead} other job(s); it starts when a slot is free."
    return "Training queued; it starts in a few seconds, once its worker is ready."


def time_left_text(job: JobInfo) -> str:
    """'about 2 min 10 s left' once the run can estimate it, else 'estimating the time left'."""
    eta = (job.progress or {}).get("eta_s")
    if eta is None:
        return "estimating the time left"
    return f"at most about {fmt_duration(float(eta))} left"


def search_board(job: JobInfo) -> None:
    """A search job's trials so far, best first: the live leaderboard."""
    import pandas as pd

    board = search_leaderboard(job.id)
    budget = job.params["search"]
    st.markdown(
        f"**Search:** {sum(t['status'] != NOT_RUN for t in board)} of at most "
        f"{budget['trials']} trials "
        f"(at most {budget['minutes']:g} min); judged on validation loss, lower is better"
        + (
            "; the validation AUC of each trial's best epoch is shown beside it, not chosen on."
            if any(t.get("val_auc") is not None for t in board)
            else "."
        )
    )
    if board:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "trial": t["trial"],
                        "validation loss": None
                        if t["val_loss"] is None
                        else round(t["val_loss"], 4),
                        **(
                            {
                                "validation AUC": None
                                if t.get("val_auc") is None
                                else round(t["val_auc"], 3)
                            }
                            if any(r.get("val_auc") is not None for r in board)
                            else {}
                        ),
                        "epochs": t["epoch"],
                        "state": t["status"],
                        **{
                            k.replace("_", " "): ", ".join(map(str, v))
                            if isinstance(v, list)
                            else v
                            for k, v in t["settings"].items()
                        },
                    }
                    for t in board
                ]
            ),
            hide_index=True,
        )


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
        ahead = jobs_ahead(job)
        st.info(
            f"Queued: waiting for a free training slot ({ahead} job(s) ahead)."
            if ahead
            else "Queued: its worker is starting (loading TensorFlow takes a few seconds).",
            icon=":material/hourglass_top:",
        )
    fraction = min(max(float(progress.get("fraction") or 0.0), 0.0), 1.0)
    epoch, epochs = (
        progress.get("epoch") or 0,
        progress.get("epochs") or job.params.get("spec", {}).get("epochs"),
    )
    st.markdown(f"**Status:** {job_state_text(job)}")
    if job.status == "running":
        text = (
            f"Epoch {epoch} of at most {epochs} · {fmt_duration(job.elapsed_s)} elapsed · "
            f"{time_left_text(job)}"
        )
        st.progress(min(fraction, 0.99), text=text)
    if job.is_active:
        if st.button(
            "Cancel training",
            icon=":material/stop_circle:",
            disabled=job.cancel_requested,
            key=f"cancel_{job_id}",
        ):
            cancel_job(job_id)
            st.rerun(scope="fragment")
        if job.cancel_requested:
            st.caption("Stopping within a second or two…")
    if job.params.get("search"):
        search_board(job)
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
        counts = result.get("test_counts") or {}
        if counts.get("label"):
            st.warning(f"Test split: {counts['label']} ({counts['reason']}).")
        elif counts.get("reason"):
            st.caption(f"Test split: {counts['reason']}; 95% intervals on the Models page card.")
        for sentence in (result.get("baseline_sentence"), result.get("cross_validation")):
            if sentence:
                st.info(sentence)
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
