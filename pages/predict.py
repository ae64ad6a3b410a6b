"""Predict: one patient from a form, or many from a file, with the model's probability and decision."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dlcore.prediction import predict
from ui import cache
from ui.common import RECORD_KEY, guard, model_picker
from ui.forms import patient_form

st.title("Predict")
model_id = model_picker(key="predict_model")


def show_result(loaded, table: pd.DataFrame) -> None:
    layout = loaded.layout
    row = table.iloc[0]
    if layout.task == "binary":
        probability = float(row.iloc[0])
        c1, c2 = st.columns(2)
        c1.metric(f"Probability of {layout.positive_class}", f"{probability:.1%}")
        c2.metric(f"Decision at threshold {loaded.threshold:.2f}", str(row["decision"]))
        st.caption("The probability is the network's output; it has not been recalibrated.")
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
    else:
        st.metric(f"Predicted {layout.target or 'value'}", f"{float(row.iloc[0]):.4g}")


with guard("Loading the model"):
    loaded = cache.loaded_model(model_id)
    layout = loaded.layout
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
        record = patient_form(layout, key=f"form_{model_id}", initial=initial)
        if record is not None:
            with guard("Predicting"):
                result = predict(loaded.model, layout, record, threshold=loaded.threshold)
                st.session_state[RECORD_KEY] = {
                    "model_id": model_id,
                    "record": record.iloc[0].to_dict(),
                    "table": result.table,
                }
        stored = st.session_state.get(RECORD_KEY)
        if stored and stored.get("model_id") == model_id and "table" in stored:
            show_result(loaded, stored["table"])
            if st.button("Explain this prediction", icon=":material/insights:"):
                st.switch_page("pages/explain.py")
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
                result = predict(loaded.model, layout, frame, threshold=loaded.threshold)
                for note in result.notes:
                    st.info(note, icon=":material/info:")
                combined = pd.concat([frame, result.table], axis=1)
                st.success(f"{len(combined):,} predictions.", icon=":material/check_circle:")
                st.dataframe(combined.head(1000), hide_index=True)
                st.download_button(
                    "Download predictions (CSV)",
                    combined.to_csv(index=False).encode(),
                    file_name=f"predictions-{upload.name.rsplit('.', 1)[0]}.csv",
                    mime="text/csv",
                    icon=":material/download:",
                )
