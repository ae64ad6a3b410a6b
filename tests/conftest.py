"""Shared fixtures: a throwaway workspace for the whole run, and tiny models trained once."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# the shared test helpers (apptools) import from every test folder
sys.path.insert(0, str(ROOT / "tests"))

# Every test run gets its own workspace, set before dlcore reads its settings.
_WORKSPACE = Path(tempfile.mkdtemp(prefix="dlcore-test-"))
os.environ["DLCORE_HOME"] = str(_WORKSPACE)
os.environ.pop("DLCORE_DATABASE_URL", None)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# AppTest boots the app once per test; the demo model is trained by fixtures, not by a background job.
os.environ["DLCORE_DEMO_AUTOTRAIN"] = "0"


@pytest.fixture(scope="session")
def workspace() -> Path:
    """The session's workspace folder (DLCORE_HOME)."""
    return _WORKSPACE


@pytest.fixture(scope="session")
def breast_cancer():
    """The bundled breast-cancer demo dataset."""
    from dlcore.data import load_demo

    return load_demo("breast_cancer")


@pytest.fixture(scope="session")
def diabetes():
    """The bundled diabetes-progression demo dataset (regression)."""
    from dlcore.data import load_demo

    return load_demo("diabetes_progression")


@pytest.fixture(scope="session")
def tiny_binary(breast_cancer):
    """A small network trained for 2 epochs on breast cancer and registered (TrainOutcome)."""
    from dlcore.models.spec import ModelSpec
    from dlcore.training.pipeline import train_and_register

    spec = ModelSpec(hidden_units=[16, 8], epochs=2, batch_size=32, seed=1)
    return train_and_register(breast_cancer, spec, name="tiny breast cancer")


@pytest.fixture(scope="session")
def tiny_regression(diabetes):
    """A small regression network trained for 2 epochs on diabetes progression (TrainOutcome)."""
    from dlcore.models.spec import ModelSpec
    from dlcore.training.pipeline import train_and_register

    spec = ModelSpec(hidden_units=[16], epochs=2, batch_size=32, seed=1, class_weighting="none")
    return train_and_register(diabetes, spec, name="tiny diabetes")


@pytest.fixture(scope="session")
def cohort_dataset():
    """A synthetic binary cohort (identifiers, categoricals, missing values) as a Dataset."""
    from dlcore.data import Dataset, infer_schema
    from dlcore.data.synthetic import make_cohort

    frame = make_cohort(400, seed=3)
    return Dataset("synthetic cohort", frame, infer_schema(frame, "outcome"), source="synthetic")


@pytest.fixture(scope="session")
def tiny_cohort(cohort_dataset):
    """A small network trained for 1 epoch on the synthetic cohort, not registered (TrainResult).

    Its inputs include categorical columns ('sex', 'smoking') and a numeric one with missing
    values ('cholesterol').
    """
    from dlcore.models.spec import ModelSpec
    from dlcore.training.fit import train

    spec = ModelSpec(hidden_units=[8], epochs=1, batch_size=32, seed=1)
    return train(cohort_dataset, spec)


@pytest.fixture
def isolated_workspace():
    """A fresh workspace (files, database, Streamlit caches) for one test; the session's after."""
    from apptools import switched_workspace

    with switched_workspace() as home:
        yield home


@pytest.fixture
def downloads(monkeypatch):
    """Read what a deferred download button would give (the media managers of the AppTest runs)."""
    from streamlit.testing.v1 import app_test

    managers = []

    class Recording(app_test.MediaFileManager):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            managers.append(self)

    monkeypatch.setattr(app_test, "MediaFileManager", Recording)

    def read(element) -> bytes:
        file_id = element.proto.deferred_file_id
        assert file_id, "the download has no deferred file"
        for manager in reversed(managers):
            entry = manager._deferred_callables.get(file_id)
            if entry is not None:
                data = entry["callable"]()
                return data.encode() if isinstance(data, str) else bytes(data)
        raise AssertionError(f"deferred file {file_id} not found")

    return read
