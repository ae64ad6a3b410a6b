"""SHAP explanations: additive, in raw column names, the right algorithm, and safe for training."""

from __future__ import annotations

import numpy as np
import pytest

from dlcore.data import Dataset, infer_schema
from dlcore.data.synthetic import make_cohort
from dlcore.errors import UserError
from dlcore.explain.summary import on_shown_probability, summarize
from dlcore.explain.tabular import TabularExplainer, deep_supported
from dlcore.models.spec import ModelSpec
from dlcore.report.wording import percent_text
from dlcore.training.fit import train


@pytest.fixture(scope="module")
def binary_explainer(tiny_binary, breast_cancer):
    background = breast_cancer.frame.iloc[tiny_binary.result.split.train].sample(60, random_state=0)
    result = tiny_binary.result
    return TabularExplainer(result.model, result.layout, background)


@pytest.fixture(scope="module")
def binary_records(breast_cancer, tiny_binary):
    return breast_cancer.frame.iloc[tiny_binary.result.split.test[:20]]


@pytest.fixture(scope="module")
def binary_explanation(binary_explainer, binary_records):
    return binary_explainer.explain(binary_records)


@pytest.fixture(scope="module")
def small_cohort() -> Dataset:
    frame = make_cohort(160, seed=12)
    return Dataset("small cohort", frame, infer_schema(frame, "outcome"))


def test_deep_explanation_is_additive(binary_explainer, binary_explanation, tiny_binary):
    explanation = binary_explanation
    assert binary_explainer.method == "deep"
    assert explanation.method == "deep"
    assert explanation.values.shape == (20, 30, 1)
    assert explanation.outputs.shape == (20, 1)
    assert explanation.additivity_error <= 1e-4
    # the outputs are the model's own probabilities for these records
    from dlcore.predict import predict

    direct = predict(tiny_binary.result.model, tiny_binary.result.layout, explanation.data).output
    np.testing.assert_allclose(explanation.outputs, direct, atol=1e-5)
    assert 0 < float(explanation.base_values[0]) < 1


def test_contributions_are_in_raw_column_names(binary_explanation, tiny_binary):
    layout = tiny_binary.result.layout
    assert binary_explanation.features == layout.names
    assert "mean radius" in binary_explanation.features
    assert "mean_radius" not in binary_explanation.features
    assert list(binary_explanation.data.columns) == layout.names
    table = binary_explanation.contributions(0)
    assert list(table.columns) == ["feature", "value", "contribution"]
    assert len(table) == 30
    magnitudes = table["contribution"].abs().to_numpy()
    assert np.all(np.diff(magnitudes) <= 0)  # largest first
    total = table["contribution"].sum() + binary_explanation.base_values[0]
    assert total == pytest.approx(binary_explanation.outputs[0, 0], abs=1e-4)
    importance = binary_explanation.importance()
    assert importance["mean_abs_shap"].iloc[0] == pytest.approx(
        np.abs(binary_explanation.values).mean(axis=0).max()
    )


def test_categorical_model_explained_per_column(tiny_cohort, cohort_dataset):
    background = cohort_dataset.frame.iloc[tiny_cohort.split.train]
    explainer = TabularExplainer(tiny_cohort.model, tiny_cohort.layout, background)
    assert explainer.method == "deep"
    records = cohort_dataset.frame.iloc[tiny_cohort.split.test[:15]].copy()
    records.loc[records.index[0], "smoking"] = "vaping"  # unseen
    records.loc[records.index[1], "cholesterol"] = np.nan  # missing
    explanation = explainer.explain(records)
    assert explanation.features == ["age", "systolic_bp", "cholesterol", "sex", "smoking", "noise"]
    assert explanation.values.shape == (15, 6, 1)
    assert explanation.additivity_error <= 1e-4
    smoking = explanation.values[:, explanation.features.index("smoking"), 0]
    assert np.any(smoking != 0)
    first = explanation.contributions(0).set_index("feature")
    assert first.loc["smoking", "value"] == "vaping"
    second = explanation.contributions(1).set_index("feature")
    assert second.loc["cholesterol", "value"] == "missing"


def test_forced_permutation_is_additive(tiny_binary, breast_cancer, binary_records):
    result = tiny_binary.result
    background = breast_cancer.frame.iloc[result.split.train].sample(40, random_state=1)
    explainer = TabularExplainer(result.model, result.layout, background, method="permutation")
    explanation = explainer.explain(binary_records.head(5))
    assert explanation.method == "permutation"
    assert explanation.values.shape == (5, 30, 1)
    assert explanation.additivity_error <= 1e-4


def test_gelu_model_uses_permutation_automatically(small_cohort):
    result = train(small_cohort, ModelSpec(hidden_units=[8], activation="gelu", epochs=1, seed=1))
    assert not deep_supported(result.model)
    background = small_cohort.frame.iloc[result.split.train]
    explainer = TabularExplainer(result.model, result.layout, background)
    assert explainer.method == "permutation"
    explanation = explainer.explain(small_cohort.frame.iloc[result.split.test[:8]])
    assert explanation.method == "permutation"
    assert explanation.values.shape == (8, 6, 1)
    assert explanation.additivity_error <= 1e-4
    with pytest.raises(UserError, match="DeepExplainer"):
        TabularExplainer(result.model, result.layout, background, method="deep")


def test_deep_and_permutation_agree_on_the_top_features(
    binary_explainer, binary_explanation, tiny_binary, binary_records
):
    result = tiny_binary.result
    permutation = TabularExplainer(
        result.model, result.layout, binary_explainer.background, method="permutation"
    ).explain(binary_records.head(10))
    deep = binary_explanation.values[:10]
    deep_importance = np.abs(deep).mean(axis=0)[:, 0]
    names = np.array(binary_explanation.features)
    deep_top = set(names[np.argsort(-deep_importance)[:3]])
    permutation_top = set(permutation.importance()["feature"].head(3))
    assert len(deep_top & permutation_top) >= 2
    # and on the sign of the top feature's contributions, record by record
    j = int(np.argmax(deep_importance))
    deep_values, perm_values = deep[:, j, 0], permutation.values[:, j, 0]
    clear = np.abs(deep_values) > 0.01
    assert np.mean(np.sign(deep_values[clear]) == np.sign(perm_values[clear])) >= 0.8


def test_summary_text(binary_explanation):
    text = summarize(on_shown_probability(binary_explanation), 0)
    assert text.startswith("Predicted probability of malignant:")
    assert "Raises it" in text or "Lowers it" in text
    top = binary_explanation.contributions(0)["feature"].iloc[0]
    assert top in text
    assert percent_text(binary_explanation.outputs[0, 0]) in text


def test_regression_explanation_is_additive(tiny_regression, diabetes):
    result = tiny_regression.result
    background = diabetes.frame.iloc[result.split.train]
    explainer = TabularExplainer(result.model, result.layout, background)
    explanation = explainer.explain(diabetes.frame.iloc[result.split.test[:20]])
    assert explanation.values.shape == (20, 10, 1)
    scale = float(np.abs(explanation.outputs).max())
    assert scale > 1  # in the outcome's own units
    assert explanation.additivity_error <= 1e-3
    assert "sex" in explanation.features  # a categorical, summed back to its column
    assert summarize(explanation, 0).startswith("Predicted progression:")


def test_multiclass_explanation(small_cohort):
    frame = make_cohort(160, seed=13, task="multiclass")
    dataset = Dataset("grades", frame, infer_schema(frame, "outcome"))
    result = train(dataset, ModelSpec(hidden_units=[4], epochs=1, seed=1))
    explainer = TabularExplainer(result.model, result.layout, frame.iloc[result.split.train])
    explanation = explainer.explain(frame.head(6))
    assert explanation.values.shape == (6, 6, 3)
    assert explanation.additivity_error <= 1e-4
    k = explanation.output_index(0)
    assert k == int(np.argmax(explanation.outputs[0]))
    assert f"Most likely class: {result.layout.classes[k]}" in summarize(explanation, 0)


def test_empty_background_is_refused(tiny_binary, breast_cancer):
    result = tiny_binary.result
    with pytest.raises(UserError, match="reference records"):
        TabularExplainer(result.model, result.layout, breast_cancer.frame.iloc[:0])
    with pytest.raises(UserError, match="unknown"):
        TabularExplainer(result.model, result.layout, breast_cancer.frame, method="kernel")


def test_training_still_works_after_deep_explainer(binary_explanation, small_cohort):
    from tensorflow.python.eager import execute as tf_execute

    assert binary_explanation.method == "deep"  # DeepExplainer has run in this process
    assert "shap" not in getattr(tf_execute.record_gradient, "__module__", "")
    result = train(small_cohort, ModelSpec(hidden_units=[4], epochs=1, seed=3))
    assert result.epochs_run == 1
    assert np.isfinite(result.history["loss"][0])


def test_fallback_is_per_call_and_leaves_the_shared_explainer_alone(
    tiny_binary, breast_cancer, binary_records
):
    """One non-additive DeepExplainer call falls back to permutation for that call only: the
    process-wide cached explainer keeps its method, and the next call uses DeepExplainer again."""
    background = breast_cancer.frame.iloc[tiny_binary.result.split.train].sample(8, random_state=1)
    explainer = TabularExplainer(tiny_binary.result.model, tiny_binary.result.layout, background)
    assert explainer.method == "deep"
    honest = explainer._explain_deep
    calls = {"n": 0}

    def broken_once(features):
        calls["n"] += 1
        explanation = honest(features)
        if calls["n"] == 1:
            explanation.values = explanation.values + 1.0  # not additive any more
        return explanation

    explainer._explain_deep = broken_once
    records = binary_records.iloc[:1]
    first = explainer.explain(records)
    assert first.method == "permutation"
    assert first.fallback is not None and "permutation" in first.fallback
    assert first.additivity_error <= 1e-3
    assert explainer.method == "deep"
    second = explainer.explain(records)
    assert calls["n"] == 2
    assert second.method == "deep"
    assert second.fallback is None
    np.testing.assert_allclose(second.outputs, first.outputs, atol=1e-5)
