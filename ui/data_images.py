"""The Data page's image parts: an image set's classes, samples and intensities, its class names
and positive class, and the DICOM viewer with windowing (layout; the work is in dlcore.data)."""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from dlcore.data.classes import apply_class_names
from dlcore.data.dicom import WINDOW_PRESETS, auto_window, to_display, value_unit
from dlcore.data.images import ImageDataset, class_samples
from dlcore.plots.data import (
    plot_class_balance,
    plot_intensity_histogram,
)
from ui import cache
from ui.common import guard, plain
from ui.images import (
    displayable,
    image_grid,
    shape_text,
    short,
    show_skipped,
)

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
                named = dataclasses.replace(dataset)  # the engine names a copy, never the draft's
                apply_class_names(named, names)
                dataset = draft["dataset"] = named
    if len(dataset.classes) == 2 and draft["dataset_id"] is None:
        positive = st.selectbox(
            "Positive class (what a binary model gives the probability of)",
            dataset.classes,
            index=dataset.classes.index(dataset.positive_class)
            if dataset.positive_class in dataset.classes
            else 1,
            key=f"image_positive_{token}",
        )
        if positive != dataset.positive_class:
            dataset = draft["dataset"] = dataclasses.replace(dataset, positive_class=positive)

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


def use_preset(preset_key: str, center_key: str, width_key: str) -> None:
    """Move the window sliders to the chosen CT preset (centre, width in HU)."""
    preset = st.session_state.get(preset_key)
    if preset in WINDOW_PRESETS:
        st.session_state[center_key], st.session_state[width_key] = WINDOW_PRESETS[preset]


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
        window, suffix = None, ""
        if image.is_color:
            st.caption("A colour image: shown as stored, without a window.")
        else:
            low, high = float(image.frames.min()), float(image.frames.max())
            if high <= low:  # a blank (constant) image: a window around its one value
                low, high = low - 0.5, high + 0.5
            unit = value_unit(image.meta)
            suffix = f" ({unit})" if unit else ""
            if unit == "HU":  # room for every CT preset on the sliders
                low = min(low, *(c - w / 2 for c, w in WINDOW_PRESETS.values()))
                high = max(high, *(c + w / 2 for c, w in WINDOW_PRESETS.values()))
            span = max(high - low, 1e-6)
            step = float(f"{span / 200:.2g}")
            center0, width0 = image.window or auto_window(image.frames)
            center_key, width_key = f"dicom_center_{key}", f"dicom_width_{key}"
            if unit == "HU":
                st.selectbox(
                    "Window preset",
                    [None, *WINDOW_PRESETS],
                    format_func=lambda p: (
                        "— choose —"
                        if p is None
                        else f"{p} (W{WINDOW_PRESETS[p][1]:.0f} / L{WINDOW_PRESETS[p][0]:.0f})"
                    ),
                    key=f"dicom_preset_{key}",
                    on_change=use_preset,
                    args=(f"dicom_preset_{key}", center_key, width_key),
                    help="Standard CT windows: the sliders move to the preset's level (centre) "
                    "and width, in Hounsfield units.",
                )
            center = st.slider(
                "Window centre" + suffix,
                low,
                high,
                min(max(float(center0), low), high),
                step,
                format="%.4g",
                key=center_key,
            )
            width = st.slider(
                "Window width" + suffix,
                step,
                2 * span,
                min(max(float(width0), step), 2 * span),
                step,
                format="%.4g",
                key=width_key,
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
            + (f" · window {window[0]:.4g} / {window[1]:.4g}{suffix}" if window else ""),
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
