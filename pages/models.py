"""Models: the registry, each model's card, curves and test metrics; rename, delete, download,
upload a .keras model, and compare models."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from dlcore.models.tabular import MAIN_METRIC
from dlcore.plots import (
    binary_confusion,
    plot_compare_histories,
    plot_confusion,
    plot_history,
    plot_report,
)
from dlcore.registry import (
    delete_model,
    export_bundle,
    get_card,
    get_evaluation,
    import_keras_model,
    list_models,
    rename_model,
)
from ui.common import MODEL_KEY, fmt, guard, metric_name, shared_selectbox, show_metrics

st.title("Models")
tab_registry, tab_compare, tab_upload = st.tabs(["Registry", "Compare", "Upload a model"])

with tab_upload:
    st.markdown(
        "Load a model someone else trained. Only **Keras 3 `.keras` files** are accepted; they are "
        "checked and loaded in Keras' safe mode. Pickle, joblib, HDF5 (`.h5`) and SavedModel files "
        "are refused because loading them can run code."
    )
    model_file = st.file_uploader("Model file (.keras)", key="upload_model")
    card_file = st.file_uploader(
        "Its card.json (optional, from this app's download)", key="upload_card"
    )
    upload_name = st.text_input("Name", key="upload_name", max_chars=120)
    if st.button("Add to the registry", disabled=model_file is None, icon=":material/upload:"):
        with guard("Adding the model"):
            record = import_keras_model(
                model_file.getvalue(),
                model_file.name,
                name=upload_name.strip() or None,
                card_json=card_file.getvalue() if card_file is not None else None,
            )
            st.session_state[MODEL_KEY] = record.id
            st.success(f"Added '{record.name}' (id {record.id}).", icon=":material/check_circle:")

models = list_models()
with tab_registry:
    if not models:
        st.info(
            "No models yet: train one on the Train page, or upload one.", icon=":material/info:"
        )
    else:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "name": m.name,
                        "version": m.version,
                        "task": m.task,
                        "dataset": m.dataset_name,
                        "created (UTC)": m.created.replace("T", " "),
                        "key metric": f"{metric_name(m.key_metric_name)} {fmt(m.key_metric_value)}"
                        if m.key_metric_name
                        else "—",
                        "id": m.id,
                    }
                    for m in models
                ]
            ),
            hide_index=True,
        )
        labels = {m.id: f"{m.name} (v{m.version}, {m.id})" for m in models}
        model_id = shared_selectbox(
            "Model", labels, MODEL_KEY, key="models_model", format_func=labels.__getitem__
        )
        with guard("Showing the model"):
            card = get_card(model_id)
            task = card.get("task", "binary")
            summary, curves, metrics, card_tab, manage = st.tabs(
                ["Summary", "Training curves", "Test metrics", "Card", "Manage"]
            )
            with summary:
                dataset = card.get("dataset", {})
                st.markdown(
                    f"**{card['name']}** · version {card.get('version')} · {task} · created {card.get('created', '')}  \n"
                    f"Trained on **{dataset.get('name', 'unknown data')}** ({dataset.get('labelled_rows', '?')} labelled records; "
                    f"target **{dataset.get('target', '?')}**"
                    + (
                        f", positive class **{dataset.get('positive_class')}**"
                        if dataset.get("positive_class")
                        else ""
                    )
                    + ")."
                )
                if card.get("source", {}).get("kind") == "upload":
                    st.caption(f"Uploaded from {card['source'].get('filename')}.")
                st.markdown(f"*Intended use:* {card.get('intended_use', '—')}")
                if card.get("metrics"):
                    show_metrics(
                        {k: v for k, v in card["metrics"].items() if k != "youden_threshold"}
                    )
                if card.get("spec"):
                    spec = card["spec"]
                    st.caption(
                        f"Network: hidden layers {spec['hidden_units']}, {spec['activation']}, dropout {spec['dropout']}, "
                        f"{spec['optimizer']} (learning rate {spec['learning_rate']}), batch {spec['batch_size']}, "
                        f"{card.get('epochs_run', '?')} epochs (best {card.get('best_epoch', '?')})."
                    )
                excluded = dataset.get("excluded_columns") or {}
                if excluded:
                    with st.expander(f"{len(excluded)} column(s) left out of the model"):
                        for name, reason in excluded.items():
                            st.markdown(f"- **{name}**: {reason or 'left out'}")
            with curves:
                history = card.get("history") or {}
                if history:
                    metric = card.get("main_metric") or MAIN_METRIC.get(task, "loss")
                    g1, g2 = st.columns(2)
                    g1.plotly_chart(
                        plot_history(history, "loss", card.get("best_epoch")), key="model_loss"
                    )
                    if metric in history:
                        g2.plotly_chart(
                            plot_history(history, metric, card.get("best_epoch")),
                            key="model_metric",
                        )
                else:
                    st.caption("No training history (an uploaded model).")
            with metrics:
                report = get_evaluation(model_id)
                if report is None:
                    st.caption("No test-split evaluation is stored for this model.")
                else:
                    st.caption(f"On the held-out test split: {report.n} records.")
                    show_metrics(report.headline())
                    figures = plot_report(report)
                    cols = st.columns(2)
                    for i, figure in enumerate(figures):
                        cols[i % 2].plotly_chart(figure, key=f"report_{i}")
                    if task == "binary":
                        matrix, labels2 = binary_confusion(report, "youden")
                        cols[len(figures) % 2].plotly_chart(
                            plot_confusion(
                                matrix,
                                labels2,
                                f"Confusion matrix at the Youden threshold {report.at_youden.threshold:.2f}",
                            ),
                            key="report_youden",
                        )
            with card_tab:
                shown = {k: v for k, v in card.items() if k not in ("history", "schema")}
                st.json(shown, expanded=False)
            with manage:
                new_name = st.text_input(
                    "Rename", card["name"], key=f"rename_{model_id}", max_chars=120
                )
                if st.button("Save name", icon=":material/edit:"):
                    rename_model(model_id, new_name)
                    st.rerun()
                st.download_button(
                    "Download model and card (.zip)",
                    data=export_bundle(model_id),
                    file_name=f"{model_id}.zip",
                    mime="application/zip",
                    icon=":material/download:",
                )
                st.caption(
                    "The ZIP holds model.keras and card.json; both can be uploaded again under 'Upload a model'."
                )
                confirm = st.checkbox(
                    f"Yes, delete '{card['name']}' permanently", key=f"confirm_{model_id}"
                )
                if st.button("Delete model", disabled=not confirm, icon=":material/delete:"):
                    delete_model(model_id)
                    st.session_state.pop(MODEL_KEY, None)
                    st.rerun()

with tab_compare:
    if len(models) < 2:
        st.caption("Compare needs at least two models.")
    else:
        labels = {m.id: f"{m.name} (v{m.version})" for m in models}
        chosen = st.multiselect(
            "Models to compare",
            list(labels),
            default=list(labels)[:2],
            format_func=labels.__getitem__,
            max_selections=5,
        )
        if chosen:
            with guard("Comparing the models"):
                cards = {labels[i]: get_card(i) for i in chosen}
                tasks = {c.get("task") for c in cards.values()}
                rows = [{"model": name, **(c.get("metrics") or {})} for name, c in cards.items()]
                st.dataframe(pd.DataFrame(rows), hide_index=True)
                histories = {name: c.get("history") or {} for name, c in cards.items()}
                g1, g2 = st.columns(2)
                g1.plotly_chart(plot_compare_histories(histories, "loss"), key="compare_loss")
                if len(tasks) == 1:
                    metric = MAIN_METRIC.get(tasks.pop() or "binary", "loss")
                    g2.plotly_chart(plot_compare_histories(histories, metric), key="compare_metric")
                with st.expander("Settings side by side"):
                    st.code(
                        json.dumps({name: c.get("spec") for name, c in cards.items()}, indent=1),
                        language="json",
                    )
