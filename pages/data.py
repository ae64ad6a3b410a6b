"""Data: upload or choose records, check what is in them, set the target and features, save."""

from __future__ import annotations

import contextlib
import copy
import hashlib

import pandas as pd
import streamlit as st

from dlcore.data import (
    Dataset,
    frame_fingerprint,
    infer_schema,
    set_target,
    suggest_target,
    update_columns,
)
from dlcore.data.catalog import delete_dataset, list_datasets, save_dataset, update_dataset_schema
from dlcore.data.schema import KINDS
from dlcore.errors import UserError
from dlcore.plots import plot_category_counts, plot_class_balance, plot_histogram, plot_missingness
from ui import cache
from ui.common import DATASET_KEY, guard

DRAFT = "data_draft"
CHOICE = "data_saved_choice"
LAST_UPLOAD = "data_last_upload"
TASK_OPTIONS = ["auto", "binary", "multiclass", "regression"]


def draft_from_dataset(dataset: Dataset) -> dict:
    return {
        "name": dataset.name,
        "frame": dataset.frame,
        "schema": copy.deepcopy(dataset.schema),
        "source": dataset.source,
        "dataset_id": dataset.id,
        "warnings": [],
        "token": dataset.id,
    }


def load_saved() -> None:
    choice = st.session_state.get(CHOICE)
    st.session_state[DATASET_KEY] = choice
    if choice:
        st.session_state[DRAFT] = draft_from_dataset(cache.dataset(choice))
    else:
        st.session_state.pop(DRAFT, None)


st.title("Data")
saved = list_datasets()
labels = {d.id: f"{d.name} · {d.rows} rows" for d in saved}
current = st.session_state.get(DATASET_KEY)
if current not in labels:
    current = None
draft = st.session_state.get(DRAFT)
if current and (draft is None or draft.get("dataset_id") != current):
    draft = st.session_state[DRAFT] = draft_from_dataset(cache.dataset(current))
if st.session_state.get(CHOICE) != current:
    st.session_state[CHOICE] = current

left, right = st.columns(2)
with left:
    st.selectbox(
        "A saved dataset",
        [None, *labels],
        format_func=lambda i: "— choose —" if i is None else labels[i],
        key=CHOICE,
        on_change=load_saved,
    )
with right:
    upload = st.file_uploader(
        "…or upload patient records",
        help="CSV, TSV, Excel (.xlsx) or Parquet, one row per patient and a header row with column names.",
        key="data_upload",
    )

if upload is not None:
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    if st.session_state.get(LAST_UPLOAD) != digest:
        with guard("Reading the file"):
            frame, warnings = cache.read_upload(data, upload.name)
            schema = infer_schema(frame)
            with contextlib.suppress(UserError):  # no usable target guessed: the person chooses one
                set_target(schema, frame, suggest_target(frame))
            name = upload.name.rsplit(".", 1)[0]
            draft = st.session_state[DRAFT] = {
                "name": name,
                "frame": frame,
                "schema": schema,
                "source": upload.name,
                "dataset_id": None,
                "warnings": warnings,
                "token": digest[:12],
            }
            st.session_state[DATASET_KEY] = None
            # Only a file that was read is remembered: a refused one shows its error on every run.
            st.session_state[LAST_UPLOAD] = digest

if draft is None:
    st.info(
        "Choose a saved dataset or upload a table of patient records to begin. The demo data sets "
        "(breast cancer diagnosis, diabetes progression) are already saved.",
        icon=":material/info:",
    )
    st.stop()

frame: pd.DataFrame = draft["frame"]
schema = draft["schema"]
token = draft["token"]
for warning in draft["warnings"]:
    st.warning(warning, icon=":material/warning:")

st.subheader(draft["name"])
st.caption(
    f"Source: {draft['source'] or 'uploaded file'} · {len(frame):,} records · {frame.shape[1]} columns"
)

tab_schema, tab_report, tab_preview = st.tabs(
    ["Target and columns", "Data-quality report", "Preview"]
)

with tab_schema:
    columns = [str(c) for c in frame.columns]
    c1, c2, c3 = st.columns(3)
    target = c1.selectbox(
        "Target: the outcome to predict",
        [None, *columns],
        index=([None, *columns].index(schema.target) if schema.target in columns else 0),
        format_func=lambda c: "— none —" if c is None else c,
        key=f"target_{token}",
    )
    task_choice = c2.selectbox(
        "Task",
        TASK_OPTIONS,
        index=TASK_OPTIONS.index(schema.task) if schema.task in TASK_OPTIONS else 0,
        key=f"task_{token}",
        help="'auto' detects it: two values → binary, a few classes → multiclass, numbers → regression.",
    )
    if target is not None:
        wanted_task = None if task_choice == "auto" else task_choice
        if target != schema.target or (wanted_task and wanted_task != schema.task):
            with guard("Setting the target"):
                set_target(schema, frame, target, wanted_task)
        if schema.task == "binary" and schema.classes:
            positive = c3.selectbox(
                "Positive class (what the probability is of)",
                schema.classes,
                index=schema.classes.index(schema.positive_class)
                if schema.positive_class in schema.classes
                else 0,
                key=f"positive_{token}",
            )
            schema.positive_class = positive
    elif schema.target is not None:
        for col in schema.columns:
            if col.role == "target":
                col.role, col.reason = "excluded", "not used"
        schema.target, schema.task, schema.classes, schema.positive_class = None, None, [], None

    st.markdown(
        "**Columns.** Untick a column to leave it out. Columns that look like identifiers are left out, with the reason."
    )
    table = pd.DataFrame(
        [
            {
                "column": c.name,
                "kind": c.kind,
                "use": c.role == "feature",
                "why": c.reason,
                "missing": c.missing_share * 100,
                "distinct values": c.n_unique,
            }
            for c in schema.columns
            if c.role != "target"
        ]
    )
    if len(table):
        edited = st.data_editor(
            table,
            column_config={
                "kind": st.column_config.SelectboxColumn(
                    "kind", options=list(KINDS), required=True
                ),
                "use": st.column_config.CheckboxColumn("use as feature"),
                "missing": st.column_config.NumberColumn("missing %", format="%.1f"),
            },
            disabled=["column", "why", "missing", "distinct values"],
            hide_index=True,
            key=f"columns_{token}",
        )
        kinds = {
            r.column: r.kind for r in edited.itertuples() if r.kind != schema.column(r.column).kind
        }
        included = {
            r.column: bool(r.use)
            for r in edited.itertuples()
            if bool(r.use) != (schema.column(r.column).role == "feature")
        }
        if kinds or included:
            with guard("Changing the columns"):
                update_columns(schema, kinds=kinds, included=included, frame=frame)
    st.caption(f"{len(schema.features)} feature(s) will be used.")

with tab_report, guard("Checking the data"):
    report = cache.report(frame_fingerprint(frame), schema.to_dict(), frame)
    m = st.columns(5)
    m[0].metric("Records", f"{report.n_rows:,}")
    m[1].metric("Columns", report.n_columns)
    m[2].metric("Features", len(schema.features))
    m[3].metric("Duplicate records", report.duplicate_rows)
    cells = frame.size or 1
    m[4].metric("Missing cells", f"{frame.isna().to_numpy().sum() / cells:.1%}")
    for finding in report.findings:
        if finding.severity == "warning":
            st.warning(finding.message, icon=":material/warning:")
    infos = [f for f in report.findings if f.severity != "warning"]
    if infos:
        with st.expander(f"{len(infos)} note(s)"):
            for finding in infos:
                st.markdown(f"- {finding.message}")
    if not report.findings:
        st.success("No problems found.", icon=":material/check_circle:")
    g1, g2 = st.columns(2)
    with g1:
        if report.class_counts:
            st.plotly_chart(
                plot_class_balance(report.class_counts, report.positive_class),
                key="class_balance",
            )
        elif report.target and report.target in report.histograms:
            st.plotly_chart(
                plot_histogram(report.histograms[report.target], report.target),
                key="target_hist",
            )
        else:
            st.caption("Choose a target to see the outcome's distribution.")
    with g2:
        st.plotly_chart(plot_missingness(report.missing_share), key="missingness")
    plotted = [*report.histograms, *report.category_counts]
    if plotted:
        column = st.selectbox("Distribution of", plotted, key=f"dist_{token}")
        if column in report.histograms:
            st.plotly_chart(plot_histogram(report.histograms[column], column), key="distribution")
        else:
            st.plotly_chart(
                plot_category_counts(report.category_counts[column], column), key="distribution"
            )
    if report.association:
        with st.expander(
            f"How strongly each column alone relates to the target ({report.association_metric})"
        ):
            st.dataframe(
                pd.DataFrame(
                    sorted(report.association.items(), key=lambda kv: -kv[1]),
                    columns=["column", report.association_metric],
                ),
                hide_index=True,
            )

with tab_preview:
    st.dataframe(frame.head(200), hide_index=True)
    if len(frame) > 200:
        st.caption(f"The first 200 of {len(frame):,} records.")

st.divider()
save_left, save_right = st.columns([3, 1])
with save_left:
    name = st.text_input("Dataset name", value=draft["name"], key=f"name_{token}", max_chars=120)
with save_right:
    st.write("")
    if draft["dataset_id"] is None:
        if st.button("Save dataset", type="primary", icon=":material/save:"):
            with guard("Saving the dataset"):
                if not name.strip():
                    raise UserError(
                        "The dataset name is empty.",
                        expected="a short name",
                        fix="type a name above",
                    )
                dataset_id = save_dataset(
                    Dataset(name.strip(), frame, schema, source=draft["source"])
                )
                draft.update({"dataset_id": dataset_id, "name": name.strip(), "token": dataset_id})
                st.session_state[DATASET_KEY] = dataset_id
                st.rerun()
    elif st.button("Save changes", type="primary", icon=":material/save:"):
        with guard("Saving the changes"):
            update_dataset_schema(draft["dataset_id"], schema)
            st.toast("Saved.", icon=":material/check:")

if draft["dataset_id"]:
    st.success("This dataset is saved in the workspace.", icon=":material/check_circle:")
    st.page_link("pages/train.py", label="Train a model on it", icon=":material/model_training:")
    with st.expander("Delete this dataset"):
        confirm = st.checkbox(
            "Yes, delete its records from the workspace", key=f"confirm_delete_{token}"
        )
        if st.button("Delete dataset", disabled=not confirm, icon=":material/delete:"):
            with guard("Deleting the dataset"):
                delete_dataset(draft["dataset_id"])
                st.session_state.pop(DRAFT, None)
                st.session_state[DATASET_KEY] = None
                st.rerun()
