"""Patient-level splitting: a column that identifies patients and repeats is detected, and the split
keeps each patient wholly in train, validation or test (tables and multi-frame images)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlcore.data import Dataset, infer_schema
from dlcore.data.schema import detect_group_column, set_group_column
from dlcore.errors import UserError
from dlcore.models.spec import ModelSpec
from dlcore.training.fit import prepare_data, split_records


def _admissions(n_patients: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    visits = rng.integers(1, 5, n_patients)  # 1-4 admissions per patient
    patient = np.repeat([f"S{1000 + i}" for i in range(n_patients)], visits)
    frailty = np.repeat(rng.normal(0, 1, n_patients), visits)
    n = len(patient)
    age = np.repeat(rng.integers(40, 90, n_patients), visits)
    lactate = rng.gamma(2, 1, n).round(1)
    risk = 1 / (1 + np.exp(-(frailty + 0.4 * (lactate - 2) - 0.5)))
    return pd.DataFrame(
        {
            "subject_id": patient,
            "hadm_id": np.arange(50000, 50000 + n),
            "age": age,
            "lactate": lactate,
            "readmitted": (rng.random(n) < risk).astype(int),
        }
    )


def _parts(split) -> list[np.ndarray]:
    return [split.train, split.validation, split.test]


def test_repeating_patient_column_is_detected_and_left_out():
    frame = _admissions()
    schema = infer_schema(frame, "readmitted")
    assert schema.group_column == "subject_id"
    assert schema.group_reason.startswith("detected")
    assert "subject_id" not in schema.feature_names
    assert "hadm_id" not in schema.feature_names
    assert schema.feature_names == ["age", "lactate"]


def test_unique_identifiers_do_not_group():
    from dlcore.data.synthetic import make_cohort

    frame = make_cohort(200, seed=1)
    schema = infer_schema(frame, "outcome")
    assert schema.group_column is None
    assert detect_group_column(frame, schema) is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_patient_in_two_parts(seed):
    frame = _admissions(seed=seed)
    dataset = Dataset("admissions", frame, infer_schema(frame, "readmitted"))
    data = prepare_data(dataset)
    split = split_records(data.y, "binary", ModelSpec(seed=seed), data.groups, "subject_id")
    assert split.group == "subject_id"
    assert split.n_groups == frame["subject_id"].nunique()
    owners = [set(data.groups[p]) for p in _parts(split)]
    assert not owners[0] & owners[1] and not owners[0] & owners[2] and not owners[1] & owners[2]
    assert sum(map(len, _parts(split))) == len(frame)
    # Stratified by outcome across groups: each part's prevalence is close to the whole's.
    for part in _parts(split):
        assert abs(data.y[part].mean() - data.y.mean()) < 0.08
    assert abs(len(split.test) - 0.2 * len(frame)) < 0.06 * len(frame)
    # The same data split by row puts patients on both sides (what the grouping prevents).
    by_row = split_records(data.y, "binary", ModelSpec(seed=seed))
    assert set(data.groups[by_row.train]) & set(data.groups[by_row.test])
    assert by_row.group is None


def test_group_can_be_set_and_turned_off():
    frame = _admissions()
    frame = frame.rename(columns={"subject_id": "code"})
    schema = infer_schema(frame, "readmitted")
    set_group_column(schema, frame, "code")
    assert schema.group_column == "code" and "set by the user" in schema.group_reason
    set_group_column(schema, frame, None)
    assert schema.group_column is None
    with pytest.raises(UserError):
        set_group_column(schema, frame, "readmitted")


def test_too_few_groups_is_refused():
    y = np.array([0, 1] * 30, dtype=float)
    groups = np.array(["a", "b", "c", "d"] * 15, dtype=object)
    with pytest.raises(UserError, match="too few"):
        split_records(y, "binary", ModelSpec(), groups, "patient")


def test_multiframe_images_share_a_group():
    from dlcore.data.images import ImageDataset

    names = [f"case{i}.dcm#frame{k}" for i in range(30) for k in (1, 2, 3)]
    labels = np.array([i % 2 for i in range(30) for _ in range(3)], dtype=np.int64)
    images = np.zeros((len(names), 8, 8, 1), dtype=np.uint8)
    dataset = ImageDataset("frames", images, labels, ["a", "b"], names)
    groups = dataset.groups
    assert groups is not None and len(set(groups)) == 30
    split = split_records(labels, "binary", ModelSpec(seed=4), groups, dataset.group_name)
    owners = [set(groups[p]) for p in _parts(split)]
    assert not owners[0] & owners[2] and not owners[1] & owners[2] and not owners[0] & owners[1]
    single = ImageDataset(
        "single", images[:30], labels[:30], ["a", "b"], [f"f{i}.png" for i in range(30)]
    )
    assert single.groups is None


def test_patient_folders_below_class_folders_are_groups():
    from dlcore.data.images import ImageDataset

    names, labels = [], []
    for c, cls in enumerate(["COVID", "normal"]):
        for p in range(15):
            for s in range(3):
                names.append(f"archive/{cls}/patient_{c}{p:02d}/slice{s}.png")
                labels.append(c)
    labels = np.array(labels, dtype=np.int64)
    dataset = ImageDataset(
        "scans", np.zeros((len(names), 8, 8, 1), np.uint8), labels, ["COVID", "normal"], names
    )
    groups = dataset.groups
    assert groups is not None and len(set(groups)) == 30
    assert dataset.group_name.startswith("patient folder")
    split = split_records(labels, "binary", ModelSpec(seed=1), groups, dataset.group_name)
    owners = [set(groups[p]) for p in _parts(split)]
    assert not owners[0] & owners[1] and not owners[0] & owners[2] and not owners[1] & owners[2]
    # Images directly inside their class folders stand alone (the class is not a group).
    flat = ImageDataset(
        "flat",
        np.zeros((6, 8, 8, 1), np.uint8),
        labels[:6],
        ["COVID", "normal"],
        [f"COVID/{i}.png" for i in range(6)],
    )
    assert flat.groups is None


def test_cross_validation_folds_keep_patients_together(monkeypatch):
    from types import SimpleNamespace

    import dlcore.training.fit as fit
    from dlcore.training.cv import cross_validate

    frame = _admissions(seed=5)
    dataset = Dataset("admissions", frame, infer_schema(frame, "readmitted"))
    groups = prepare_data(dataset).groups
    seen = []

    def fake_train(dataset, spec, split=None, should_stop=None):
        seen.append(split)
        return SimpleNamespace(cancelled=True)  # look at the first fold, then stop

    monkeypatch.setattr(fit, "train", fake_train)
    for seed in range(3):
        cross_validate(dataset, ModelSpec(epochs=1, seed=seed), folds=5, repeats=1)
    assert len(seen) == 3
    for split in seen:
        owners = [set(groups[p]) for p in _parts(split)]
        assert not owners[0] & owners[2] and not owners[1] & owners[2] and not owners[0] & owners[1]
        assert abs(len(split.test) - len(frame) / 5) < 0.05 * len(frame)


def _dicom_bytes(patient: str, series: str) -> bytes:
    import io

    import pydicom
    from pydicom.data import get_testdata_file

    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm", download=False))
    ds.PatientID, ds.SeriesInstanceUID = patient, series
    buffer = io.BytesIO()
    ds.save_as(buffer)
    return buffer.getvalue()


def test_dicom_files_of_one_patient_share_a_group_without_keeping_the_id():
    import io
    import zipfile

    from dlcore.data.images import read_images

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for c, cls in enumerate(["covid", "normal"]):
            for p in range(6):
                for s in range(2):  # two series (files) per patient, each in the class folder
                    member = f"{cls}/img_{c}{p}{s}.dcm"
                    archive.writestr(member, _dicom_bytes(f"PAT{c}{p}", f"1.2.3.{c}.{p}.{s}"))
    dataset = read_images(buffer.getvalue(), "scans.zip", size=16)
    assert len(dataset.images) == 24
    groups = dataset.groups
    assert groups is not None and len(set(groups)) == 12
    assert dataset.group_name.startswith("DICOM patient")
    assert not any("PAT" in str(g) for g in groups)  # a keyed hash, never the id
    info = next(iter(dataset.dicom.values()))
    assert "PAT" not in str(info)


def test_a_placeholder_patient_id_falls_back_to_the_series():
    import io
    import zipfile

    from dlcore.data.images import read_images

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for c, cls in enumerate(["a", "b"]):
            for p in range(4):
                archive.writestr(f"{cls}/x{p}.dcm", _dicom_bytes("ANON", f"1.2.9.{c}.{p}"))
    dataset = read_images(buffer.getvalue(), "anon.zip", size=16)
    assert dataset.group_name.startswith("DICOM series")
    assert dataset.groups is None  # one image per series: every image stands alone
