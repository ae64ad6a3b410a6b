"""Home: what the app does, the demo in one click, and the workspace at a glance.

It reads the workspace once per run (dlcore.glance: a light read, no SQLAlchemy or pandas), and the
counters, the demo model's status and the sidebar all show that one snapshot.
"""

from __future__ import annotations

import streamlit as st

from dlcore.glance import Glance, take
from dlcore.governance.roles import may
from ui import startup
from ui.auth import require_page
from ui.common import DATASET_KEY, MODEL_KEY, fmt, fmt_duration, guard, metric_name, plain


def _signature(glance: Glance) -> tuple:
    """What, when it changes, needs the whole page (counters, sidebar) drawn again."""
    return (
        startup.ready(),
        glance.demo_state(),
        len(glance.models),
        len(glance.datasets),
        glance.active_jobs,
    )


def _pending(glance: Glance) -> bool:
    return not startup.ready() or glance.demo_state() == "training"


def _key_metric(name: str, value: float | None) -> str:
    return "—" if value is None else f"{metric_name(name)} {fmt(value)}"


def demo_status(shown: Glance) -> None:
    """Whether the demo model is ready; while it trains in the background, its progress.

    Refreshed every 2 s while something is pending; when the state changes, the whole page is
    drawn again so that the counters and the sidebar say the same."""
    glance = take()
    if _signature(glance) != _signature(shown):
        st.rerun()
    if not startup.ready():
        st.info(
            "Preparing the workspace (the demo data, and the demo model's training) — this "
            "takes a few seconds on the first start.",
            icon=":material/hourglass_top:",
        )
        return
    if startup.boot().failed:
        st.warning(
            "Preparing the workspace failed (the demo data or the demo model's training); the "
            "details are in the app's log. Your own data and models are not affected.",
            icon=":material/warning:",
        )
    state = glance.demo_state()
    if state == "training":
        job = glance.demo_job()
        assert job is not None  # 'training' means there is an active demo job
        if job.status == "queued":
            text = "The demo model is queued to train in the background."
        else:
            left = f", about {fmt_duration(job.eta_s)} left" if job.eta_s else ""
            text = f"The demo model is training in the background ({job.fraction:.0%}{left})."
        st.info(
            f"{text} Predict and Explain will use it as soon as it is ready.",
            icon=":material/hourglass_top:",
        )
    elif state == "ready":
        record = glance.demo_model()
        assert record is not None
        st.success(
            f"The demo model **{plain(record.name)}** is ready (test "
            f"{_key_metric(record.key_metric_name, record.key_metric_value)}).",
            icon=":material/check_circle:",
        )
        p1, p2 = st.columns(2)
        p1.page_link(
            "pages/predict.py", label="Predict for a patient", icon=":material/stethoscope:"
        )
        p2.page_link(
            "pages/explain.py", label="See why the model decides", icon=":material/insights:"
        )
    elif state == "failed":
        job = glance.demo_job()
        error = job.error if job is not None else None
        st.warning(
            f"The demo model could not be trained: {error or 'the job stopped'}",
            icon=":material/warning:",
        )


def table(rows: list[dict[str, object]]) -> None:
    """A small read-only table (Markdown: no pandas, never clipped, readable headers)."""
    headers = list(rows[0])
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "---|" * len(headers),
        *("| " + " | ".join(plain(row[h]) for h in headers) + " |" for row in rows),
    ]
    st.markdown("\n".join(lines))


st.title("Clinician deep-learning dashboard")
account = require_page("home")
st.markdown(
    "Bring patient records, train a neural network while watching it learn, and see its "
    "predictions and the reasons behind them — on this computer, with nothing sent anywhere."
)

with guard("Opening the workspace"):
    glance = startup.workspace()
    c1, c2, c3 = st.columns(3)
    c1.metric("Datasets", len(glance.datasets))
    c2.metric("Models", len(glance.models))
    c3.metric("Training jobs running or queued", glance.active_jobs)

    if may(account, "data"):  # clinicians have no Data page to start from
        st.subheader("Start")
        left, right = st.columns(2)
        with left, st.container(border=True):
            st.markdown("**Use the demo data**")
            st.caption(
                "569 breast masses from the Wisconsin diagnostic study: 30 measurements of cell nuclei "
                "per mass, and the diagnosis (malignant or benign). Also saved: diabetes "
                "progression (a number to predict) and GBSG2 recurrence-free survival of 686 "
                "breast cancer patients (time to event, for a survival model)."
            )
            if st.button("Use demo data", type="primary", icon=":material/play_arrow:"):
                entry = next((d for d in glance.datasets if d.source == "demo:breast_cancer"), None)
                if entry is not None:
                    st.session_state[DATASET_KEY] = entry.id
                record = glance.demo_model()
                if record is not None:
                    st.session_state[MODEL_KEY] = record.id
                st.switch_page("pages/data.py")
        with right, st.container(border=True):
            st.markdown("**Upload your own records**")
            st.caption(
                "CSV, TSV, Excel (.xlsx) or Parquet: one row per patient, one column per variable."
            )
            if st.button("Upload your own", icon=":material/upload_file:"):
                st.session_state[DATASET_KEY] = None
                st.switch_page("pages/data.py")

    else:
        st.page_link("pages/review.py", label="Review cases", icon=":material/rate_review:")

    st.fragment(demo_status, run_every=2 if _pending(glance) else None)(glance)

    st.subheader("Workspace")
    if glance.models:
        table(
            [
                {
                    "Model": m.name,
                    "Version": m.version,
                    "Task": m.task,
                    "Dataset": m.dataset_name,
                    "Created (UTC)": m.created,
                    "Key metric (test)": _key_metric(m.key_metric_name, m.key_metric_value),
                }
                for m in glance.models[:10]
            ]
        )
    else:
        st.caption("No models yet.")
    if glance.datasets:
        table(
            [
                {
                    "Dataset": d.name,
                    "Rows": f"{d.rows:,}",
                    "Columns": d.columns,
                    "Target": d.target or "—",
                    "Task": d.task or "—",
                }
                for d in glance.datasets[:10]
            ]
        )
