"""The shared sidebar: the current dataset and model, and any running jobs."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from dlcore.glance import Glance, take
from dlcore.governance.roles import Account
from ui.common import DATASET_KEY, MODEL_KEY, fmt_duration, plain
from ui.startup import GLANCE_KEY


def job_label(status: str, fraction: float, eta_s: float | None) -> str:
    """A job's state in a few words: 'queued', '40% · 12 s left' or '40% · running'."""
    if status == "queued":
        return "queued"
    if eta_s is None:
        return f"{fraction:.0%} · running"
    return f"{fraction:.0%} · {fmt_duration(eta_s)} left"


def _dataset_name(glance, dataset_id: str | None) -> str:
    if not dataset_id:
        return "— none chosen"
    name = glance.dataset_name(dataset_id)
    if name is None:  # saved during this run, after the snapshot was taken
        from dlcore.data.catalog import list_datasets

        name = next((d.name for d in list_datasets() if d.id == dataset_id), None)
    return name or "— none chosen"


def _model_name(glance, model_id: str | None) -> str:
    if not model_id:
        return "— none chosen"
    name = glance.model_name(model_id)
    if name is None:  # registered during this run, or removed
        from dlcore.errors import NotFoundError
        from dlcore.registry import get_card

        try:
            name = get_card(model_id).get("name", model_id)
        except NotFoundError:
            st.session_state.pop(MODEL_KEY, None)
            return "— none chosen"
    return name


def _render_account(account: Account | None) -> None:
    from ui.auth import sign_out

    if account is not None and account.via == "demo":
        st.html(
            "<div class='dl-banner'><b>Demo mode — no login.</b> Everyone is an administrator; set DLCORE_AUTH=local to require accounts.</div>"
        )
    elif account is not None:
        st.markdown(f":material/person: **{plain(account.label)}** · {account.role}")
        st.button("Sign out", on_click=sign_out, icon=":material/logout:", key="sign_out")


def _render_workspace(glance: Glance) -> None:
    st.caption("Working on")
    dataset = _dataset_name(glance, st.session_state.get(DATASET_KEY))
    st.markdown(f":material/table_chart: **Dataset:** {plain(dataset)}")
    model = _model_name(glance, st.session_state.get(MODEL_KEY))
    st.markdown(f":material/neurology: **Model:** {plain(model)}")
    active = [j for j in glance.jobs if j.is_active][:10]
    if active:
        st.caption("Training jobs")
        for job in active:
            label = job_label(job.status, job.fraction, job.eta_s)
            st.progress(job.fraction, text=f"{job.title[:40]} — {label}")
    st.caption("Everything stays on this computer; nothing is sent anywhere.")


def begin(account: Account | None = None) -> Callable[[], None]:
    """Draw the sidebar before the page runs (so it is there even when the page stops early):
    who is signed in (or the demo-mode banner), the current dataset and model, and running jobs,
    from one light snapshot of the workspace that the page may reuse (startup.workspace).

    Returns ``finish``, to call after the page: it redraws the dataset and model lines when the
    page changed the choice."""
    glance = take()
    st.session_state[GLANCE_KEY] = glance
    chosen = (st.session_state.get(DATASET_KEY), st.session_state.get(MODEL_KEY))
    with st.sidebar:
        _render_account(account)
        slot = st.empty()
    with slot.container():
        _render_workspace(glance)

    def finish() -> None:
        if (st.session_state.get(DATASET_KEY), st.session_state.get(MODEL_KEY)) != chosen:
            with slot.container():
                _render_workspace(take())

    return finish
