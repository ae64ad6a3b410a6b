"""The demo: bundled data sets saved into the workspace and demo models trained on them."""

from __future__ import annotations

import logging
import threading
from typing import Any

from dlcore.data.catalog import find_dataset_by_source, load_dataset, save_dataset
from dlcore.data.demo import DEMOS, load_demo
from dlcore.models.spec import ModelSpec, default_spec
from dlcore.registry import ModelRecord, get_card, list_models

logger = logging.getLogger(__name__)
_demo_lock = threading.Lock()

DEMO_SPECS = {
    "breast_cancer": ModelSpec(
        hidden_units=[32, 16], dropout=0.1, epochs=60, early_stopping_patience=10
    ),
    "diabetes_progression": ModelSpec(
        hidden_units=[32, 16],
        dropout=0.1,
        epochs=150,
        early_stopping_patience=20,
        class_weighting="none",
    ),
}
DEMO_SPECS["gbsg2"] = ModelSpec(
    hidden_units=[16],
    dropout=0.2,
    weight_decay=0.01,
    batch_size=64,
    epochs=100,
    early_stopping_patience=15,
    class_weighting="none",
)
# Molecules (ESOL): Morgan radius 2 counts (2048) + 217 RDKit descriptors, scaffold split, an
# ensemble of 3; bench/molecules.py measured these settings against a random forest and ridge
# regression on the same features and splits.
DEMO_SPECS["solubility"] = default_spec("regression", 1128, molecules=True)
# A randomised trial (indo_rct): a small TARNet, MC-dropout intervals; bench/treatment.py measures it
# against a T-learner of two gradient-boosting models on the same split.
DEMO_SPECS["indo_rct"] = ModelSpec(
    hidden_units=[32, 16],
    dropout=0.2,
    weight_decay=0.01,
    batch_size=32,
    epochs=60,
    early_stopping_patience=10,
)
DEMO_MODEL_NAMES = {
    "indo_rct": "Indomethacin benefit after ERCP (demo)",
    "solubility": "Aqueous solubility of molecules (demo)",
    "gbsg2": "Breast cancer recurrence-free survival (demo)",
    "breast_cancer": "Breast cancer diagnosis (demo)",
    "diabetes_progression": "Diabetes progression (demo)",
}


def ensure_demo_datasets() -> dict[str, str]:
    """Save each bundled demo data set into the workspace unless it is there; returns key → id."""
    ids = {}
    with _demo_lock:  # the app's warm-up thread and its first session may both get here
        for key in DEMOS:
            entry = find_dataset_by_source(f"demo:{key}")
            ids[key] = entry.id if entry else save_dataset(load_demo(key))
    return ids


def demo_model(key: str) -> ModelRecord | None:
    """The newest registered model trained on demo data set ``key``, if any."""
    for record in list_models():
        if get_card(record.id).get("dataset", {}).get("source") == f"demo:{key}":
            return record
    return None


def train_demo_model(key: str, dataset_id: str | None = None) -> ModelRecord:
    """Train and register the demo model of one demo data set."""
    from dlcore.training.pipeline import train_and_register

    dataset = load_dataset(dataset_id) if dataset_id else load_demo(key)
    from dlcore.governance.accounts import SYSTEM_ACCOUNT

    # The demo models are the app's own (fixed data, fixed spec); callers gate who asks for them.
    outcome = train_and_register(
        dataset, DEMO_SPECS[key], name=DEMO_MODEL_NAMES[key], actor=SYSTEM_ACCOUNT
    )
    assert outcome.record is not None  # no stop check was given, so the run cannot be cancelled
    return outcome.record


def train_demo_models(force: bool = False) -> list[ModelRecord]:
    """Train the demo models (all of them with ``force``, else only the missing ones)."""
    ids = ensure_demo_datasets()
    records = []
    for key in DEMO_SPECS:  # the demos that have a demo model
        existing = None if force else demo_model(key)
        records.append(existing or train_demo_model(key, ids[key]))
    return records


def prepare_demo(train_model: bool = True) -> dict[str, Any]:
    """Make the workspace demo-ready: demo data sets saved and, unless told not to, demo models."""
    ids = ensure_demo_datasets()
    summary: dict[str, Any] = {"datasets": len(ids)}
    if train_model:
        summary["models"] = len(train_demo_models())
    return summary
