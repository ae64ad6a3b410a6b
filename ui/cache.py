"""Cached loaders: models and explainers per model id and checksum (one object for all sessions,
never trained further), reports and explanations per content."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import streamlit as st

from dlcore.data import Dataset, quality_report, read_table
from dlcore.data.catalog import load_dataset
from dlcore.data.images import ImageDataset, load_digits_images, read_image_files, read_images
from dlcore.data.schema import Schema
from dlcore.registry import LoadedModel, get_card, load_model

if TYPE_CHECKING:
    from dlcore.evaluate.subgroups import SubgroupChoice


def model_version_key(model_id: str) -> str:
    """What identifies a model's content: its file checksum from the card."""
    return str(get_card(model_id).get("model_sha256", ""))


@st.cache_resource(max_entries=8, show_spinner="Loading the model…")
def _loaded(model_id: str, checksum: str) -> LoadedModel:
    return load_model(model_id)


def loaded_model(model_id: str) -> LoadedModel:
    """A registered model, loaded once per process (safe mode, checksum verified)."""
    loaded = _loaded(model_id, model_version_key(model_id))
    # The card can change (rename, operating point) without the model file changing.
    loaded.card = get_card(model_id)
    return loaded


@st.cache_resource(max_entries=8, show_spinner="Preparing the explainer…")
def _explainer(model_id: str, checksum: str) -> Any:
    from dlcore.explain.dispatch import explainer_for

    loaded = _loaded(model_id, checksum)
    return explainer_for(loaded.model, loaded.layout, loaded.background())


def explainer(model_id: str) -> Any:
    """The model's explainer (TabularExplainer, or ImageExplainer for an image model), built once
    per model version and process."""
    return _explainer(model_id, model_version_key(model_id))


@st.cache_data(max_entries=16, show_spinner="Reading the file…")
def read_upload(data: bytes, filename: str) -> tuple[pd.DataFrame, list[str]]:
    """An uploaded table (cached by its bytes): the frame and the reader's warnings."""
    table = read_table(data, filename)
    return table.frame, table.warnings


def _dataset_stamp(dataset_id: str) -> float:
    from dlcore.config import get_settings

    path = Path(get_settings().datasets_dir) / dataset_id / "dataset.json"
    return path.stat().st_mtime if path.exists() else 0.0


@st.cache_data(max_entries=16, show_spinner=False)
def _dataset(dataset_id: str, stamp: float) -> Dataset | ImageDataset:
    return load_dataset(dataset_id)


def dataset(dataset_id: str) -> Dataset | ImageDataset:
    """A saved dataset, table or images (cached until its files change)."""
    return _dataset(dataset_id, _dataset_stamp(dataset_id))


@st.cache_data(max_entries=32, show_spinner="Checking the data…")
def report(fingerprint: str, schema_json: dict[str, Any], _frame: pd.DataFrame) -> Any:
    """The data-quality report for a table (cached by content fingerprint and schema)."""
    return quality_report(_frame, Schema.from_dict(schema_json))


@st.cache_data(max_entries=16, show_spinner="Explaining a sample of records…")
def sample_explanation(model_id: str, checksum: str, dataset_id: str, n: int, seed: int = 0) -> Any:
    """SHAP values for a seeded sample of a dataset's records (global importance and beeswarm)."""
    frame = dataset(dataset_id).frame
    sample = frame.sample(min(n, len(frame)), random_state=seed)
    return _explainer(model_id, checksum).explain(sample)


def record_digest(record: pd.DataFrame) -> str:
    """What identifies records' content: a hash of their column names and values."""
    import hashlib

    text = record.to_json(orient="split", index=False, date_format="iso", default_handler=str)
    return hashlib.sha256(text.encode()).hexdigest()


@st.cache_data(max_entries=64, show_spinner="Explaining the record…")
def _record_explanation(model_id: str, checksum: str, digest: str, _record: pd.DataFrame) -> Any:
    return _explainer(model_id, checksum).explain(_record)


def record_explanation(model_id: str, record: pd.DataFrame) -> Any:
    """SHAP values of one or a few records (an Explanation), cached by the model's version and
    the records' content like image explanations: a rerun or another session asking about the
    same record gets the stored answer (a copy) instead of running SHAP again."""
    return _record_explanation(model_id, model_version_key(model_id), record_digest(record), record)


# -- images ------------------------------------------------------------------------------------


@st.cache_data(max_entries=8, show_spinner="Reading the images…")
def read_image_upload(
    data: bytes, filename: str, size: int | tuple[int, int], channels: int | None
) -> ImageDataset:
    """An uploaded image file (ZIP of class folders, .npz, PNG, JPEG or DICOM) as an image set."""
    return read_images(data, filename, size=size, channels=channels)


@st.cache_data(max_entries=8, show_spinner="Reading the images…")
def read_image_uploads(
    files: tuple[tuple[str, bytes], ...], size: int | tuple[int, int], channels: int | None
) -> ImageDataset:
    """Uploaded images, one file or several (each PNG, JPEG, DICOM or a ZIP), as one image set."""
    if len(files) == 1:
        name, data = files[0]
        return read_images(data, name, size=size, channels=channels)
    return read_image_files(list(files), "uploaded images", size=size, channels=channels)


@st.cache_data(max_entries=4, show_spinner="Preparing the handwritten digits…")
def demo_digits(size: int) -> ImageDataset:
    """scikit-learn's handwritten digits at ``size`` × ``size`` pixels."""
    return load_digits_images(size)


@st.cache_data(max_entries=4, show_spinner="Reading the DICOM demo files…")
def demo_dicom(size: int, channels: int | None) -> tuple[ImageDataset, list[str]]:
    """pydicom's bundled CT, MR and RT dose files as an unlabelled image set, and their paths."""
    from dlcore.data.dicom import demo_dicom_files

    paths = demo_dicom_files()
    dataset = read_image_files(paths, "DICOM demo", size=size, channels=channels)
    dataset.source = "demo:dicom (pydicom's test files)"
    return dataset, [str(p) for p in paths]


@st.cache_data(max_entries=16, show_spinner="Reading the DICOM file…")
def dicom_image(name: str, data: bytes | None = None, path: str | None = None) -> Any:
    """One DICOM file, de-identified, with its pixels in modality units (for the viewer)."""
    from dlcore.data.dicom import read_dicom

    return read_dicom(data if data is not None else Path(str(path)), name)


@st.cache_data(max_entries=32, show_spinner=False)
def intensity_histogram(fingerprint: str, _images: np.ndarray) -> dict[str, Any]:
    """The pixel-intensity histogram of an image set (cached by its content fingerprint)."""
    from dlcore.data.images import intensity_histogram as compute

    return compute(_images)


@st.cache_resource(max_entries=16, show_spinner="Building the network…")
def image_architecture(
    spec_json: str,
    shape: tuple[int, int, int],
    task: str,
    classes: tuple[str, ...],
    positive_class: str | None,
) -> list[dict[str, Any]]:
    """The layers of the image network a spec builds (Keras), keyed by the spec and input shape."""
    from dlcore.models.image import build_image_model, image_architecture
    from dlcore.models.layouts import ImageLayout
    from dlcore.models.spec import ModelSpec

    layout = ImageLayout(*shape, task, list(classes), positive_class)
    return image_architecture(build_image_model(ModelSpec.from_json(spec_json), layout))


@st.cache_data(max_entries=8, show_spinner=False)
def confusion_cases(model_id: str, checksum: str) -> Any:
    """An image model's test-split cases grouped by confusion cell (None without stored predictions)."""
    from dlcore.data.images import confusion_cases as compute

    loaded = _loaded(model_id, checksum)
    predictions = loaded.test_predictions()
    if predictions is None:
        return None
    layout = loaded.layout
    # The same threshold as the confusion matrix the Models page draws above the browser.
    threshold = float((loaded.card.get("metrics") or {}).get("youden_threshold", 0.5))
    return compute(
        predictions["labels"],
        predictions["output"],
        layout.classes,
        layout.positive_class,
        threshold=threshold,
        index=predictions["index"],
    )


@st.cache_data(max_entries=64, show_spinner="Explaining the image…")
def image_explanation(
    model_id: str,
    checksum: str,
    digest: str,
    method: str,
    output: int | None,
    _image: np.ndarray,
) -> Any:
    """An image model's explanation of one image by one method (cached by the image's digest)."""
    return _explainer(model_id, checksum).explain(_image, method=method, output=output)


# -- clinical evaluation -----------------------------------------------------------------------


def evaluation_key(loaded: LoadedModel, data_key: str) -> str:
    """What identifies an evaluation: the model's content, its recalibration and the data."""
    import hashlib
    import json

    calibration = json.dumps(loaded.card.get("calibration"), sort_keys=True, default=str)
    digest = hashlib.sha256(calibration.encode()).hexdigest()[:12]
    return f"{loaded.id}|{model_version_key(loaded.id)}|{digest}|{data_key}"


def held_out_key(loaded: LoadedModel) -> str:
    """The data key of a model's held-out test split (changes when its saved dataset does)."""
    dataset_id = loaded.card.get("dataset", {}).get("id") or ""
    return f"test|{dataset_id}|{_dataset_stamp(dataset_id) if dataset_id else 0}"


@st.cache_data(max_entries=8, show_spinner="Running the model on the evaluation records…")
def evaluation_data(
    key: str, source: str | None, _loaded: LoadedModel, _records: Any = None
) -> Any:
    """The outcomes and (recalibrated) outputs a model is judged on (cached by ``key``)."""
    from dlcore.evaluate.model_report import evaluation_data as compute

    return compute(_loaded, _records, source=source)


@st.cache_data(max_entries=8, show_spinner="Computing the 95% confidence intervals…")
def clinical_report(key: str, resamples: int, _loaded: LoadedModel, _data: Any) -> Any:
    """The heavy clinical report (bootstrap CIs and bands) for one evaluation and resample count.

    Its threshold part is for 0.5; the page replaces it with the metrics at the chosen threshold.
    """
    from dlcore.evaluate.model_report import clinical_report as compute

    return compute(_loaded, _data, threshold=0.5, resamples=resamples)


@st.cache_data(max_entries=64, show_spinner=False)
def metrics_at_threshold(
    key: str, threshold: float, resamples: int, _y: np.ndarray, _p: np.ndarray
) -> Any:
    """Sensitivity, specificity, PPV and NPV with CIs, and the confusion counts, at a threshold."""
    from dlcore.evaluate.clinical import metrics_at_threshold as compute

    return compute(_y, _p, threshold, resamples=resamples)


@st.cache_data(max_entries=32, show_spinner="Comparing the subgroups…")
def subgroup_report(
    key: str,
    choice: SubgroupChoice,
    threshold: float,
    _y: np.ndarray,
    _p: np.ndarray,
    _values: pd.Series,
) -> Any:
    """Performance per group of one column (numeric columns in bands: cut points or tertiles)."""
    from dlcore.evaluate.subgroups import choice_report

    return choice_report(choice, _y, _p, _values, threshold)


# -- review ------------------------------------------------------------------------------------


@st.cache_data(max_entries=64, show_spinner=False)
def _review_case(session_id: str, record_index: int, stamp: float, _review: Any) -> Any:
    from dlcore.governance.review import case_view

    return case_view(_review, record_index)


def review_case(review: Any, record_index: int) -> Any:
    """What a reviewer sees of one case of a review session (dlcore.review.case_view): the record
    as a one-row frame, or the image (cached per session and case until the dataset changes)."""
    return _review_case(review.id, int(record_index), _dataset_stamp(review.dataset_id), review)


# -- survival ------------------------------------------------------------------------------------


@st.cache_data(max_entries=16, show_spinner=False)
def _reference_log_risk(model_id: str, checksum: str) -> float:
    from dlcore.predict import reference_log_risk as compute

    loaded = _loaded(model_id, checksum)
    return compute(loaded.model, loaded.layout, loaded.background())


def reference_log_risk(model_id: str) -> float:
    """A survival model's mean log-risk over its reference patients from training (the 'average
    patient' of relative risks and explanations), computed once per model version."""
    return _reference_log_risk(model_id, model_version_key(model_id))
