"""A deep ensemble is saved as one ordinary network equal to its members' average log-odds."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from dlcore.data import Dataset, infer_schema
from dlcore.data.synthetic import make_cohort
from dlcore.models.layouts import make_layout
from dlcore.models.spec import ModelSpec, check_spec
from dlcore.models.tabular import build_tabular_model, run_model
from dlcore.training.fit import merge_members, prepare_data, train


@pytest.mark.parametrize("task", ["binary", "regression", "multiclass"])
def test_merged_network_equals_the_average_of_its_members(task):
    frame = make_cohort(120, seed=1, task=task).drop(columns=["patient_id", "name", "email"])
    target = "length_of_stay" if task == "regression" else "outcome"
    dataset = Dataset("c", frame, infer_schema(frame, target=target))
    data = prepare_data(dataset)
    layout = make_layout(dataset.schema, data.features, data.kinds)
    spec = ModelSpec(hidden_units=[6, 4], dropout=0.1, batch_norm=task == "regression")
    members = []
    for seed in range(3):
        member_spec = copy.deepcopy(spec)
        member_spec.seed = seed
        members.append(build_tabular_model(member_spec, layout, data.features, data.y))
    merged = merge_members(members, spec, layout, data.features, data.y)
    inputs = layout.inputs(data.features)
    outputs = np.stack([run_model(m, inputs) for m in members])
    got = run_model(merged, inputs)
    if task == "binary":
        logits = np.log(outputs / (1 - outputs)).mean(axis=0)
        expected = 1 / (1 + np.exp(-logits))
    elif task == "multiclass":
        logits = np.log(outputs).mean(axis=0)
        expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    else:
        expected = outputs.mean(axis=0)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    assert merged.get_layer("core").get_layer("dense_1").units == 18


def test_training_an_ensemble_gives_one_wider_network():
    frame = make_cohort(200, seed=2).drop(columns=["patient_id", "name", "email"])
    dataset = Dataset("c", frame, infer_schema(frame, target="outcome"))
    spec = check_spec(ModelSpec(hidden_units=[8], epochs=2, ensemble=3), "binary")
    events = []
    result = train(dataset, spec, on_event=events.append)
    assert result.model.get_layer("core").get_layer("dense_1").units == 24
    assert result.timings["ensemble_members"] == 3
    assert [e.kind for e in events].count("start") == 1
    fractions = [e.fraction for e in events if e.kind == "epoch"]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert fractions[1] == pytest.approx(1 / 3)  # member 1's last epoch is a third of the run
