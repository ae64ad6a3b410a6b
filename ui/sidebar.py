"""The shared sidebar: the current dataset and model, and any running jobs."""

from __future__ import annotations

import streamlit as st

from dlcore.errors import NotFoundError
from dlcore.governance.accounts import Account
from ui.common import DATASET_KEY, MODEL_KEY, fmt_duration, plain


def render(account: Account | None = None) -> None:
    """Draw the sidebar: who is signed in (or the demo-mode banner), the current dataset and
    model, and running jobs (cheap: a few store reads)."""
    from dlcore.data.catalog import list_datasets
    from dlcore.registry import get_card
    from dlcore.training.jobs import list_jobs
    from ui.auth import sign_out

    with st.sidebar:
        if account is not None and account.via == "demo":
            st.html(
                "<div class='dl-banner'><b>Demo mode — no login.</b> Everyone is an administrator; set DLCORE_AUTH=local to require accounts.</div>"
            )
        elif account is not None:
            st.markdown(f":material/person: **{plain(account.label)}** · {account.role}")
            st.button("Sign out", on_click=sign_out, icon=":material/logout:", key="sign_out")
        st.caption("Working on")
        dataset_id = st.session_state.get(DATASET_KEY)
        names = {d.id: d.name for d in list_datasets()}
        st.markdown(f":material/table_chart: **Dataset:** {names.get(dataset_id, '— none chosen')}")
        model_id = st.session_state.get(MODEL_KEY)
        model_name = "— none chosen"
        if model_id:
            try:
                model_name = get_card(model_id).get("name", model_id)
            except NotFoundError:
                st.session_state.pop(MODEL_KEY, None)
        st.markdown(f":material/neurology: **Model:** {model_name}")
        active = list_jobs(limit=10, active_only=True)
        if active:
            st.caption("Training jobs")
            for job in active:
                fraction = float(job.progress.get("fraction") or 0.0)
                eta = job.progress.get("eta_s")
                label = (
                    "queued"
                    if job.status == "queued"
                    else f"{fraction:.0%} · {fmt_duration(eta)} left"
                )
                st.progress(min(max(fraction, 0.0), 1.0), text=f"{job.title[:40]} — {label}")
        st.caption("Everything stays on this computer; nothing is sent anywhere.")
