"""Data: upload or choose patient records or medical images, check what is in them, set the
target and features of a table, look at DICOM files, and save."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
from pathlib import Path

import pandas as pd
import streamlit as st

from dlcore.data import (
    Dataset,
    infer_schema,
    set_target,
    suggest_target,
)
from dlcore.data.catalog import list_datasets, save_dataset, update_dataset_schema
from dlcore.data.images import ImageDataset
from dlcore.data.schema import KINDS, suggest_time_column
from dlcore.data.schema_edit import SchemaChanges, edit_schema
from dlcore.errors import UserError
from dlcore.fsutil import file_source, neutral_name
from ui import cache
from ui.auth import log, require_page
from ui.common import DATASET_KEY, guard, plain
from ui.data_images import image_draft, show_images
from ui.data_report import delete_panel, show_quality_report
from ui.images import (
    COLOURS,
    DEFAULT_SIZE,
    SIZES,
    is_image_file,
)

DRAFT = "data_draft"
CHOICE = "data_saved_choice"
LAST_UPLOAD = "data_last_upload"
REFUSED_UPLOAD = "data_refused_upload"
LOGGED_UPLOAD = "data_logged_upload"
MODE = "data_mode"
MODE_TOKEN = "data_mode_token"
SIZE_KEY = "data_image_size"
COLOUR_KEY = "data_image_colour"
RECORDS, IMAGES = "Patient records", "Medical images"
TASK_OPTIONS = ["auto", "binary", "multiclass", "regression", "survival"]


def column_or_none(column: str | None) -> str:
    return "— none —" if column is None else column


def draft_from_dataset(dataset: Dataset | ImageDataset) -> dict:
    if dataset.kind == "images":
        return image_draft(dataset, dataset.id, dataset_id=dataset.id)
    return {
        "kind": "table",
        "name": dataset.name,
        "frame": dataset.frame,
        "schema": copy.deepcopy(dataset.schema),
        "source": dataset.source,
        "dataset_id": dataset.id,
        "warnings": [],
        "token": dataset.id,
    }


def mode_of(draft: dict) -> str:
    """The toggle's value that matches ``draft``."""
    return IMAGES if draft["kind"] == "images" else RECORDS


def load_saved() -> None:
    choice = st.session_state.get(CHOICE)
    st.session_state[DATASET_KEY] = choice
    if choice:
        draft = st.session_state[DRAFT] = draft_from_dataset(cache.dataset(choice))
        st.session_state[MODE] = IMAGES if draft["kind"] == "images" else RECORDS
    else:
        st.session_state.pop(DRAFT, None)


def start_draft(draft: dict) -> dict:
    """Make ``draft`` the page's working copy (not saved yet)."""
    st.session_state[DRAFT] = draft
    st.session_state[DATASET_KEY] = None
    return draft


def show_table(draft: dict) -> None:
    """A table: target and columns, the data-quality report, a preview."""
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
        task_choice = st.session_state.get(f"task_{token}") or (
            schema.task if schema.task in TASK_OPTIONS else "auto"
        )
        survival = task_choice == "survival"
        c1, c2, c3, *more = st.columns(4 if survival else 3, vertical_alignment="bottom")
        target = c1.selectbox(
            "Event column (did the event happen?)"
            if survival
            else "Target: the outcome to predict",
            [None, *columns],
            index=([None, *columns].index(schema.target) if schema.target in columns else 0),
            format_func=column_or_none,
            key=f"target_{token}",
            help="Two values: the event (death, recurrence…) or censored (still event-free at "
            "the last follow-up)."
            if survival
            else None,
        )
        task_choice = c2.selectbox(
            "Task",
            TASK_OPTIONS,
            index=TASK_OPTIONS.index(schema.task) if schema.task in TASK_OPTIONS else 0,
            key=f"task_{token}",
            help="'auto' detects it: two values → binary, a few classes → multiclass, numbers → "
            "regression. 'survival' predicts the time to an event from a follow-up time and an "
            "event column.",
        )
        time_column = None
        if survival:
            guessed = (
                schema.time_column
                if schema.time_column in columns
                else suggest_time_column(frame, exclude=target)
            )
            time_column = c3.selectbox(
                "Follow-up time column",
                [None, *columns],
                index=[None, *columns].index(guessed) if guessed else 0,
                format_func=column_or_none,
                key=f"time_{token}",
                help="The time from the start of follow-up to the event, or to the last contact "
                "for patients without it (positive numbers, in days, months or years).",
            )
        with guard("Setting the outcome"):
            schema = draft["schema"] = edit_schema(
                schema,
                frame,
                SchemaChanges(target=target, task=task_choice, time_column=time_column),
            )
        if schema.classes and schema.task == ("survival" if survival else "binary"):
            positive = (more[0] if survival else c3).selectbox(
                "Event value" if survival else "Positive class (what the probability is of)",
                schema.classes,
                index=schema.classes.index(schema.positive_class)
                if schema.positive_class in schema.classes
                else 0,
                key=f"positive_{token}",
                help="The value of the event column that means the event happened."
                if survival
                else None,
            )
            with guard("Setting the positive class"):
                schema = draft["schema"] = edit_schema(
                    schema, frame, SchemaChanges(positive_class=positive)
                )

        if survival and (target is None or time_column is None):
            st.caption("Choose the event column and the follow-up time column.")
        st.markdown(
            "**Columns.** Untick a column to leave it out. Columns that look like identifiers, or that may leak the outcome, are left out, with the reason."
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
            with guard("Changing the columns"):
                schema = draft["schema"] = edit_schema(
                    schema,
                    frame,
                    SchemaChanges(
                        kinds={r.column: r.kind for r in edited.itertuples()},
                        included={r.column: bool(r.use) for r in edited.itertuples()},
                    ),
                )
        st.caption(f"{len(schema.features)} feature(s) will be used.")
        choices = [None, *(c.name for c in schema.columns if c.role != "target")]
        group = st.selectbox(
            "Records of one patient (kept together in training, validation or test)",
            choices,
            index=choices.index(schema.group_column) if schema.group_column in choices else 0,
            format_func=lambda c: "none: every row is a different patient" if c is None else c,
            key=f"group_{token}",
        )
        with guard("Grouping the records by patient"):
            schema = draft["schema"] = edit_schema(schema, frame, SchemaChanges(group_column=group))
        if schema.group_column:
            st.caption(schema.group_reason[:1].upper() + schema.group_reason[1:] + ".")
        from ui.treatment import treatment_choice

        schema = draft["schema"] = treatment_choice(schema, frame, token)

    with tab_report, guard("Checking the data"):
        show_quality_report(frame, schema, token)

    with tab_preview:
        st.dataframe(frame.head(200), hide_index=True)
        if len(frame) > 200:
            st.caption(f"The first 200 of {len(frame):,} records.")
        from ui.molecules import molecule_columns_of, show_molecules

        if molecule_columns_of(schema):
            show_molecules(frame, schema)


def save_section(draft: dict) -> None:
    """Name and save the draft; once saved: where to go next, and delete."""
    token = draft["token"]
    st.divider()
    save_left, save_right = st.columns([3, 1])
    with save_left:
        name = st.text_input(
            "Dataset name", value=draft["name"], key=f"name_{token}", max_chars=120
        )
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
                    if draft["kind"] == "images":
                        dataset = dataclasses.replace(draft["dataset"], name=name.strip())
                    else:
                        dataset = Dataset(
                            name.strip(), draft["frame"], draft["schema"], source=draft["source"]
                        )
                    dataset_id = save_dataset(dataset)
                    log(
                        "dataset_save",
                        object_type="dataset",
                        object_id=dataset_id,
                        detail={
                            "kind": draft["kind"],
                            "rows": len(dataset.images)
                            if draft["kind"] == "images"
                            else len(dataset.frame),
                        },
                    )
                    draft.update(
                        {"dataset_id": dataset_id, "name": name.strip(), "token": dataset_id}
                    )
                    st.session_state[MODE_TOKEN] = dataset_id
                    st.session_state[DATASET_KEY] = dataset_id
                    st.rerun()
        elif draft["kind"] == "table" and st.button(
            "Save changes", type="primary", icon=":material/save:"
        ):
            with guard("Saving the changes"):
                update_dataset_schema(draft["dataset_id"], draft["schema"])
                log(
                    "dataset_save",
                    object_type="dataset",
                    object_id=draft["dataset_id"],
                    detail={"kind": "table", "schema_changed": True},
                )
                st.toast("Saved.", icon=":material/check:")

    if draft["dataset_id"]:
        st.success("This dataset is saved in the workspace.", icon=":material/check_circle:")
        trainable = draft["kind"] == "table" or draft["dataset"].labels is not None
        if trainable:
            st.page_link(
                "pages/train.py", label="Train a model on it", icon=":material/model_training:"
            )
        if delete_panel(draft["dataset_id"], draft["kind"], token):
            st.session_state.pop(DRAFT, None)
            st.session_state[DATASET_KEY] = None
            st.rerun()


# -- the page ----------------------------------------------------------------------------------

st.title("Data")
require_page("data")
saved = list_datasets()
labels = {
    d.id: f"{d.name} · {d.rows:,} {'images' if d.kind == 'images' else 'rows'}" for d in saved
}
current = st.session_state.get(DATASET_KEY)
if current not in labels:
    current = None
draft = st.session_state.get(DRAFT)
if current and (draft is None or draft.get("dataset_id") != current):
    draft = st.session_state[DRAFT] = draft_from_dataset(cache.dataset(current))
if st.session_state.get(CHOICE) != current:
    st.session_state[CHOICE] = current
if draft is not None and st.session_state.get(MODE_TOKEN) != draft["token"]:
    # A new dataset on the page: show the controls for its kind.
    st.session_state[MODE] = mode_of(draft)
    st.session_state[MODE_TOKEN] = draft["token"]

if st.session_state.get(MODE) not in (RECORDS, IMAGES):
    st.session_state[MODE] = RECORDS
mode = st.segmented_control("What kind of data", [RECORDS, IMAGES], required=True, key=MODE)
size, channels = DEFAULT_SIZE, None
if mode == IMAGES:
    c1, c2, c3, c4 = st.columns([1, 1, 1, 1], vertical_alignment="bottom")
    size = c1.selectbox(
        "Image size (pixels)",
        SIZES,
        index=SIZES.index(DEFAULT_SIZE),
        key=SIZE_KEY,
        help="Every image is resized to this many pixels a side when read; smaller trains faster.",
    )
    colour = c2.selectbox(
        "Colour",
        list(COLOURS),
        key=COLOUR_KEY,
        help="'as read' keeps the first image's channels (grayscale or RGB) for all of them.",
    )
    channels = COLOURS[colour]
    if c3.button("Demo: handwritten digits", icon=":material/draw:"):
        with guard("Preparing the demo images"):
            draft = start_draft(image_draft(cache.demo_digits(size), f"digits-{size}"))
    if c4.button("Demo: DICOM (CT, MR, RT dose)", icon=":material/radiology:"):
        with guard("Reading the DICOM demo files"):
            dataset, paths = cache.demo_dicom(size, channels)
            draft = start_draft(
                image_draft(
                    dataset,
                    f"dicom-{size}-{channels}",
                    dicom_files=[{"name": Path(p).name, "path": p} for p in paths],
                )
            )

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
        "…or upload patient records or medical images",
        help="Records: CSV, TSV, Excel (.xlsx) or Parquet, one row per patient and a header row. "
        "Images: a ZIP with one folder of images per class, a MedMNIST-style .npz, or one PNG, "
        "JPEG or DICOM (.dcm) file.",
        key="data_upload",
    )

if upload is not None:
    data = upload.getvalue()
    as_images = is_image_file(upload.name, data)
    digest = hashlib.sha256(data).hexdigest()
    file_id = getattr(upload, "file_id", None) or digest
    # The newest upload wins: a file put in the uploader (even one read before) replaces whatever
    # the page shows. The same file is read again only at a new image size, and only while it is
    # still the page's dataset (a demo or a saved dataset chosen since is left alone).
    new_file = st.session_state.get(LAST_UPLOAD) != file_id
    resized = (
        not new_file
        and as_images
        and draft is not None
        and draft.get("upload") == file_id
        and draft.get("read_as") != (size, channels)
    )
    # A refused file shows its error again while nothing else has been chosen.
    refused_again = st.session_state.get(REFUSED_UPLOAD) == file_id and draft is None
    if new_file or resized or refused_again:
        st.session_state[LAST_UPLOAD] = file_id
        # Nothing of the previous dataset stays under a refused file (nor can it be saved).
        st.session_state.pop(DRAFT, None)
        st.session_state[DATASET_KEY] = None
        st.session_state[REFUSED_UPLOAD] = file_id
        draft = None
        with guard("Reading the file"):
            if as_images:
                dataset = cache.read_image_upload(data, upload.name, size, channels)
                dicom_files = (
                    [{"name": upload.name, "data": data}]
                    if dataset.dicom and upload.name in dataset.dicom
                    else []
                )
                draft = start_draft(image_draft(dataset, digest[:12], dicom_files=dicom_files))
            else:
                frame, warnings = cache.read_upload(data, upload.name)
                schema = infer_schema(frame)
                with contextlib.suppress(UserError):  # no usable target guessed: the person chooses
                    set_target(schema, frame, suggest_target(frame))
                draft = start_draft(
                    {
                        "kind": "table",
                        "name": neutral_name("table"),  # never the file's name
                        "frame": frame,
                        "schema": schema,
                        "source": file_source(upload.name),
                        "dataset_id": None,
                        "warnings": warnings,
                        "token": digest[:12],
                    }
                )
            draft["upload"], draft["read_as"] = file_id, (size, channels)
            st.session_state.pop(REFUSED_UPLOAD, None)
            if st.session_state.get(LOGGED_UPLOAD) != digest:  # not again for a new image size
                # The file is named by its hash only: file names can name patients.
                log(
                    "upload",
                    object_type="file",
                    object_id=digest,
                    detail={
                        "sha256": digest,
                        "rows": len(draft["dataset"].images) if as_images else len(draft["frame"]),
                        "kind": "images" if as_images else "table",
                    },
                )
                st.session_state[LOGGED_UPLOAD] = digest
        if draft is not None and st.session_state.get(MODE) != mode_of(draft):
            st.session_state.pop(MODE_TOKEN, None)  # the toggle above follows the new upload
            st.rerun()
        elif draft is not None:  # the toggle already matches: leave it to the person from now
            st.session_state[MODE_TOKEN] = draft["token"]

if draft is None:
    st.info(
        "Choose a saved dataset, upload patient records or medical images, or try the demo images "
        "(under 'Medical images') to begin. The demo tables (breast cancer diagnosis, diabetes "
        "progression, and breast cancer recurrence-free survival from GBSG2) are already saved.",
        icon=":material/info:",
    )
    st.stop()

if mode != mode_of(draft):  # the toggle and the data shown never disagree
    st.info(
        f"The dataset on the page is {'an image set' if draft['kind'] == 'images' else 'a patient table'} "
        f"('{plain(draft['name'])}'): choose '{mode_of(draft)}' above to see it, or upload or "
        "choose other data.",
        icon=":material/info:",
    )
    st.stop()

if draft["kind"] == "images":
    show_images(draft)
else:
    show_table(draft)
save_section(draft)
