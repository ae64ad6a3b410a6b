"""Explain: why the model predicts what it does for one record (SHAP waterfall and summary), and
which features matter across many records (importance, beeswarm, dependence); for image models,
where in the image the evidence lies (Grad-CAM or gradient saliency, and SHAP)."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from dlcore.data.catalog import list_datasets
from dlcore.errors import NotFoundError
from dlcore.explain.summary import on_shown_probability, probability_name, summarize
from dlcore.plots.explain import (
    plot_beeswarm,
    plot_class_probabilities,
    plot_dependence,
    plot_importance,
    plot_overlay,
    plot_waterfall,
)
from dlcore.predict import predict_with_model
from dlcore.report.wording import (
    number_text,
    percent_text,
    points_text,
)
from ui import cache
from ui.auth import log_once, require_page
from ui.common import DATASET_KEY, RECORD_KEY, guard, model_picker, numbers_help, require
from ui.forms import patient_form
from ui.images import (
    IMAGE_KEY,
    class_probabilities,
    displayable,
    shape_text,
    table_probabilities,
)

METHOD_TITLES = {"grad-cam": "Grad-CAM", "saliency": "Gradient saliency", "shap": "SHAP"}
METHOD_NOTES = {
    "grad-cam": "Grad-CAM: where the last convolution layer found the features that raise the "
    "score of the class; coarse (its map is smaller than the image), but class-specific.",
    "saliency": "Gradient × input: the pixels whose small changes would move the class's score "
    "most; fine-grained, often noisy.",
    "shap": "SHAP (expected gradients): each pixel's share of the difference between this "
    "prediction and the average over reference training images; the shares add up to it.",
}
SHOWN_WIDTH = 280
# A sampled SHAP map whose shares miss the probability by more than this is flagged as approximate.
SHAP_ERROR_FLAG = 0.02
MAX_SAMPLE = 500
FROM_PREDICT, FROM_UPLOAD, FROM_DATASET = (
    "The image from Predict",
    "Upload an image",
    "An image from the model's dataset",
)

require_page("explain")
st.title("Explain")
model_id = model_picker(key="explain_model")


def audited(loaded, slot: str, signature: object, rows: int) -> None:
    """One audit row per explanation shown (not per rerun); never the patient's values."""
    log_once(
        (loaded.id, loaded.version, signature),
        "explain",
        slot=slot,
        object_type="model",
        object_id=loaded.id,
        model_id=loaded.id,
        model_version=loaded.version,
        detail={"rows": rows, "kind": loaded.kind},
    )


def choose_image(loaded, model_id: str) -> tuple[object, str] | None:
    """The image to explain, read at the model's size, and its name (None until there is one)."""
    layout = loaded.layout
    stored = st.session_state.get(IMAGE_KEY)
    sources = [FROM_DATASET, FROM_UPLOAD]
    if stored and stored.get("model_id") == model_id:
        sources.insert(0, FROM_PREDICT)
    source = st.radio("Which image", sources, horizontal=True)
    if source == FROM_PREDICT:
        return stored["image"], stored["name"]
    if source == FROM_UPLOAD:
        upload = st.file_uploader("An image (PNG, JPEG or DICOM)", key=f"explain_upload_{model_id}")
        if upload is None:
            return None
        images = cache.read_image_uploads(
            ((upload.name, upload.getvalue()),), (layout.height, layout.width), layout.channels
        )
        if len(images.images) > 1:
            st.caption(
                f"'{upload.name}' holds {len(images.images)} images; the first is explained."
            )
        return images.images[0], images.file_names[0]
    reference = loaded.card.get("dataset", {})
    try:
        dataset = cache.dataset(reference.get("id") or "")
    except NotFoundError:
        st.info(
            "The model's image set is no longer in the workspace: upload an image instead.",
            icon=":material/info:",
        )
        return None
    if dataset.kind != "images" or tuple(dataset.image_shape) != tuple(layout.shape):
        st.info(
            "The model's image set no longer matches the model: upload an image instead.",
            icon=":material/info:",
        )
        return None
    number = int(
        st.number_input(
            f"Image number (0 to {len(dataset.images) - 1})",
            0,
            len(dataset.images) - 1,
            0,
            key=f"image_number_{model_id}",
        )
    )
    name = dataset.file_names[number] if number < len(dataset.file_names) else f"image {number}"
    if dataset.labels is not None:
        name += f" (class {dataset.classes[int(dataset.labels[number])]})"
    return dataset.images[number], name


def explain_image(loaded, model_id: str) -> None:
    """One image: the prediction, and the heatmaps of two methods side by side."""
    layout = loaded.layout
    st.caption(f"Image model for {shape_text(layout.shape)}; classes {', '.join(layout.classes)}.")
    chosen = choose_image(loaded, model_id)
    if chosen is None:
        st.info(
            "Choose an image: upload one, pick one from the model's dataset, or predict one on "
            "the Predict page.",
            icon=":material/info:",
        )
        return
    image, name = chosen
    result = predict_with_model(loaded, image[None], [name])
    output = table_probabilities(result.table)[0]
    row = result.table.iloc[0]
    explained = None
    if layout.task == "binary":
        # The evidence for the decision the page shows (at the model's operating threshold, on
        # calibrated probabilities), not for whichever side of 0.5 the raw output is on.
        explained = int(str(row["decision"]) == str(layout.positive_class))
    elif layout.task == "multiclass":
        predicted = int(output.argmax())
        explained = st.selectbox(
            "Show the evidence for",
            range(len(layout.classes)),
            index=predicted,
            format_func=lambda i: (
                layout.classes[i] + (" (the predicted class)" if i == predicted else "")
            ),
            key=f"explained_class_{model_id}",
        )
    explainer = cache.explainer(model_id)
    checksum = cache.model_version_key(model_id)
    digest = hashlib.sha256(image.tobytes() + str(image.shape).encode()).hexdigest()
    explanations = {
        method: cache.image_explanation(model_id, checksum, digest, method, explained, image)
        for method in explainer.methods
    }
    first = next(iter(explanations.values()))
    audited(loaded, "image", (digest, explained), 1)

    numbers, chart = st.columns([1, 2])
    with numbers:
        if layout.task == "binary":
            st.metric(f"Probability of {layout.positive_label}", percent_text(float(output[0])))
            st.metric(f"Decision at threshold {float(row['threshold']):.3f}", str(row["decision"]))
        else:
            st.metric("Predicted class", str(row["predicted"]))
            st.metric("Its probability", percent_text(float(output.max())))
        st.caption(
            f"The heatmaps show the evidence for **{first.output_name}**"
            + (
                f" in the network's own output. Probabilities: {result.calibration}."
                if loaded.recalibrator.method != "none"
                else "."
            )
        )
    with chart:
        st.plotly_chart(
            plot_class_probabilities(layout.classes, class_probabilities(layout, output)),
            key="image_probabilities",
        )

    opacity = st.slider(
        "Heatmap opacity",
        0.0,
        1.0,
        0.5,
        0.05,
        key="heatmap_opacity",
        help="0 shows the image alone; 1 the heatmap at full strength.",
    )
    columns = st.columns(1 + len(explanations))
    columns[0].image(displayable(image), caption=f"The image: {name}", width=SHOWN_WIDTH)
    for column, (method, explanation) in zip(columns[1:], explanations.items(), strict=True):
        column.plotly_chart(
            plot_overlay(
                image,
                explanation.heatmap,
                opacity,
                title=METHOD_TITLES.get(method, method),
                scale_title=f"evidence for {explanation.output_name}",
            ),
            key=f"overlay_{method}",
        )
        column.caption(METHOD_NOTES.get(method, ""))
        error = explanation.additivity_error
        if error is not None and error > SHAP_ERROR_FLAG:
            column.warning(
                f"Approximate: SHAP samples, and here the pixels' shares plus the average miss "
                f"the network's output by {points_text(error, signed=False)} (more than "
                f"{points_text(SHAP_ERROR_FLAG, signed=False)}). Read this map for where the "
                "evidence lies, not for exact amounts.",
                icon=":material/warning:",
            )
        elif error is not None:
            column.caption(
                f"The pixels' shares plus the average miss the network's output by "
                f"{points_text(error, signed=False)} (SHAP samples, so not exactly 0)."
            )
    numbers_help()


def explain_records(loaded, model_id: str) -> None:
    """A record: its SHAP waterfall; many records: importance, beeswarm, dependence."""
    layout = loaded.layout
    explainer = cache.explainer(model_id)
    datasets = {d.id: d for d in list_datasets() if d.kind == "table"}
    own = loaded.card.get("dataset", {}).get("id")
    stored = st.session_state.get(RECORD_KEY)
    sources = ["A record from a dataset", "Enter a patient's values"]
    if stored and stored.get("model_id") == model_id:
        sources.insert(0, "The patient from Predict")
    source = st.radio("Which record", sources, horizontal=True)

    record = None
    dataset_id = None
    if source == "The patient from Predict":
        record = pd.DataFrame([stored["record"]])
    elif source == "Enter a patient's values":
        form = patient_form(layout, key=f"explain_form_{model_id}", button="Explain")
        if form.submitted:
            st.session_state[RECORD_KEY] = {"model_id": model_id, "record": dict(form.values)}
        entered = st.session_state.get(RECORD_KEY) or {}
        if (
            not form.problems
            and entered.get("model_id") == model_id
            and entered.get("record") == form.values
        ):
            record = form.record  # explained until an input changes
    if datasets:
        # The model's own dataset, else one with the same outcome column (so it has the columns).
        same_target = [
            i for i, d in datasets.items() if layout.target and d.target == layout.target
        ]
        preferred = (
            own if own in datasets else next(iter(same_target), st.session_state.get(DATASET_KEY))
        )
        options = list(datasets)
        dataset_id = st.selectbox(
            "Dataset (for a record, and for the overview below)",
            options,
            index=options.index(preferred) if preferred in options else 0,
            format_func=lambda i: datasets[i].name,
        )
    if source == "A record from a dataset":
        require(dataset_id, "No saved dataset: enter a patient's values instead.")
        frame = cache.dataset(dataset_id).frame
        row = st.number_input(
            f"Record number (0 to {len(frame) - 1})",
            0,
            len(frame) - 1,
            0,
            key=f"row_{model_id}_{dataset_id}",
        )
        record = frame.iloc[[int(row)]]

    if record is not None:
        explanation = on_shown_probability(
            cache.record_explanation(model_id, record), loaded.recalibrator
        )
        audited(
            loaded,
            "record",
            hashlib.sha256(record.to_json(orient="records").encode()).hexdigest(),
            1,
        )
        output = explanation.output_index(0)
        if layout.task == "multiclass":
            output = st.selectbox(
                "Explain the probability of",
                range(len(layout.classes)),
                index=output,
                format_func=lambda i: layout.classes[i],
            )
        st.info(summarize(explanation, 0), icon=":material/lightbulb:")
        contributions = explanation.contributions(0, output)
        flagged = (loaded.card.get("dataset") or {}).get("leakage_included") or {}
        strongest = contributions["contribution"].abs().sort_values(ascending=False).index[:5]
        leading = [f for f in contributions.loc[strongest, "feature"] if f in flagged]
        if leading:
            st.warning(
                "Among the leading drivers, "
                + ", ".join(f"'{f}'" for f in leading)
                + " was flagged as possible leakage and used at the trainer's request ("
                + flagged[leading[0]].removeprefix("possible leakage: ")
                + "): a driver known only after the outcome flatters the model.",
                icon=":material/report:",
            )
        survival = layout.task == "survival"
        base = float(explanation.base_values[output])
        value = float(explanation.outputs[0, output])
        st.plotly_chart(
            plot_waterfall(
                contributions,
                base,
                value,
                output_label=explanation.output_names[output],
                percent=layout.task in ("binary", "multiclass"),
                title=(
                    f"Why this risk: log-risk from the average {base:+.3g} to {value:+.3g}"
                    if survival
                    else None
                ),
            ),
            key="waterfall",
        )
        with st.expander("All contributions"):
            percent = layout.task in ("binary", "multiclass")
            st.dataframe(
                pd.DataFrame(
                    {
                        "feature": contributions["feature"],
                        "value": [number_text(v) for v in contributions["value"]],
                        (
                            "contribution (percentage points)" if percent else "contribution"
                        ): contributions["contribution"] * (100.0 if percent else 1.0),
                    }
                ).round(2),
                hide_index=True,
            )
        if survival:
            st.caption(
                f"SHAP values ({explanation.method} explainer) in log-risk units: each bar is how much "
                "that value moves this patient's log-risk away from the average over reference "
                "patients from training; they add up to the log-risk. A bar of +0.1 multiplies the "
                "hazard by e^0.1 ≈ 1.11; bars to the right mean a shorter expected survival."
            )
        else:
            st.caption(
                f"SHAP values ({explanation.method} explainer) in percentage points of "
                f"{probability_name(explanation)}: each bar is how much that value moves this "
                "prediction away from the average over reference patients from training; they "
                "add up to the prediction."
                if layout.task in ("binary", "multiclass")
                else f"SHAP values ({explanation.method} explainer): each bar is how much that "
                "value moves this prediction away from the average over reference patients from "
                "training; they add up to the prediction."
            )
        if layout.task in ("binary", "multiclass") and loaded.recalibrator.method != "none":
            st.caption(
                "The probability is "
                f"{loaded.recalibrator.describe()}, as Predict shows it; the network's shares "
                "were rescaled onto it, so they add up to the probability shown."
            )
    numbers_help()

    st.divider()
    st.subheader("Across many records")
    if dataset_id is None:
        st.caption("Save a dataset with the model's columns to see the overview.")
    else:
        fast = explainer.method == "deep"
        available = len(cache.dataset(dataset_id).frame)
        most = max(1, min(MAX_SAMPLE, available))
        least = min(20, most)
        if most > least:
            n = st.slider(
                "Records to explain",
                least,
                most,
                min(200 if fast else 40, most),
                min(10, most - least),
                key=f"n_{model_id}_{dataset_id}",
                help=f"The dataset has {available:,} records.",
            )
        else:
            n = most
            st.caption(f"All {most} records of the dataset are explained.")
        run = fast or st.button(
            "Explain the sample",
            help="This model needs the exact but slower permutation explainer.",
        )
        if run:
            checksum = cache.model_version_key(model_id)
            sample = on_shown_probability(
                cache.sample_explanation(model_id, checksum, dataset_id, int(n)),
                loaded.recalibrator,
            )
            percent = layout.task in ("binary", "multiclass")
            audited(loaded, "sample", (dataset_id, int(n)), int(n))
            k = 0
            if layout.task == "multiclass":
                k = st.selectbox(
                    "Class",
                    range(len(layout.classes)),
                    format_func=lambda i: layout.classes[i],
                    key="global_class",
                )
            g1, g2 = st.columns(2)
            g1.plotly_chart(plot_importance(sample.importance(), percent=percent), key="importance")
            g2.plotly_chart(plot_beeswarm(sample, output=k, percent=percent), key="beeswarm")
            feature = st.selectbox(
                "Dependence of", sample.importance()["feature"].tolist(), key=f"dep_{model_id}"
            )
            st.plotly_chart(
                plot_dependence(sample, feature, output=k, percent=percent), key="dependence"
            )


with guard("Preparing the explanation"):
    loaded = cache.loaded_model(model_id)
    if loaded.kind == "image":
        explain_image(loaded, model_id)
    elif loaded.task == "treatment":  # SHAP on the predicted benefit (difference of the heads)
        from ui.treatment import treatment_explain

        treatment_explain(loaded, model_id)
    elif getattr(loaded.layout, "molecule_features", []):
        from ui.molecules import explain_molecule

        explain_molecule(loaded, model_id)
    else:
        explain_records(loaded, model_id)
