"""Data: upload or choose patient records or medical images, check what is in them, set the
target and features of a table, look at DICOM files, and save."""

from __future__ import annotations

import contextlib
import copy
import hashlib
from pathlib import Path

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
from dlcore.data.classes import apply_class_names
from dlcore.data.dicom import auto_window, to_display
from dlcore.data.images import ImageDataset, class_samples
from dlcore.data.schema import KINDS, set_group_column, set_survival_target, suggest_time_column
from dlcore.errors import UserError
from dlcore.fsutil import file_source, neutral_name
from dlcore.plots.data import (
    plot_category_counts,
    plot_class_balance,
    plot_histogram,
    plot_intensity_histogram,
    plot_missingness,
)
from dlcore.registry import list_models
from ui import cache
from ui.auth import log, require_page
from ui.common import DATASET_KEY, guard, plain
from ui.images import (
    COLOURS,
    DEFAULT_SIZE,
    SIZES,
    displayable,
    image_grid,
    is_image_file,
    shape_text,
    short,
    show_skipped,
)

DRAFT = "data_draft"
CHOICE = "data_saved_choice"
LAST_UPLOAD = "data_last_upload"
LOGGED_UPLOAD = "data_logged_upload"
MODE = "data_mode"
MODE_TOKEN = "data_mode_token"
SIZE_KEY = "data_image_size"
COLOUR_KEY = "data_image_colour"
RECORDS, IMAGES = "Patient records", "Medical images"
TASK_OPTIONS = ["auto", "binary", "multiclass", "regression", "survival"]
SAMPLES_PER_CLASS = 6
VIEWER_WIDTH = 384
KEPT_LABELS = {
    "Modality": "Modality",
    "BodyPartExamined": "Body part",
    "PixelSpacing": "Pixel spacing (mm)",
    "SliceThickness": "Slice thickness (mm)",
    "Rows": "Rows",
    "Columns": "Columns",
    "NumberOfFrames": "Frames",
    "PhotometricInterpretation": "Photometric interpretation",
    "BitsStored": "Bits stored",
}


def column_or_none(column: str | None) -> str:
    return "— none —" if column is None else column


def shown_value(value: object) -> str:
    """A DICOM value for people: a pair of spacings as '0.66 × 0.66', others as text."""
    if isinstance(value, list | tuple):
        return " × ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in value)
    return str(value)


def image_draft(
    dataset: ImageDataset,
    token: str,
    *,
    dataset_id: str | None = None,
    dicom_files: list[dict] | None = None,
) -> dict:
    """The page's working copy of an image set; ``dicom_files`` are what the viewer can open."""
    return {
        "kind": "images",
        "name": dataset.name,
        "dataset": dataset,
        "source": dataset.source,
        "dataset_id": dataset_id,
        "warnings": [],
        "token": token,
        "dicom_files": dicom_files or [],
    }


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
        if survival and target is not None and time_column is not None:
            if (
                schema.task != "survival"
                or target != schema.target
                or time_column != schema.time_column
            ):
                with guard("Setting the survival outcome"):
                    set_survival_target(schema, frame, time_column, target)
            if schema.task == "survival" and schema.classes:
                schema.positive_class = more[0].selectbox(
                    "Event value",
                    schema.classes,
                    index=schema.classes.index(schema.positive_class)
                    if schema.positive_class in schema.classes
                    else 0,
                    key=f"positive_{token}",
                    help="The value of the event column that means the event happened.",
                )
        elif not survival and target is not None:
            wanted_task = None if task_choice == "auto" else task_choice
            if (
                target != schema.target
                or (wanted_task and wanted_task != schema.task)
                or schema.task == "survival"
            ):
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
        elif schema.target is not None:  # no outcome chosen (survival: until both columns are)
            for col in schema.columns:
                if col.role == "target":
                    col.role, col.reason = "excluded", "not used"
            schema.target, schema.task, schema.classes, schema.positive_class = None, None, [], None
            schema.time_column = None

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
            kinds = {
                r.column: r.kind
                for r in edited.itertuples()
                if r.kind != schema.column(r.column).kind
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
        choices = [None, *(c.name for c in schema.columns if c.role != "target")]
        group = st.selectbox(
            "Records of one patient (kept together in training, validation or test)",
            choices,
            index=choices.index(schema.group_column) if schema.group_column in choices else 0,
            format_func=lambda c: "none: every row is a different patient" if c is None else c,
            key=f"group_{token}",
        )
        if group != schema.group_column:
            with guard("Grouping the records by patient"):
                set_group_column(schema, frame, group)
        if schema.group_column:
            st.caption(schema.group_reason[:1].upper() + schema.group_reason[1:] + ".")

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
                st.plotly_chart(
                    plot_histogram(report.histograms[column], column), key="distribution"
                )
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
        from ui.molecules import molecule_columns_of, show_molecules

        if molecule_columns_of(schema):
            show_molecules(frame, schema)


def show_images(draft: dict) -> None:
    """An image set: counts per class, a sample grid, intensities, skipped files, DICOM."""
    dataset: ImageDataset = draft["dataset"]
    token = draft["token"]
    if "fingerprint" not in draft:
        draft["fingerprint"] = dataset.fingerprint()
    counts = dataset.class_counts()
    st.subheader(draft["name"])
    classes = f"{len(dataset.classes)} classes" if dataset.classes else "no classes"
    st.caption(
        f"Source: {draft['source'] or 'uploaded file'} · {len(dataset.images):,} images of "
        f"{shape_text(dataset.image_shape)} · {classes}"
    )
    if dataset.description:
        st.caption(dataset.description)
    for note in dataset.notes:
        st.info(note, icon=":material/info:")
    if len(dataset.classes) == 1:
        st.warning(
            f"Only one class was found ('{plain(dataset.classes[0])}'): a model needs at least two. "
            "Put each class's images in a folder of its own (for example normal/ and "
            "pneumonia/) and upload the archive of those folders.",
            icon=":material/warning:",
        )
    show_skipped(dataset.skipped)
    if dataset.labels is None:
        st.info(
            "These images have no classes: they can be looked at here and scored by a model on the "
            "Predict page, but not trained on. To train, upload a ZIP with one folder of images "
            "per class.",
            icon=":material/info:",
        )
    elif dataset.predefined_split:
        st.caption(
            "The file comes split into training, validation and test images; training keeps it."
        )
    names_key = f"class_names_{token}"
    numbered = dataset.classes and all(str(c).isdigit() for c in dataset.classes)
    if draft["dataset_id"] is None and (numbered or st.session_state.get(names_key)):
        names = st.text_input(
            "Class names for the numbered labels (for example 0=malignant,1=benign)",
            key=names_key,
        )
        if names and numbered:
            with guard("Naming the classes"):
                apply_class_names(dataset, names)
    if len(dataset.classes) == 2 and draft["dataset_id"] is None:
        dataset.positive_class = st.selectbox(
            "Positive class (what a binary model gives the probability of)",
            dataset.classes,
            index=dataset.classes.index(dataset.positive_class)
            if dataset.positive_class in dataset.classes
            else 1,
            key=f"image_positive_{token}",
        )

    has_dicom = bool(draft["dicom_files"] or dataset.dicom)
    tabs = st.tabs(["Overview", "Samples", *(["DICOM viewer"] if has_dicom else [])])
    with tabs[0]:
        height, width, _ = dataset.image_shape
        m = st.columns(4)
        m[0].metric("Images", f"{len(dataset.images):,}")
        m[1].metric("Classes", len(dataset.classes) or "—")
        m[2].metric("Image size", f"{height} × {width}")
        m[3].metric("Skipped files", len(dataset.skipped))
        g1, g2 = st.columns(2)
        with g1:
            if counts:
                st.plotly_chart(
                    plot_class_balance(
                        counts, dataset.positive_class, title="Images per class", unit="Images"
                    ),
                    key="image_class_balance",
                )
            else:
                st.caption("No classes, so no counts per class.")
        with g2:
            histogram = cache.intensity_histogram(draft["fingerprint"], dataset.images)
            st.plotly_chart(plot_intensity_histogram(histogram), key="intensity_histogram")
            st.caption(
                f"{histogram['clipped_low']:.0%} of pixel values are black (0) and "
                f"{histogram['clipped_high']:.0%} white (255)."
            )
    with tabs[1]:
        for name, positions in class_samples(dataset, SAMPLES_PER_CLASS).items():
            total = counts.get(name, len(dataset.images))
            st.markdown(f"**{name}** · {total:,} image(s)")
            image_grid(dataset.images[positions], [short(dataset.file_names[i]) for i in positions])
    if has_dicom:
        with tabs[2]:
            dicom_viewer(draft)


def dicom_viewer(draft: dict) -> None:
    """Open a DICOM file of the draft with window and frame controls, or list the stored facts."""
    files = draft["dicom_files"]
    token = draft["token"]
    if not files:
        st.caption(
            "Saved image sets keep what was read from each DICOM file, not its original pixel "
            "values; upload the file again to adjust its window."
        )
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "file": name,
                        "modality": info.get("kept", {}).get("Modality", ""),
                        "body part": info.get("kept", {}).get("BodyPartExamined", ""),
                        "pixel spacing (mm)": shown_value(
                            info.get("kept", {}).get("PixelSpacing", "")
                        ),
                        "frames": info.get("frames", 1),
                        "text burned into the pixels": {True: "yes", False: "no"}.get(
                            info.get("burned_in_annotation"), "not stated"
                        ),
                        "de-identification": info.get("summary", ""),
                    }
                    for name, info in draft["dataset"].dicom.items()
                ]
            ),
            hide_index=True,
        )
        return
    names = [f["name"] for f in files]
    name = (
        st.selectbox("DICOM file", names, key=f"dicom_file_{token}") if len(names) > 1 else names[0]
    )
    chosen = files[names.index(name)]
    image = cache.dicom_image(chosen["name"], chosen.get("data"), chosen.get("path"))
    key = f"{token}_{name}"
    view, controls = st.columns([3, 2])
    with controls:
        frame = 0
        count = int(image.frames.shape[0])
        if count > 1:
            frame = st.slider("Frame", 1, count, 1, key=f"dicom_frame_{key}") - 1
        window = None
        if image.is_color:
            st.caption("A colour image: shown as stored, without a window.")
        else:
            low, high = float(image.frames.min()), float(image.frames.max())
            if high <= low:  # a blank (constant) image: a window around its one value
                low, high = low - 0.5, high + 0.5
            span = max(high - low, 1e-6)
            step = float(f"{span / 200:.2g}")
            center0, width0 = image.window or auto_window(image.frames)
            center = st.slider(
                "Window centre",
                low,
                high,
                min(max(float(center0), low), high),
                step,
                format="%.4g",
                key=f"dicom_center_{key}",
            )
            width = st.slider(
                "Window width",
                step,
                2 * span,
                min(max(float(width0), step), 2 * span),
                step,
                format="%.4g",
                key=f"dicom_width_{key}",
            )
            st.caption(
                "Initial window: "
                + (
                    "from the file."
                    if image.window
                    else "automatic (1st to 99th percentile of the values)."
                )
            )
            window = (center, width)
        kept = image.meta
        st.dataframe(
            pd.DataFrame(
                [
                    {"attribute": label, "value": shown_value(kept[k])}
                    for k, label in KEPT_LABELS.items()
                    if k in kept
                ]
            ),
            hide_index=True,
        )
    with view:
        st.image(
            displayable(to_display(image, frame, window)),
            caption=f"{image.name}"
            + (f" · frame {frame + 1} of {count}" if count > 1 else "")
            + (f" · window {window[0]:.4g} / {window[1]:.4g}" if window else ""),
            width=VIEWER_WIDTH,
        )
    report = image.report
    st.markdown("**De-identification on import**")
    st.success(report.summary(), icon=":material/shield_person:")
    if report.burned_in_annotation:
        st.warning(
            "The file says text is burned into its pixels (BurnedInAnnotation = YES): names, dates "
            "or numbers may be visible in the image itself, and removing header attributes cannot "
            "hide them. Check the image before training on it or sharing it.",
            icon=":material/warning:",
        )
    elif report.burned_in_annotation is None:
        modality = str(image.meta.get("Modality", ""))
        often = modality in ("US", "SC", "OT", "XC", "ES", "DX", "CR")
        st.caption(
            "The file does not say whether text is burned into its pixels (no "
            "BurnedInAnnotation attribute)"
            + (
                f"; {modality} images often carry names or dates in the image itself — "
                "look before training on it or sharing it."
                if often
                else "."
            )
        )
    with st.expander(f"The {len(report.removed)} attribute(s) removed or emptied"):
        st.markdown(", ".join(f"`{attribute}`" for attribute in report.removed) or "None.")
        st.caption(
            f"New UIDs for: {', '.join(report.replaced_uids) or 'none'}. Only the attribute names "
            "are shown; their values were never displayed or logged."
        )


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
                        dataset = draft["dataset"]
                        dataset.name = name.strip()
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
        with st.expander("Delete this dataset"):
            what = "images" if draft["kind"] == "images" else "records"
            trained_on = [m for m in list_models() if m.dataset_id == draft["dataset_id"]]
            if trained_on:
                st.warning(
                    f"{len(trained_on)} model(s) were trained on it: "
                    + ", ".join(f"'{plain(m.name)}'" for m in trained_on[:5])
                    + ("…" if len(trained_on) > 5 else "")
                    + f". Each keeps a sample of its training {what} (for explanations) and its "
                    "test split; deleting the dataset does not remove those. Delete the models "
                    "on the Models page to remove every copy.",
                    icon=":material/warning:",
                )
            confirm = st.checkbox(
                f"Yes, delete its {what} from the workspace", key=f"confirm_delete_{token}"
            )
            if st.button("Delete dataset", disabled=not confirm, icon=":material/delete:"):
                with guard("Deleting the dataset"):
                    delete_dataset(draft["dataset_id"])
                    log("dataset_delete", object_type="dataset", object_id=draft["dataset_id"])
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
    st.session_state[MODE] = IMAGES if draft["kind"] == "images" else RECORDS
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
    seen = f"{digest}-{size}-{channels}" if as_images else digest
    if st.session_state.get(LAST_UPLOAD) != seen:
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
            # Only a file that was read is remembered: a refused one shows its error on every run.
            st.session_state[LAST_UPLOAD] = seen
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

if draft is None:
    st.info(
        "Choose a saved dataset, upload patient records or medical images, or try the demo images "
        "(under 'Medical images') to begin. The demo tables (breast cancer diagnosis, diabetes "
        "progression, and breast cancer recurrence-free survival from GBSG2) are already saved.",
        icon=":material/info:",
    )
    st.stop()

if draft["kind"] == "images":
    show_images(draft)
else:
    show_table(draft)
save_section(draft)
