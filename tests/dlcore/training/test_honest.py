"""The test and validation splits run through the network a chunk of records at a time."""

from __future__ import annotations

import numpy as np


def test_a_split_runs_through_the_network_in_chunks_with_the_same_outputs(tiny_cohort, monkeypatch):
    """Issue 15: a whole split's features were copied at once (float64, then float32); in
    chunks the outputs are the same, in the records' order."""
    from dlcore.models.tabular import run_model
    from dlcore.training import honest

    result = tiny_cohort
    part = np.random.default_rng(0).permutation(len(result.data.y))[:300]
    whole = run_model(result.model, result.layout.inputs(result.data.features.iloc[part]))
    calls = []

    def counted(model, inputs, *args, **kwargs):
        calls.append(len(next(iter(inputs.values()))))
        return run_model(model, inputs, *args, **kwargs)

    monkeypatch.setattr(honest, "run_model", counted)
    monkeypatch.setattr(honest, "OUTPUT_CHUNK", 64)
    chunked = honest.split_output(result, part)
    assert calls == [64, 64, 64, 64, 44]
    assert chunked.shape == whole.shape == (300, 1)
    np.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-6)
    calls.clear()
    monkeypatch.setattr(honest, "OUTPUT_CHUNK", 32_768)
    np.testing.assert_array_equal(honest.split_output(result, part), whole)
    assert calls == [300]


def test_baselines_fitted_before_the_summary_give_the_same_summary(tiny_cohort):
    """The pipeline fits the baselines right after training (issue 15: after evaluation they
    were the run's memory peak); the summary is the same as when it fits them itself."""
    from dlcore.training.honest import honest_summary, split_baselines

    fitted = split_baselines(tiny_cohort, resamples=50)
    assert [b.name for b in fitted[0]] == ["logistic", "boosting"] and fitted[1] > 0
    early = honest_summary(tiny_cohort, resamples=50, fitted=fitted)
    itself = honest_summary(tiny_cohort, resamples=50)

    def without_seconds(summary):
        return [{k: v for k, v in b.items() if k != "seconds"} for b in summary["baselines"]]

    assert without_seconds(early) == without_seconds(itself)
    assert early["baseline_comparison"] == itself["baseline_comparison"]
    assert early["metrics_ci"] == itself["metrics_ci"]
    assert early["baselines_s"] >= fitted[1]
