"""Explain: why the model predicts what it does for one record (SHAP waterfall and summary), and
which features matter across many records (importance, beeswarm, dependence)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dlcore.data.catalog import list_datasets
from dlcore.explain import summarize
from dlcore.plots import plot_beeswarm, plot_dependence, plot_importance, plot_waterfall
from ui import cache
from ui.common import DATASET_KEY, RECORD_KEY, guard, model_picker, require
from ui.forms import patient_form

st.title("Explain")
model_id = model_picker(key="explain_model")

with guard("Preparing the explanation"):
    loaded = cache.loaded_model(model_id)
    layout = loaded.layout
    explainer = cache.explainer(model_id)
    datasets = {d.id: d for d in list_datasets()}
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
        record = patient_form(layout, key=f"explain_form_{model_id}")
        if record is not None:
            st.session_state[RECORD_KEY] = {
                "model_id": model_id,
                "record": record.iloc[0].to_dict(),
            }
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
        explanation = explainer.explain(record)
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
        percent = layout.task != "regression"
        st.plotly_chart(
            plot_waterfall(
                contributions,
                float(explanation.base_values[output]),
                float(explanation.outputs[0, output]),
                output_label=explanation.output_names[output],
                percent=percent,
            ),
            key="waterfall",
        )
        with st.expander("All contributions"):
            st.dataframe(contributions.astype({"value": str}), hide_index=True)
        st.caption(
            f"SHAP values ({explanation.method} explainer): each bar is how much that value moves this "
            "prediction away from the average over reference patients from training; they add up to the prediction."
        )

    st.divider()
    st.subheader("Across many records")
    if dataset_id is None:
        st.caption("Save a dataset with the model's columns to see the overview.")
    else:
        fast = explainer.method == "deep"
        n = st.slider("Records to explain", 20, 500, 200 if fast else 40, 10, key=f"n_{model_id}")
        run = fast or st.button(
            "Explain the sample",
            help="This model needs the exact but slower permutation explainer.",
        )
        if run:
            checksum = cache.model_version_key(model_id)
            sample = cache.sample_explanation(model_id, checksum, dataset_id, int(n))
            k = 0
            if layout.task == "multiclass":
                k = st.selectbox(
                    "Class",
                    range(len(layout.classes)),
                    format_func=lambda i: layout.classes[i],
                    key="global_class",
                )
            g1, g2 = st.columns(2)
            g1.plotly_chart(plot_importance(sample.importance()), key="importance")
            g2.plotly_chart(plot_beeswarm(sample, output=k), key="beeswarm")
            feature = st.selectbox(
                "Dependence of", sample.importance()["feature"].tolist(), key=f"dep_{model_id}"
            )
            st.plotly_chart(plot_dependence(sample, feature, output=k), key="dependence")
