"""Cached loaders: models and explainers per model id and checksum (one object for all sessions,
never trained further), reports and explanations per content."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from dlcore.data import Dataset, quality_report, read_table
from dlcore.data.catalog import load_dataset
from dlcore.data.schema import Schema
from dlcore.registry import LoadedModel, get_card, load_model


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
    from dlcore.explain import TabularExplainer

    loaded = _loaded(model_id, checksum)
    return TabularExplainer(loaded.model, loaded.layout, loaded.background())


def explainer(model_id: str) -> Any:
    """The model's TabularExplainer, built once per model version and process."""
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
def _dataset(dataset_id: str, stamp: float) -> Dataset:
    return load_dataset(dataset_id)


def dataset(dataset_id: str) -> Dataset:
    """A saved dataset (cached until its files change)."""
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
