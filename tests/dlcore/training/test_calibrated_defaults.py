"""Default training gives probabilities that are risks (a simulated table with known risks)."""

from __future__ import annotations

import numpy as np
import pytest

from dlcore.data import Dataset, infer_schema
from dlcore.data.synthetic import make_risk_cohort
from dlcore.evaluate.calibration import calibration_report
from dlcore.models.spec import ModelSpec, default_spec
from dlcore.predict import predict
from dlcore.training.fit import train
from dlcore.training.pipeline import calibrate_on_validation


@pytest.fixture(scope="module")
def fresh_patients():
    """20,000 new patients from the same population: an ECE with little sampling noise."""
    return make_risk_cohort(20_000, seed=99)


def _risks(class_weighting: str, fresh) -> tuple[np.ndarray, object]:
    frame = make_risk_cohort(5000, seed=0).drop(columns=["true_risk"])
    dataset = Dataset("known risks", frame, infer_schema(frame, target="event"))
    spec = default_spec("binary", len(frame))
    spec.class_weighting = class_weighting
    spec.epochs = 25
    result = train(dataset, spec)
    recalibrator, _ = calibrate_on_validation(result)
    output = predict(result.model, result.layout, fresh.drop(columns=["event", "true_risk"])).output
    return np.asarray(recalibrator.apply(output))[:, 0], result


def test_spec_defaults_do_not_weight_classes():
    assert ModelSpec().class_weighting == "none"
    assert default_spec("binary", 300).class_weighting == "none"
    assert default_spec("multiclass", 3000).class_weighting == "none"


@pytest.mark.parametrize("class_weighting", ["none", "balanced"])
def test_default_risks_are_calibrated_at_n_5000(class_weighting, fresh_patients):
    p, result = _risks(class_weighting, fresh_patients)
    report = calibration_report(fresh_patients["event"].to_numpy(), p)
    assert report.ece <= 0.03, report
    assert abs(report.calibration_in_the_large) <= 0.2
    assert abs(p.mean() - fresh_patients["true_risk"].mean()) < 0.02
    if class_weighting == "balanced":
        # the prior shift is in the saved model: its mean risk is the prevalence, not 50%
        assert result.prior_correction is not None
        assert result.prior_correction["log_odds_shift"][0] < -1.0
    else:
        assert result.prior_correction is None
