"""Home: what the app does, the demo in one click, and the workspace at a glance."""

from __future__ import annotations

import streamlit as st

from dlcore.data.catalog import find_dataset_by_source, list_datasets
from dlcore.governance.accounts import may
from dlcore.registry import list_models
from dlcore.training.demo_models import demo_model
from dlcore.training.jobs import job_summary, list_jobs
from ui.auth import require_page
from ui.common import DATASET_KEY, MODEL_KEY, fmt_duration, guard


def _demo_job_active() -> bool:
    return any(j.title.startswith("Demo model") for j in list_jobs(limit=10, active_only=True))


@st.fragment(run_every=2 if _demo_job_active() else None)
def demo_status() -> None:
    """Whether the demo model is ready; while it trains in the background, its progress."""
    record = demo_model("breast_cancer")
    if record is not None:
        st.success(
            f"The demo model **{record.name}** is ready (test ROC AUC {record.key_metric_value:.3f}).",
            icon=":material/check_circle:",
        )
        p1, p2 = st.columns(2)
        p1.page_link(
            "pages/predict.py", label="Predict for a patient", icon=":material/stethoscope:"
        )
        p2.page_link(
            "pages/explain.py", label="See why the model decides", icon=":material/insights:"
        )
        return
    demo_jobs = [j for j in list_jobs(limit=10) if j.title.startswith("Demo model")]
    if demo_jobs and demo_jobs[0].is_active:
        job = demo_jobs[0]
        fraction = float(job.progress.get("fraction") or 0.0)
        eta = job.progress.get("eta_s")
        left = f", about {fmt_duration(eta)} left" if eta else ""
        st.info(
            f"The demo model is training in the background ({fraction:.0%}{left}). Predict and "
            "Explain will use it as soon as it is ready.",
            icon=":material/hourglass_top:",
        )
    elif demo_jobs and demo_jobs[0].status != "succeeded":
        st.warning(
            f"The demo model could not be trained: {demo_jobs[0].error}", icon=":material/warning:"
        )


st.title("Clinician deep-learning dashboard")
account = require_page("home")
st.markdown(
    "Bring patient records, train a neural network while watching it learn, and see its "
    "predictions and the reasons behind them — on this computer, with nothing sent anywhere."
)

with guard("Opening the workspace"):
    datasets, models, summary = list_datasets(), list_models(), job_summary()
    c1, c2, c3 = st.columns(3)
    c1.metric("Datasets", len(datasets))
    c2.metric("Models", len(models))
    c3.metric("Training jobs running or queued", summary.active)

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
                entry = find_dataset_by_source("demo:breast_cancer")
                if entry is not None:
                    st.session_state[DATASET_KEY] = entry.id
                record = demo_model("breast_cancer")
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

    demo_status()

    st.subheader("Workspace")
    if models:
        st.dataframe(
            [
                {
                    "model": m.name,
                    "version": m.version,
                    "task": m.task,
                    "dataset": m.dataset_name,
                    "created (UTC)": m.created.replace("T", " "),
                    m.key_metric_name or "metric": m.key_metric_value,
                }
                for m in models[:10]
            ],
            hide_index=True,
        )
    else:
        st.caption("No models yet.")
    if datasets:
        st.dataframe(
            [
                {
                    "dataset": d.name,
                    "rows": d.rows,
                    "columns": d.columns,
                    "target": d.target,
                    "task": d.task,
                }
                for d in datasets[:10]
            ],
            hide_index=True,
        )
