"""The Data page acts on what the engine notices: a leaking column arrives unticked with its
reason, and the patient grouping is shown and can be changed."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
from apptools import healthy, open_page, widget


def _admissions_csv() -> bytes:
    rng = np.random.default_rng(0)
    patient = np.repeat([f"S{1000 + i}" for i in range(60)], 2)
    n = len(patient)
    lactate = rng.gamma(2, 1, n).round(1)
    frame = pd.DataFrame(
        {
            "subject_id": patient,
            "lactate": lactate,
            "age": rng.integers(40, 90, n),
            "los": rng.gamma(3, 2, n).round(1),
            "outcome": (rng.random(n) < 1 / (1 + np.exp(-(lactate - 2)))).astype(int),
        }
    )
    return frame.to_csv(index=False).encode()


def test_leak_unticked_with_reason_and_patients_grouped():
    at = open_page("data")
    upload = at.file_uploader(key="data_upload")
    healthy(upload.set_value(("admissions.csv", _admissions_csv(), "text/csv")).run())
    group = widget(at.selectbox, "Records of one patient")
    assert group.value == "subject_id"
    assert any("identifies patients" in c.value for c in at.caption)
    schema = _schema(at)
    assert schema.column("los").role == "excluded"
    assert schema.column("los").reason.startswith("possible leakage")
    assert "los" not in schema.feature_names
    healthy(group.select_index(0).run())  # "none: every row is a different patient"
    assert widget(at.selectbox, "Records of one patient").value is None
    assert _schema(at).group_column is None


def _schema(at):
    draft = at.session_state["data_draft"]
    return draft["schema"] if "schema" in draft else draft["dataset"].schema


def test_train_page_names_what_training_will_leave_out(isolated_workspace):
    import io

    from dlcore.data import Dataset, infer_schema, update_columns
    from dlcore.data.catalog import save_dataset

    frame = pd.read_csv(io.BytesIO(_admissions_csv()))
    frame["discharge_location"] = np.where(frame["outcome"] == 1, "DEAD/EXPIRED", "HOME")
    schema = infer_schema(frame, "outcome")
    update_columns(schema, included={"los": True}, frame=frame)
    dataset_id = save_dataset(Dataset("admissions", frame, schema))
    at = open_page("train")
    healthy(widget(at.selectbox, "Dataset").set_value(dataset_id).run())
    captions = [c.value for c in at.caption]
    assert "Left out as possible leakage: discharge_location." in captions
    assert any(c.startswith("Split by patient: each 'subject_id'") for c in captions)
    assert any("flagged as possible leakage: los" in w.value for w in at.warning)


def test_predict_names_the_outcome_never_probability_of_1(isolated_workspace, cohort_dataset):
    from apptools import metrics

    from dlcore.data import Dataset
    from dlcore.models.spec import ModelSpec
    from dlcore.training.pipeline import train_and_register

    fresh = Dataset("cohort", cohort_dataset.frame, copy.deepcopy(cohort_dataset.schema))
    outcome = train_and_register(fresh, ModelSpec(hidden_units=[8], epochs=1, seed=0))
    at = open_page("predict")
    healthy(widget(at.selectbox, "Model").set_value(outcome.record.id).run())
    healthy(next(b for b in at.button if b.label == "Predict").click().run())
    shown = [k for k in metrics(at) if k.startswith("Probability of")]
    assert shown == ["Probability of outcome"], list(metrics(at))
