"""Models: the registry, each model's card, curves and test metrics; rename, delete, download,
upload a .keras model, and compare models."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import streamlit as st

from dlcore.errors import NotFoundError
from dlcore.evaluate.baselines import baseline_sentence
from dlcore.models.common import MAIN_METRIC
from dlcore.plots.metrics import binary_confusion, plot_confusion, plot_report
from dlcore.plots.training import plot_compare_histories, plot_history
from dlcore.registry import (
    delete_model,
    export_bundle,
    get_card,
    get_evaluation,
    import_keras_model,
    list_models,
    rename_model,
)
from dlcore.report.card import model_card_markdown
from dlcore.report.wording import percent_text
from ui import cache
from ui.auth import allowed, current_account, log, require_page
from ui.common import MODEL_KEY, fmt, guard, metric_name, shared_selectbox, show_metrics
from ui.images import image_grid, short

CASES_SHOWN = 24
WIDE_TEXT = {
    "Name": st.column_config.TextColumn(width="medium"),
    "Model": st.column_config.TextColumn(width="medium"),
    "Dataset": st.column_config.TextColumn(width="medium"),
}


def compare_table(cards: dict[str, dict]):
    """One row per model, the metrics under their readable names (ROC AUC, PR AUC, …) and
    written to 3 significant digits."""
    rows = []
    for name, card in cards.items():
        row = {"Model": name}
        for key, value in (card.get("metrics") or {}).items():
            row[metric_name(key)] = fmt(value) if isinstance(value, float | int) else value
        rows.append(row)
    return pd.DataFrame(rows)


def audited(action: str, model_id: str, version: object, detail: dict | None = None) -> None:
    """An audit row about a model (ids, version and codes only)."""
    log(
        action,
        object_type="model",
        object_id=model_id,
        model_id=model_id,
        model_version=int(version) if version is not None else None,
        detail=detail,
    )


def matrix_cases(model_id: str, report) -> tuple[object, float | None]:
    """The test cases by confusion cell exactly as the matrix above counts them: the recalibrated
    probabilities at the report's Youden threshold (binary), the most probable class otherwise.
    Returns (ConfusionCases or None without stored predictions, the threshold used)."""
    from dlcore.data.images import confusion_cases

    loaded = cache.loaded_model(model_id)
    predictions = loaded.test_predictions()
    if predictions is None:
        return None, None
    layout = loaded.layout
    output = np.asarray(predictions["output"], dtype=float)
    shown = np.asarray(loaded.recalibrator.apply(output)).reshape(output.shape)
    threshold = (
        float(report.at_youden.threshold)
        if layout.task == "binary" and report is not None and hasattr(report, "at_youden")
        else None
    )
    cases = confusion_cases(
        predictions["labels"],
        shown,
        layout.classes,
        layout.positive_class,
        threshold=threshold if threshold is not None else 0.5,
        index=predictions["index"],
    )
    return cases, threshold


def tile_caption(classes: list[str], predicted: int, probability: float, positive: str | None):
    """'predicted malignant · P(malignant) = 32%': the decision, then the probability of the
    positive class (binary) or of the predicted class."""
    shown_class = positive if positive in classes else classes[predicted]
    p = probability if shown_class == classes[predicted] else 1.0 - probability
    return f"predicted {classes[predicted]} · P({shown_class}) = {percent_text(p)}"


def confusion_browser(model_id: str, card: dict, report) -> None:
    """Pick a confusion-matrix cell (the most common mistake first) and see its test images."""
    st.markdown("**Test images by confusion cell**")
    cases, threshold = matrix_cases(model_id, report)
    if cases is None:
        st.caption("This model has no stored test predictions (an uploaded model).")
        return
    classes = cases.classes
    positive = card.get("dataset", {}).get("positive_class") if len(classes) == 2 else None
    st.caption(
        f"Decisions at the Youden threshold {threshold:.2f} on the probability of "
        f"{positive or classes[-1]}, as in the confusion matrix above."
        if threshold is not None
        else "Each image is counted under its most probable class, as in the matrix above."
    )
    mistake = cases.most_common_mistake()
    default = mistake or (0, 0)
    c1, c2 = st.columns(2)
    actual = c1.selectbox(
        "Actual class",
        range(len(classes)),
        index=default[0],
        format_func=lambda i: classes[i],
        key=f"cell_actual_{model_id}",
    )
    predicted = c2.selectbox(
        "Predicted class",
        range(len(classes)),
        index=default[1],
        format_func=lambda i: classes[i],
        key=f"cell_predicted_{model_id}",
    )
    positions = cases.cell(actual, predicted)
    note = " — the most common mistake" if mistake == (actual, predicted) else ""
    st.caption(
        f"{len(positions)} test image(s) of class {classes[actual]} predicted "
        f"{classes[predicted]}{note}"
        + (" (none: the model made no mistakes on the test split)." if mistake is None else ".")
        + (f" The {CASES_SHOWN} most confident are shown." if len(positions) > CASES_SHOWN else "")
    )
    if not len(positions):
        return
    reference = card.get("dataset", {})
    try:
        dataset = cache.dataset(reference.get("id") or "")
    except NotFoundError:
        st.info(
            "The model's image set is no longer in the workspace, so its images cannot be shown.",
            icon=":material/info:",
        )
        return
    if dataset.kind != "images" or dataset.fingerprint() != reference.get("fingerprint"):
        st.warning(
            "The saved image set has changed since this model was trained; its images cannot be "
            "matched to the test predictions.",
            icon=":material/warning:",
        )
        return
    shown = positions[:CASES_SHOWN]
    index = cases.index[shown]
    image_grid(
        dataset.images[index],
        [tile_caption(classes, predicted, float(p), positive) for p in cases.probability[shown]],
        width=128,
    )
    st.caption(
        "Files, most confident first: "
        + ", ".join(short(dataset.file_names[i], 24) for i in index)
        + "."
    )


require_page("models")
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
                actor=current_account(),
            )
            st.session_state[MODEL_KEY] = record.id
            audited(
                "model_upload",
                record.id,
                record.version,
                {"sha256": hashlib.sha256(model_file.getvalue()).hexdigest()},
            )
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
                        "Name": m.name,
                        "Version": m.version,
                        "Task": m.task,
                        "Dataset": m.dataset_name,
                        "Created (UTC)": m.created.replace("T", " ")[:16],
                        "Key metric": f"{metric_name(m.key_metric_name)} {fmt(m.key_metric_value)}"
                        if m.key_metric_name
                        else "—",
                        "Id": m.id,
                    }
                    for m in models
                ]
            ),
            hide_index=True,
            width="stretch",
            column_config=WIDE_TEXT,
        )
        labels = {m.id: f"{m.name} (v{m.version}, {m.id})" for m in models}
        model_id = shared_selectbox(
            "Model", labels, MODEL_KEY, key="models_model", format_func=labels.__getitem__
        )
        with guard("Showing the model"):
            card = get_card(model_id)
            task = card.get("task", "binary")
            is_image = card.get("kind") == "image"
            summary, curves, metrics, card_tab, manage = st.tabs(
                ["Summary", "Training curves", "Test metrics", "Card", "Manage"]
            )
            with summary:
                dataset = card.get("dataset", {})
                if is_image:
                    trained_on = (
                        f"{dataset.get('labelled_rows', '?')} labelled images of "
                        f"{' × '.join(map(str, dataset.get('image_shape', [])[:2])) or '?'} pixels; "
                        f"classes {', '.join(map(str, dataset.get('classes', [])))}"
                    )
                else:
                    trained_on = (
                        f"{dataset.get('labelled_rows', '?')} labelled records; "
                        f"target **{dataset.get('target', '?')}**"
                    )
                st.markdown(
                    f"**{card['name']}** · version {card.get('version')} · {task} · created {card.get('created', '')}  \n"
                    f"Trained on **{dataset.get('name', 'unknown data')}** ({trained_on}"
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
                if allowed(current_account(), "evaluate") and st.button(
                    "Evaluate this model",
                    icon=":material/fact_check:",
                    key=f"evaluate_{model_id}",
                    help="Confidence intervals, calibration, an operating threshold, decision "
                    "curve, subgroups and the model card, on the Evaluate page.",
                ):
                    st.session_state[MODEL_KEY] = model_id
                    st.switch_page("pages/evaluate.py")
                if card.get("metrics"):
                    show_metrics(
                        {k: v for k, v in card["metrics"].items() if k != "youden_threshold"}
                    )
                if (card.get("test_counts") or {}).get("label"):
                    counts = card["test_counts"]
                    st.warning(f"Test split: {counts['label']} ({counts['reason']}).")
                if baseline_sentence(card):
                    st.info(baseline_sentence(card), icon=":material/balance:")
                if card.get("spec"):
                    spec = card["spec"]
                    blocks = "hidden layers "
                    if is_image and spec.get("architecture") == "cnn":
                        blocks = f"convolution blocks {spec.get('conv_filters')}, dense layers "
                    elif is_image:
                        blocks = "MLP on the pixels, hidden layers "
                    augmentation = (
                        f", augmentation {', '.join(spec['augmentation'])}"
                        if spec.get("augmentation")
                        else ""
                    )
                    st.caption(
                        f"Network: {blocks}{spec['hidden_units']}, {spec['activation']}, dropout {spec['dropout']}{augmentation}, "
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
                    if is_image:
                        st.divider()
                        confusion_browser(model_id, card, report)
            with card_tab:
                # The card as written at training (the Evaluate page adds intervals, subgroups).
                st.markdown(model_card_markdown(card))
                st.download_button(
                    "Download the card as JSON (for software)",
                    lambda card=card: json.dumps(card, indent=1, default=str).encode(),
                    file_name=f"{model_id}-card.json",
                    mime="application/json",
                    icon=":material/download:",
                    key=f"card_json_{model_id}",
                )
            with manage:
                new_name = st.text_input(
                    "Rename", card["name"], key=f"rename_{model_id}", max_chars=120
                )
                if st.button("Save name", icon=":material/edit:"):
                    rename_model(model_id, new_name, actor=current_account())  # audits itself
                    st.rerun()
                st.download_button(
                    "Download model and card (.zip)",
                    data=export_bundle(model_id),
                    file_name=f"{model_id}.zip",
                    mime="application/zip",
                    icon=":material/download:",
                    on_click=audited,
                    args=("export", model_id, card.get("version"), {"format": "zip"}),
                )
                st.caption(
                    "The ZIP holds model.keras and card.json; both can be uploaded again under 'Upload a model'."
                )
                confirm = st.checkbox(
                    f"Yes, delete '{card['name']}' permanently", key=f"confirm_{model_id}"
                )
                if st.button("Delete model", disabled=not confirm, icon=":material/delete:"):
                    delete_model(model_id, actor=current_account())  # audits itself
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
                st.dataframe(
                    compare_table(cards), hide_index=True, width="stretch", column_config=WIDE_TEXT
                )
                for name, card in cards.items():  # the sentence Models and Evaluate show
                    if baseline_sentence(card):
                        st.info(f"**{name}**: {baseline_sentence(card)}", icon=":material/balance:")
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
