"""The linear skip (spec.linear_skip, wide & deep): the output layer also sees the encoded inputs."""

from __future__ import annotations

import numpy as np
import pytest

from dlcore.data import Dataset, infer_schema
from dlcore.data.synthetic import make_cohort
from dlcore.errors import InvalidSpecError
from dlcore.models.common import CORE_MODEL
from dlcore.models.spec import ModelSpec, check_spec

SKIP = dict(hidden_units=[4], epochs=1, batch_size=32, seed=1, linear_skip=True)


@pytest.fixture(scope="module")
def cohort() -> Dataset:
    """A small synthetic cohort: numeric, categorical and missing values (13 encoded columns)."""
    frame = make_cohort(160, seed=12)
    return Dataset("small cohort", frame, infer_schema(frame, "outcome"))


@pytest.fixture(scope="module")
def skip_result(cohort):
    from dlcore.training.fit import train

    return train(cohort, ModelSpec(**SKIP))


def _inputs(layout, dataset, positions):
    from dlcore.models.layouts import to_model_inputs
    from dlcore.training.fit import prepare_data

    return to_model_inputs(layout, prepare_data(dataset).features.iloc[positions])


def test_spec_without_the_key_loads_with_the_skip_off():
    data = ModelSpec().to_dict()
    assert data["linear_skip"] is False
    del data["linear_skip"]  # a spec saved before the option existed
    assert ModelSpec.from_dict(data).linear_skip is False
    again = ModelSpec.from_json(ModelSpec(linear_skip=True).to_json())
    assert again.linear_skip is True


def test_skip_is_validated():
    with pytest.raises(InvalidSpecError, match="linear_skip"):
        check_spec(ModelSpec(linear_skip="yes"))
    check_spec(ModelSpec(linear_skip=True, ensemble=2))  # ensembles merge the skip too


def test_output_layer_sees_hidden_units_and_inputs(skip_result):
    core = skip_result.model.get_layer(CORE_MODEL)
    names = [layer.name for layer in core.layers]
    assert names[-2:] == ["linear_skip", "probability"]
    width = int(core.inputs[0].shape[-1])
    kernel = core.get_layer("probability").get_weights()[0]
    assert kernel.shape == (4 + width, 1)
    assert core.get_layer("probability").activation.__name__ == "sigmoid"


def test_skip_model_reloads_and_predicts_the_same(skip_result, cohort, tmp_path):
    from dlcore.models import layers  # noqa: F401  (dlcore's layers, for safe loading)
    from dlcore.models.keras_runtime import import_keras
    from dlcore.models.tabular import run_model

    path = tmp_path / "skip.keras"
    skip_result.model.save(path)
    again = import_keras().saving.load_model(path, safe_mode=True, compile=False)
    inputs = _inputs(skip_result.layout, cohort, skip_result.split.test)
    before, after = run_model(skip_result.model, inputs), run_model(again, inputs)
    assert before.shape == (len(skip_result.split.test), 1)
    np.testing.assert_allclose(after, before, atol=1e-6)


def test_merged_members_average_the_log_odds(cohort):
    from dlcore.models.layouts import make_layout
    from dlcore.models.tabular import build_tabular_model, merge_tabular_members, run_model
    from dlcore.training.fit import prepare_data

    spec = ModelSpec(**SKIP | {"hidden_units": [3, 2]})
    data = prepare_data(cohort)
    layout = make_layout(cohort.schema, data.features, data.kinds)
    features, y = data.features, data.y
    members = []
    for seed in (1, 2):
        member = ModelSpec(**SKIP | {"hidden_units": [3, 2], "seed": seed})
        model = build_tabular_model(member, layout, features, y)
        core = model.get_layer(CORE_MODEL)
        kernel, bias = core.get_layer("probability").get_weights()
        rng = np.random.default_rng(seed)  # members that differ in every output weight
        core.get_layer("probability").set_weights([rng.normal(size=kernel.shape), bias + seed])
        members.append(model)
    merged = merge_tabular_members(members, spec, layout, features, y)
    inputs = _inputs(layout, cohort, np.arange(40))

    def logit(p):
        p = np.clip(p, 1e-7, 1 - 1e-7)
        return np.log(p / (1 - p))

    expected = np.mean([logit(run_model(m, inputs)) for m in members], axis=0)
    np.testing.assert_allclose(logit(run_model(merged, inputs)), expected, atol=1e-4)


def test_ensemble_of_two_trains_and_saves(cohort, tmp_path):
    from dlcore.models import layers  # noqa: F401
    from dlcore.models.keras_runtime import import_keras
    from dlcore.models.tabular import run_model
    from dlcore.training.fit import train

    result = train(cohort, ModelSpec(**SKIP | {"ensemble": 2}))
    core = result.model.get_layer(CORE_MODEL)
    width = int(core.inputs[0].shape[-1])
    assert core.get_layer("dense_1").get_weights()[0].shape == (width, 8)
    assert core.get_layer("probability").get_weights()[0].shape == (8 + width, 1)
    path = tmp_path / "ensemble.keras"
    result.model.save(path)
    again = import_keras().saving.load_model(path, safe_mode=True, compile=False)
    inputs = _inputs(result.layout, cohort, result.split.test)
    np.testing.assert_allclose(run_model(again, inputs), run_model(result.model, inputs), atol=1e-6)


def test_shap_values_add_up_with_the_skip(skip_result, cohort):
    from dlcore.explain.tabular import TabularExplainer, deep_supported

    assert deep_supported(skip_result.model)
    background = cohort.frame.iloc[skip_result.split.train]
    explainer = TabularExplainer(skip_result.model, skip_result.layout, background)
    explanation = explainer.explain(cohort.frame.iloc[skip_result.split.test[:10]])
    assert explanation.method == "deep"
    assert explanation.values.shape == (10, len(skip_result.layout.names), 1)
    assert explanation.additivity_error <= 1e-4


def test_preview_shows_the_skip(cohort, skip_result):
    from dlcore.models.tabular import architecture_preview

    plain = architecture_preview(ModelSpec(hidden_units=[4]), cohort.schema, cohort.frame)
    rows = architecture_preview(ModelSpec(**SKIP), cohort.schema, cohort.frame)
    width = int(plain[1]["output_shape"].split(", ")[1].rstrip(")"))
    assert [r["layer"] for r in rows][-2:] == ["linear_skip", "output"]
    assert rows[-2]["output_shape"] == f"(batch, {4 + width})"
    assert rows[-1]["parameters"] == plain[-1]["parameters"] + width
    assert sum(r["parameters"] for r in rows) == skip_result.model.count_params()
