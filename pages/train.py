"""Train: the network's knobs, an architecture preview, and training as a background job with
live curves."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dlcore.data.catalog import list_datasets
from dlcore.errors import InvalidSpecError
from dlcore.jobs import cancel_job, get_job, job_history, list_jobs, reap_jobs, submit_training
from dlcore.models.spec import ACTIVATIONS, LOSSES, ModelSpec, check_spec, default_spec
from dlcore.models.tabular import MAIN_METRIC, architecture_preview
from dlcore.plots import plot_history
from ui import cache
from ui.common import (
    DATASET_KEY,
    JOB_KEY,
    MODEL_KEY,
    fmt_duration,
    guard,
    require,
    shared_selectbox,
    show_metrics,
)

OPTIMIZERS = {
    "adam": "Adam",
    "sgd": "SGD",
    "sgd_momentum": "SGD with momentum",
    "rmsprop": "RMSprop",
    "adamw": "AdamW",
}
LEARNING_RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
BATCH_SIZES = [8, 16, 32, 64, 128, 256, 512]
POLL_SECONDS = 1.5

st.title("Train")
datasets = [d for d in list_datasets() if d.target]
require(
    datasets,
    "No saved dataset has a target yet. On the Data page, choose the outcome column and save the dataset.",
)
labels = {d.id: f"{d.name} · {d.task} · target {d.target}" for d in datasets}
dataset_id = shared_selectbox(
    "Dataset", labels, DATASET_KEY, key="train_dataset", format_func=labels.__getitem__
)
dataset = cache.dataset(dataset_id)
schema = dataset.schema
task = schema.task or "binary"
defaults = default_spec(task, len(dataset.frame))
k = f"{dataset_id}_"

with st.expander("The network and its training", expanded=True):
    c1, c2, c3 = st.columns(3)
    with c1:
        st.markdown("**Layers**")
        hidden_text = st.text_input(
            "Hidden layers (units in each, separated by commas)",
            ", ".join(map(str, defaults.hidden_units)),
            key=k + "hidden",
            help="Each number is one fully connected layer of neurons: y = f(Wx + b).",
        )
        activation = st.selectbox(
            "Activation f",
            ACTIVATIONS,
            index=ACTIVATIONS.index(defaults.activation),
            key=k + "activation",
        )
        dropout = st.slider(
            "Dropout",
            0.0,
            0.8,
            defaults.dropout,
            0.05,
            key=k + "dropout",
            help="Share of neurons silenced at random in each training step; fights overfitting.",
        )
        batch_norm = st.toggle("Batch normalisation", defaults.batch_norm, key=k + "batch_norm")
    with c2:
        st.markdown("**Learning**")
        optimizer_key = st.selectbox(
            "Optimizer", list(OPTIMIZERS), format_func=OPTIMIZERS.__getitem__, key=k + "optimizer"
        )
        learning_rate = st.select_slider(
            "Learning rate",
            LEARNING_RATES,
            value=1e-3,
            key=k + "lr",
            help="Step size of gradient descent; SGD usually wants 0.01–0.1.",
        )
        losses = list(LOSSES[task])
        loss = st.selectbox(
            "Loss",
            losses,
            key=k + "loss",
            help="What training minimises; the usual one for the task comes first.",
        )
        batch_size = st.select_slider(
            "Batch size", BATCH_SIZES, value=defaults.batch_size, key=k + "batch"
        )
    with c3:
        st.markdown("**Schedule**")
        epochs = st.number_input("Epochs (at most)", 1, 2000, defaults.epochs, key=k + "epochs")
        patience = st.number_input(
            "Early-stopping patience (epochs, 0 = off)",
            0,
            200,
            defaults.early_stopping_patience,
            key=k + "patience",
        )
        validation_fraction = st.slider(
            "Validation share", 0.05, 0.4, defaults.validation_fraction, 0.05, key=k + "val"
        )
        test_fraction = st.slider(
            "Test share (held out)", 0.05, 0.4, defaults.test_fraction, 0.05, key=k + "test"
        )
        class_weighting = "none"
        if task != "regression":
            class_weighting = st.radio(
                "Class weighting", ["balanced", "none"], horizontal=True, key=k + "weights"
            )
        seed = st.number_input("Seed", 0, 2**31 - 1, defaults.seed, key=k + "seed")
    name = st.text_input("Model name", f"{dataset.name} — network", key=k + "name", max_chars=120)

spec = None
with guard("Reading the settings"):
    try:
        units = [int(u) for u in hidden_text.replace(";", ",").split(",") if u.strip()]
    except ValueError:
        raise InvalidSpecError(
            f"Hidden layers '{hidden_text}' are not whole numbers.",
            expected="numbers separated by commas, such as 64, 32",
            fix="type the units of each layer, separated by commas",
        ) from None
    spec = check_spec(
        ModelSpec(
            hidden_units=units,
            activation=activation,
            dropout=float(dropout),
            batch_norm=bool(batch_norm),
            loss=loss,
            optimizer="sgd" if optimizer_key == "sgd_momentum" else optimizer_key,
            momentum=0.9 if optimizer_key == "sgd_momentum" else 0.0,
            learning_rate=float(learning_rate),
            batch_size=int(batch_size),
            epochs=int(epochs),
            early_stopping_patience=int(patience),
            validation_fraction=float(validation_fraction),
            test_fraction=float(test_fraction),
            class_weighting=class_weighting,
            seed=int(seed),
        ),
        task,
    )

if spec is not None:
    with guard("Previewing the architecture"):
        rows = architecture_preview(spec, schema, dataset.frame)
        left, right = st.columns([3, 1])
        left.dataframe(pd.DataFrame(rows), hide_index=True)
        right.metric("Parameters to learn", f"{sum(r['parameters'] for r in rows):,}")
        right.caption(f"{len(schema.features)} input columns → {schema.task} output")
        if right.button("Start training", type="primary", icon=":material/play_arrow:"):
            job_id = submit_training(dataset_id, spec, name=name.strip() or None)
            st.session_state[JOB_KEY] = job_id
            st.toast("Training started in the background.", icon=":material/rocket_launch:")
            st.rerun()

st.divider()
st.subheader("Training jobs")
jobs = list_jobs(limit=20)
if any(j.is_active for j in jobs) and reap_jobs():  # a worker died (killed, out of memory)
    jobs = list_jobs(limit=20)
if not jobs:
    st.caption("No training jobs yet.")
    st.stop()

job_labels = {j.id: f"{j.title} · {j.status} · {j.created:%Y-%m-%d %H:%M}" for j in jobs}
watched = st.session_state.get(JOB_KEY)
if watched not in job_labels:
    st.session_state[JOB_KEY] = next((j.id for j in jobs if j.is_active), jobs[0].id)
watched = shared_selectbox(
    "Show job", job_labels, JOB_KEY, key="train_job", format_func=job_labels.__getitem__
)
watched_active = get_job(watched).is_active


@st.fragment(run_every=POLL_SECONDS if watched_active else None)
def monitor(job_id: str) -> None:
    """The watched job: progress, live curves, cancel, and the result when it ends."""
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
        if st.button("Open the model", icon=":material/inventory_2:", key=f"open_{job_id}"):
            st.session_state[MODEL_KEY] = job.model_id
            st.switch_page("pages/models.py")
    elif job.status in ("failed", "interrupted"):
        st.error(f"Training {job.status}: {job.error}", icon=":material/error:")
    elif job.status == "cancelled":
        st.warning(f"Cancelled: {job.error}", icon=":material/cancel:")
    if watched_active and not job.is_active:
        st.rerun()  # the run ended: refresh the whole page once and stop polling


with guard("Showing the job"):
    monitor(watched)

st.dataframe(
    pd.DataFrame(
        [
            {
                "job": j.title,
                "status": j.status,
                "progress": f"{float(j.progress.get('fraction') or 0):.0%}",
                "created (UTC)": f"{j.created:%Y-%m-%d %H:%M:%S}",
                "duration": fmt_duration(j.elapsed_s) if j.started else "—",
                "model": j.model_id or "",
                "reason": j.error or "",
            }
            for j in jobs
        ]
    ),
    hide_index=True,
)
