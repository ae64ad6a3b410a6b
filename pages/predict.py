"""Predict: one patient from a form or many from a file; for image models, one image or many,
with the model's probabilities and decision."""

from __future__ import annotations

import hashlib
import math

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dlcore.errors import UserError
from dlcore.fsutil import write_csv
from dlcore.plots.explain import plot_class_probabilities
from dlcore.plots.survival import plot_survival_curves
from dlcore.predict import (
    predict_with_model,
    prediction_uncertainty,
    predictions_for_export,
    relative_to_reference,
    survival_curve,
    with_predictions,
)
from dlcore.report.wording import percent_text
from ui import cache
from ui.auth import log, log_once, require_page
from ui.common import (
    RECORD_KEY,
    event_text,
    fmt_time,
    guard,
    model_picker,
    numbers_help,
    operating_point_text,
    plain,
)
from ui.forms import patient_form
from ui.images import (
    IMAGE_KEY,
    class_probabilities,
    displayable,
    shape_text,
    show_skipped,
    table_probabilities,
)

# Above this, a file's per-record spread (30 runs each) is left to the command line.
BATCH_UNCERTAINTY_MAX = 20_000

require_page("predict")
st.title("Predict")
model_id = model_picker(key="predict_model")


def audit(loaded, rows: int) -> dict:
    """The audit fields of a prediction (never the patient's values)."""
    return {
        "object_type": "model",
        "object_id": loaded.id,
        "model_id": loaded.id,
        "model_version": loaded.version,
        "detail": {"rows": int(rows)},
    }


def decision_notes(loaded, calibration: str, threshold: float | None = None) -> None:
    """Whether the probabilities are calibrated, and where the decision threshold comes from."""
    if loaded.layout.task == "survival":
        return
    st.caption(f"Probability: {calibration}.")
    if loaded.layout.task != "binary":
        return
    note = operating_point_text(loaded.card)
    if threshold is not None and abs(threshold - loaded.threshold) > 1e-12:
        note += (
            f" This prediction was made at the earlier threshold {threshold:.3f}: predict again."
        )
    st.caption(note)


def survival_columns(table: pd.DataFrame) -> list[tuple[float, str]]:
    """The (horizon, column) pairs of a survival prediction table, earliest first."""
    prefix = "survival_at_"
    pairs = [(float(c[len(prefix) :]), c) for c in table.columns if c.startswith(prefix)]
    return sorted(pairs)


def show_survival_result(loaded, table: pd.DataFrame) -> None:
    """One patient: relative risk against the average, survival at the horizons, the median,
    and the predicted survival curve beside the average reference patient's."""
    layout = loaded.layout
    reference = cache.reference_log_risk(loaded.id)
    row = relative_to_reference(table, reference).iloc[0]
    event = event_text(layout)
    time = layout.time_column or "time"
    horizons = survival_columns(table)
    tiles = st.columns(2 + len(horizons))
    tiles[0].metric(
        "Relative risk vs average",
        f"{float(row['relative_risk_vs_average']):.2f}×",
        help="This patient's hazard of the event divided by that of the average reference "
        "patient from training (proportional hazards: the same ratio at every time).",
    )
    for tile, (horizon, column) in zip(tiles[1:], horizons, strict=False):
        tile.metric(f"Survival at {fmt_time(horizon)}", f"{float(row[column]):.1%}")
    median = float(row.get("median_survival", float("nan")))
    times, patient = survival_curve(layout, float(row["log_risk"]))
    tiles[-1].metric(
        "Median predicted survival",
        fmt_time(median) if math.isfinite(median) else "not reached",
        help="The time at which this patient's predicted survival falls to 50%"
        + (
            ""
            if math.isfinite(median)
            else f"; it stays above 50% to the end of the training follow-up ({fmt_time(times[-1])})"
        )
        + ".",
    )
    _, average = survival_curve(layout, reference)
    st.plotly_chart(
        plot_survival_curves(
            times,
            {"This patient": patient, "Average reference patient": average},
            marks=[h for h, _ in horizons],
            time_label=time,
            title="Predicted survival (free of " + str(event) + ")",
        ),
        key="survival_curve",
    )
    st.caption(
        f"Survival: the probability of being free of **{plain(event)}** at that time (times in the "
        f"units of '{plain(time)}'), from the network's log-risk ({float(row['log_risk']):+.3f}; "
        f"average {reference:+.3f}) and the baseline hazard fitted on the training patients. "
        "The dotted lines mark the times above."
    )


def show_result(loaded, table: pd.DataFrame, calibration: str) -> None:
    layout = loaded.layout
    row = table.iloc[0]
    if layout.task == "survival":
        with guard("Showing the survival prediction"):  # a model without its baseline or sample
            show_survival_result(loaded, table)
    elif layout.task == "binary":
        probability = float(row.iloc[0])
        threshold = float(row["threshold"])
        c1, c2 = st.columns(2)
        c1.metric(f"Probability of {layout.positive_label}", percent_text(probability))
        c2.metric(f"Decision at threshold {threshold:.3f}", str(row["decision"]))
        decision_notes(loaded, calibration, threshold)
    elif layout.task == "multiclass":
        probabilities = [float(row[f"probability_{c}"]) for c in layout.classes]
        st.metric("Most likely class", str(row["predicted"]))
        figure = go.Figure(
            go.Bar(
                x=layout.classes,
                y=probabilities,
                marker_color="#1f5f99",
                text=[f"{p:.0%}" for p in probabilities],
            )
        )
        figure.update_layout(
            template="plotly_white",
            yaxis_tickformat=".0%",
            yaxis_range=[0, 1],
            height=300,
            title="Class probabilities",
        )
        st.plotly_chart(figure, key="class_probabilities")
        decision_notes(loaded, calibration)
    else:
        st.metric(f"Predicted {layout.target or 'value'}", f"{float(row.iloc[0]):.4g}")


def show_image_result(loaded, image, name: str, row: pd.Series, output) -> None:
    """One image: the picture, the decision and a bar per class."""
    layout = loaded.layout
    picture, numbers = st.columns([1, 2])
    picture.image(displayable(image), caption=name, width=224)
    with numbers:
        if layout.task == "binary":
            c1, c2 = st.columns(2)
            c1.metric(f"Probability of {layout.positive_label}", percent_text(float(output[0])))
            c2.metric(f"Decision at threshold {float(row['threshold']):.3f}", str(row["decision"]))
        else:
            c1, c2 = st.columns(2)
            c1.metric("Most likely class", str(row["predicted"]))
            c2.metric("Its probability", percent_text(float(max(output))))
        st.plotly_chart(
            plot_class_probabilities(layout.classes, class_probabilities(layout, output)),
            key="image_probabilities",
        )


def predict_for_images(loaded, model_id: str) -> None:
    layout = loaded.layout
    st.caption(
        f"Image model for {shape_text(layout.shape)}; classes {', '.join(layout.classes)}"
        + (
            f"; the probability is of **{layout.positive_class}**."
            if layout.task == "binary"
            else "."
        )
        + " Uploads are resized to the model's size."
    )
    uploads = st.file_uploader(
        "An image (PNG, JPEG or DICOM), several images, or a ZIP of images",
        accept_multiple_files=True,
        key=f"images_{model_id}",
    )
    if uploads:
        with guard("Predicting for the images"):
            files = tuple((u.name, u.getvalue()) for u in uploads)
            images = cache.read_image_uploads(files, (layout.height, layout.width), layout.channels)
            show_skipped(images.skipped)
            result = predict_with_model(loaded, images.images, images.file_names)
            digest = hashlib.sha256(b"".join(data for _, data in files)).hexdigest()
            log_once(
                ("images", model_id, digest, loaded.threshold),
                "predict",
                slot="images",
                **audit(loaded, len(result.table)),
            )
            probabilities = table_probabilities(result.table)
            position = 0
            if len(images.images) > 1:
                st.success(f"{len(result.table):,} predictions.", icon=":material/check_circle:")
                st.dataframe(result.table, hide_index=True)
                st.download_button(
                    "Download predictions (CSV)",
                    write_csv(predictions_for_export(result.table, loaded.id, loaded.version)),
                    file_name="image-predictions.csv",
                    mime="text/csv",
                    icon=":material/download:",
                )
                position = st.selectbox(
                    "Look at one of them",
                    range(len(images.images)),
                    format_func=lambda i: images.file_names[i],
                    key=f"image_choice_{model_id}",
                )
            name = images.file_names[position]
            image = images.images[position]
            st.session_state[IMAGE_KEY] = {"model_id": model_id, "image": image, "name": name}
            show_image_result(
                loaded, image, name, result.table.iloc[position], probabilities[position]
            )
            decision_notes(loaded, result.calibration)
            if st.button("Explain this image", icon=":material/insights:"):
                st.switch_page("pages/explain.py")
    numbers_help()


def predict_for_records(loaded, model_id: str) -> None:
    layout = loaded.layout
    if layout.task == "treatment":  # a trial's benefit model: risk with and without treatment
        from ui.treatment import treatment_predict

        treatment_predict(loaded, model_id)
        return
    if layout.task == "survival":
        st.caption(
            f"Survival model with {len(layout.features)} inputs: it predicts the risk of "
            f"**{plain(event_text(layout))}** over the follow-up time "
            f"'{plain(layout.time_column)}'."
        )
    else:
        st.caption(
            f"{layout.task.capitalize()} model with {len(layout.features)} inputs"
            + (
                f"; the probability is of **{layout.positive_class}**."
                if layout.task == "binary"
                else "."
            )
        )
    one, many = st.tabs(["One patient", "Many patients (upload a file)"])
    with one:
        previous = st.session_state.get(RECORD_KEY) or {}
        initial = previous.get("record") if previous.get("model_id") == model_id else None
        form = patient_form(layout, key=f"form_{model_id}", initial=initial)
        if form.submitted:
            with guard("Predicting"):
                result = predict_with_model(loaded, form.record)
                log("predict", **audit(loaded, 1))
                spread = prediction_uncertainty(
                    loaded.model, loaded.layout, form.record, recalibrator=loaded.recalibrator
                )
                st.session_state[RECORD_KEY] = {
                    "model_id": model_id,
                    "record": dict(form.values),
                    "table": result.table,
                    "calibration": result.calibration,
                    "agreement": spread.sentence(0, percent=layout.task == "binary")
                    if spread is not None
                    else "",
                }
        stored = st.session_state.get(RECORD_KEY)
        has_result = bool(stored and stored.get("model_id") == model_id and "table" in stored)
        if form.problems:
            st.warning(
                "No prediction: correct the value(s) marked above. "
                + " ".join(form.problems.values()),
                icon=":material/warning:",
            )
        elif has_result and stored.get("record") != form.values:
            # The result on screen would belong to other inputs: it is not shown.
            st.info(
                "The inputs have changed since the last prediction: press **Predict** for this "
                "patient.",
                icon=":material/refresh:",
            )
        elif has_result:
            show_result(
                loaded,
                stored["table"],
                stored.get("calibration", "not recalibrated (the network's own output)"),
            )
            if stored.get("agreement"):
                st.caption(stored["agreement"])
            if st.button("Explain this prediction", icon=":material/insights:"):
                st.switch_page("pages/explain.py")
        numbers_help()
    with many:
        upload = st.file_uploader(
            "Records to score (CSV, TSV, XLSX or Parquet, with the model's columns)",
            key=f"batch_{model_id}",
        )
        if upload is not None:
            with guard("Predicting for the file"):
                frame, warnings = cache.read_upload(upload.getvalue(), upload.name)
                for warning in warnings:
                    st.warning(warning)
                result = predict_with_model(loaded, frame)
                log_once(
                    (
                        "batch",
                        model_id,
                        hashlib.sha256(upload.getvalue()).hexdigest(),
                        loaded.threshold,
                    ),
                    "predict",
                    slot="batch",
                    **audit(loaded, len(frame)),
                )
                for note in result.notes:
                    st.info(note, icon=":material/info:")
                table = result.table
                if layout.task == "survival":
                    try:
                        table = relative_to_reference(table, cache.reference_log_risk(model_id))
                    except UserError as exc:  # the model has no background sample
                        st.info(
                            f"No risk relative to the average patient: {exc.message}",
                            icon=":material/info:",
                        )
                    st.caption(
                        "relative_risk_vs_average is against the average reference patient from "
                        "training; relative_risk is against a log-risk of 0 (the baseline "
                        "hazard's reference); survival_at_<time> is the probability of being "
                        "free of the event at that time."
                    )
                spread = None
                if layout.task != "survival" and len(frame) <= BATCH_UNCERTAINTY_MAX:
                    spread = prediction_uncertainty(
                        loaded.model, layout, frame, recalibrator=loaded.recalibrator
                    )
                if spread is not None:
                    table = table.join(spread.columns(table.index))
                combined, replaced = with_predictions(
                    frame, predictions_for_export(table, loaded.id, loaded.version)
                )
                for note in replaced:
                    st.info(note, icon=":material/info:")
                st.success(f"{len(combined):,} predictions.", icon=":material/check_circle:")
                st.dataframe(combined.head(1000), hide_index=True)
                if spread is not None:
                    st.caption(spread.summary())
                elif layout.task != "survival" and len(frame) > BATCH_UNCERTAINTY_MAX:
                    st.caption(
                        f"No per-record spread for more than {BATCH_UNCERTAINTY_MAX:,} records "
                        "(30 runs each); the command line gives it for any size: "
                        "`python -m dlcore predict --uncertainty`."
                    )
                decision_notes(loaded, result.calibration)
                st.download_button(
                    "Download predictions (CSV)",
                    write_csv(combined),  # spreadsheet formulas in cells neutralised
                    # named by the model, never by the uploaded file (a file name can name a patient)
                    file_name=f"predictions-{loaded.id}-v{loaded.version}.csv",
                    mime="text/csv",
                    icon=":material/download:",
                )


with guard("Loading the model"):
    loaded = cache.loaded_model(model_id)
    if loaded.kind == "image":
        predict_for_images(loaded, model_id)
    elif getattr(loaded.layout, "molecule_features", []):
        from ui.molecules import predict_molecules

        predict_molecules(loaded)
    else:
        predict_for_records(loaded, model_id)
