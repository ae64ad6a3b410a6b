"""Train: the network's knobs (a tabular MLP, or a CNN or MLP for images), an architecture
preview, and training as a background job with live curves."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dlcore.data.catalog import list_datasets
from dlcore.data.schema import molecule_columns
from dlcore.errors import InvalidSpecError
from dlcore.models.spec import (
    ACTIVATIONS,
    AUGMENTATIONS,
    LOSSES,
    ModelSpec,
    check_spec,
    default_image_spec,
    default_spec,
)
from dlcore.models.tabular import architecture_preview
from dlcore.training.cv import default_cv_folds
from dlcore.training.jobs import get_job, list_jobs, reap_jobs, submit_training
from ui import cache
from ui.auth import current_account, log, require_page
from ui.common import (
    DATASET_KEY,
    JOB_KEY,
    fmt_duration,
    guard,
    require,
    shared_selectbox,
)
from ui.images import shape_text
from ui.jobs import POLL_SECONDS, job_panel, job_state_text, progress_text, submitted_text

OPTIMIZERS = {
    "adam": "Adam",
    "sgd": "SGD",
    "sgd_momentum": "SGD with momentum",
    "rmsprop": "RMSprop",
    "adamw": "AdamW",
}
LEARNING_RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
BATCH_SIZES = [8, 16, 32, 64, 128, 256, 512]
WEIGHT_DECAYS = [0.0, 1e-4, 1e-3, 1e-2, 1e-1]
ARCHITECTURES = {
    "cnn": "CNN (convolution blocks)",
    "mlp": "MLP on the pixels (the survey's 512 → 256)",
}
AUGMENTATION_HELP = {
    "flip": "mirror left–right",
    "rotation": "rotate up to ±18°",
    "zoom": "zoom in or out up to 10%",
    "contrast": "vary the contrast up to 20%",
}


def parse_numbers(text: str, setting: str, example: str, fix: str) -> list[int]:
    """'64, 32' → [64, 32]; raises InvalidSpecError naming the setting."""
    try:
        return [int(u) for u in text.replace(";", ",").split(",") if u.strip()]
    except ValueError:
        raise InvalidSpecError(
            f"{setting} '{text}' are not whole numbers.",
            expected=f"numbers separated by commas, such as {example}",
            fix=fix,
        ) from None


def learning_knobs(defaults: ModelSpec, task: str, k: str) -> dict:
    """Optimizer, learning rate, loss and batch size (the middle column)."""
    st.markdown("**Learning**")
    optimizers = list(OPTIMIZERS)
    optimizer_key = st.selectbox(
        "Optimizer",
        optimizers,
        index=optimizers.index(defaults.optimizer) if defaults.optimizer in optimizers else 0,
        format_func=OPTIMIZERS.__getitem__,
        key=k + "optimizer",
    )
    learning_rate = st.select_slider(
        "Learning rate",
        LEARNING_RATES,
        value=defaults.learning_rate if defaults.learning_rate in LEARNING_RATES else 1e-3,
        key=k + "lr",
        help="Step size of gradient descent; SGD usually wants 0.01–0.1.",
    )
    loss = st.selectbox(
        "Loss",
        list(LOSSES[task]),
        key=k + "loss",
        help="What training minimises; the usual one for the task comes first.",
    )
    batch_size = st.select_slider(
        "Batch size", BATCH_SIZES, value=defaults.batch_size, key=k + "batch"
    )
    return {
        "optimizer": "sgd" if optimizer_key == "sgd_momentum" else optimizer_key,
        "momentum": 0.9 if optimizer_key == "sgd_momentum" else 0.0,
        "learning_rate": float(learning_rate),
        "loss": loss,
        "batch_size": int(batch_size),
    }


def schedule_knobs(defaults: ModelSpec, task: str, k: str, split_note: str | None = None) -> dict:
    """Epochs, early stopping, the validation and test shares, class weights, seed."""
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
    if split_note:
        st.caption(split_note)
    class_weighting = "none"
    if task != "regression":
        options = ["balanced", "none"]
        class_weighting = st.radio(
            "Class weighting",
            options,
            index=options.index(defaults.class_weighting),
            horizontal=True,
            key=k + "weights",
        )
    seed = st.number_input("Seed", 0, 2**31 - 1, defaults.seed, key=k + "seed")
    return {
        "epochs": int(epochs),
        "early_stopping_patience": int(patience),
        "validation_fraction": float(validation_fraction),
        "test_fraction": float(test_fraction),
        "class_weighting": class_weighting,
        "seed": int(seed),
    }


def table_settings(dataset, dataset_id: str) -> tuple[dict, str]:
    """The tabular network's knobs; returns (spec fields as typed, the model name)."""
    task = dataset.schema.task or "binary"
    defaults = default_spec(
        task, len(dataset.frame), molecules=bool(molecule_columns(dataset.schema))
    )
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
                "Activation function (how each neuron responds to its input)",
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
            weight_decay = st.select_slider(
                "Weight decay",
                WEIGHT_DECAYS,
                value=defaults.weight_decay if defaults.weight_decay in WEIGHT_DECAYS else 0.0,
                key=k + "weight_decay",
                help="Pulls every weight towards zero (L2): smaller tables need more of it.",
            )
            ensemble = st.number_input(
                "Networks averaged",
                1,
                10,
                defaults.ensemble,
                key=k + "ensemble",
                help="A deep ensemble: this many networks from different seeds, averaged into one "
                "model. Steadier risks on small tables, and Predict can say whether they agree.",
            )
        with c2:
            learning = learning_knobs(defaults, task, k)
        with c3:
            schedule = schedule_knobs(defaults, task, k)
        name = st.text_input(
            "Model name", f"{dataset.name} — network", key=k + "name", max_chars=120
        )
    fields = {
        "hidden_text": hidden_text,
        "activation": activation,
        "dropout": float(dropout),
        "batch_norm": bool(batch_norm),
        "weight_decay": float(weight_decay),
        "ensemble": int(ensemble),
        **learning,
        **schedule,
    }
    return fields, name


def image_settings(dataset, dataset_id: str) -> tuple[dict, str]:
    """The image network's knobs (defaults from default_image_spec); returns (fields, name)."""
    task = dataset.task
    architecture = st.radio(
        "Architecture",
        list(ARCHITECTURES),
        format_func=ARCHITECTURES.__getitem__,
        horizontal=True,
        key=f"{dataset_id}_architecture",
        help="A CNN learns local patterns (edges, textures, shapes) shared across the image; the "
        "MLP sees each pixel as a separate input, as in the survey's MNIST example.",
    )
    defaults = default_image_spec(len(dataset.images), architecture)
    k = f"{dataset_id}_{architecture}_"  # other defaults per architecture
    split_note = (
        "This image set came split into training, validation and test images: training keeps "
        "that split and these shares are not used."
        if dataset.predefined_split
        else None
    )
    with st.expander("The network and its training", expanded=True):
        c1, c2, c3 = st.columns(3)
        with c1:
            st.markdown("**Layers**")
            filters_text = ", ".join(map(str, defaults.conv_filters))
            if architecture == "cnn":
                filters_text = st.text_input(
                    "Convolution filters per block (separated by commas)",
                    filters_text,
                    key=k + "filters",
                    help="Each number is one block: 3×3 convolutions with that many filters, "
                    "then 2×2 max pooling while the map is at least 8×8.",
                )
            hidden_text = st.text_input(
                "Dense layers after them (units in each)"
                if architecture == "cnn"
                else "Hidden layers (units in each, separated by commas)",
                ", ".join(map(str, defaults.hidden_units)),
                key=k + "hidden",
            )
            activation = st.selectbox(
                "Activation function (how each neuron responds to its input)",
                ACTIVATIONS,
                index=ACTIVATIONS.index(defaults.activation),
                key=k + "activation",
            )
            dropout = st.slider("Dropout", 0.0, 0.8, defaults.dropout, 0.05, key=k + "dropout")
            batch_norm = st.toggle("Batch normalisation", defaults.batch_norm, key=k + "batch_norm")
            augmentation = st.multiselect(
                "Augmentation while training",
                list(AUGMENTATIONS),
                default=defaults.augmentation,
                format_func=lambda a: f"{a} ({AUGMENTATION_HELP.get(a, a)})",
                key=k + "augmentation",
                help="Random changes to the training images at each step; the saved model "
                "applies none of them when predicting.",
            )
        with c2:
            learning = learning_knobs(defaults, task, k)
        with c3:
            schedule = schedule_knobs(defaults, task, k, split_note)
        name = st.text_input(
            "Model name",
            f"{dataset.name} — {architecture.upper()}",
            key=k + "name",
            max_chars=120,
        )
    fields = {
        "architecture": architecture,
        "filters_text": filters_text,
        "hidden_text": hidden_text,
        "activation": activation,
        "dropout": float(dropout),
        "batch_norm": bool(batch_norm),
        "augmentation": list(augmentation),
        # not knobs on the page: the tuned defaults (residual blocks, schedule, smoothing, and
        # for small sets an ensemble averaged over each image and its mirror)
        "residual": defaults.residual,
        "ensemble": defaults.ensemble,
        "test_time_flip": defaults.test_time_flip,
        "lr_schedule": defaults.lr_schedule,
        "label_smoothing": defaults.label_smoothing,
        "weight_decay": defaults.weight_decay,
        **learning,
        **schedule,
    }
    return fields, name


def build_spec(fields: dict, task: str) -> ModelSpec:
    """A checked ModelSpec from the knobs; raises InvalidSpecError naming a bad setting."""
    fields = dict(fields)
    fields["hidden_units"] = parse_numbers(
        fields.pop("hidden_text"),
        "Hidden layers",
        "64, 32",
        "type the units of each layer, separated by commas",
    )
    if "filters_text" in fields:
        fields["conv_filters"] = parse_numbers(
            fields.pop("filters_text"),
            "Convolution filters",
            "32, 64, 128",
            "type the filters of each convolution block, separated by commas",
        )
    return check_spec(ModelSpec(**fields), task)


def start_button(
    container, dataset_id: str, spec: ModelSpec, name: str, cv_default: int = 0
) -> None:
    cross_validate = container.checkbox(
        "Cross-validate first (5 folds × 2)",
        value=bool(cv_default),
        key=f"train_cv_{dataset_id}",
        help="Every record is a test record once per repeat: an honest estimate with its "
        "interval for small tables (on by default under 500 records), then the final model.",
    )
    search = container.checkbox(
        "Search the settings first",
        key=f"train_search_{dataset_id}",
        help="Ray Tune tries other layers, units, dropout, learning rates and batch sizes "
        "(for images: convolution blocks and augmentation), stops poor trials early and keeps "
        "the settings with the lowest validation loss; the test split is used once, by the "
        "chosen model. Your settings are always the first trial.",
    )
    budget = None
    if search:
        trials_col, minutes_col = container.columns(2)
        budget = {
            "trials": int(
                trials_col.number_input("Trials", 1, 200, 16, key=f"trials_{dataset_id}")
            ),
            "minutes": float(
                minutes_col.number_input("Minutes", 1, 600, 30, key=f"minutes_{dataset_id}")
            ),
        }
    if container.button("Start training", type="primary", icon=":material/play_arrow:"):
        with guard("Starting the training"):
            job_id = submit_training(
                dataset_id,
                spec,
                name=name.strip() or None,
                actor=current_account(),
                cv_folds=5 if cross_validate and not search else 0,
                search=budget,
            )
            log(
                "train",
                object_type="job",
                object_id=job_id,
                detail={"job_id": job_id, "dataset_id": dataset_id},
            )
            st.session_state[JOB_KEY] = job_id
            st.toast(submitted_text(get_job(job_id)), icon=":material/rocket_launch:")
            st.rerun()


st.title("Train")
require_page("train")
datasets = [d for d in list_datasets() if d.target]
require(
    datasets,
    "No saved dataset has a target yet. On the Data page, choose the outcome column and save the "
    "dataset (or save images in one folder per class).",
)
labels = {
    d.id: f"{d.name} · images · {d.task}"
    if d.kind == "images"
    else f"{d.name} · {d.task} · target {d.target}"
    for d in datasets
}
dataset_id = shared_selectbox(
    "Dataset", labels, DATASET_KEY, key="train_dataset", format_func=labels.__getitem__
)
dataset = cache.dataset(dataset_id)
images = dataset.kind == "images"
task = (dataset.task if images else dataset.schema.task) or "binary"
fields, name = (image_settings if images else table_settings)(dataset, dataset_id)

spec = None
with guard("Reading the settings"):
    spec = build_spec(fields, task)

if spec is not None:
    with guard("Previewing the architecture"):
        if images:
            rows = cache.image_architecture(
                spec.to_json(),
                tuple(dataset.image_shape),
                task,
                tuple(dataset.classes),
                dataset.positive_class,
            )
            described = f"{shape_text(dataset.image_shape)} → {len(dataset.classes)} classes"
        else:
            rows = architecture_preview(spec, dataset.schema, dataset.frame)
            described = f"{len(dataset.schema.features)} input columns → {task} output"
        left, right = st.columns([3, 1])
        left.dataframe(pd.DataFrame(rows), hide_index=True)
        right.metric("Parameters to learn", f"{sum(r['parameters'] for r in rows):,}")
        right.caption(described)
        if spec.ensemble > 1:
            right.caption(
                f"{spec.ensemble} networks like this one are trained from different seeds and "
                "averaged into one model."
            )
        if images and dataset.groups is not None:
            right.caption(f"Split by {dataset.group_name}: each kept in one part.")
        for note in [] if images else dataset.schema.training_notes():
            (st.warning if note.startswith("Used at your request") else right.caption)(note)
        start_button(
            right,
            dataset_id,
            spec,
            name,
            0 if images else default_cv_folds(task, len(dataset.frame)),
        )

st.divider()
st.subheader("Training jobs")
jobs = list_jobs(limit=20)
if any(j.is_active for j in jobs) and reap_jobs():  # a worker died (killed, out of memory)
    jobs = list_jobs(limit=20)
if not jobs:
    st.caption("No training jobs yet.")
    st.stop()
any_active = any(j.is_active for j in jobs)


@st.fragment(run_every=POLL_SECONDS if any_active else None)
def jobs_section() -> None:
    """The job selector, the watched job and the jobs table, redrawn together while any job is
    active: a label never says 'queued' for a job that runs or has ended."""
    current = list_jobs(limit=20)
    active = [j for j in current if j.is_active]
    if any_active and not active:
        st.rerun()  # the last active job ended: redraw the page once and stop polling
    job_labels = {
        j.id: f"{j.title} · {job_state_text(j)} · {j.created:%Y-%m-%d %H:%M}" for j in current
    }
    if st.session_state.get(JOB_KEY) not in job_labels:
        st.session_state[JOB_KEY] = next((j.id for j in active), current[0].id)
    watched = shared_selectbox(
        "Show job", job_labels, JOB_KEY, key="train_job", format_func=job_labels.__getitem__
    )
    # Active as the labels above saw it: if it has ended since, the panel redraws the whole page
    # so that the labels and the panel never disagree.
    snapshot = next((j for j in current if j.id == watched), None)
    with guard("Showing the job"):
        job_panel(watched, snapshot.is_active if snapshot else get_job(watched).is_active)
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "job": j.title,
                    "status": job_state_text(j),
                    "progress": progress_text(j),
                    "created (UTC)": f"{j.created:%Y-%m-%d %H:%M:%S}",
                    "duration": fmt_duration(j.elapsed_s) if j.started else "—",
                    "model": j.model_id or "",
                    "reason": j.error or "",
                }
                for j in current
            ]
        ),
        hide_index=True,
        column_config={"reason": st.column_config.TextColumn(width="large")},
    )


jobs_section()
