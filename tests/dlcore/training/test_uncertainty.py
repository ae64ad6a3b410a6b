"""Per-patient uncertainty (Monte Carlo dropout) is wider for records outside the training range."""

from __future__ import annotations

import numpy as np
import pytest

from dlcore.data import Dataset, infer_schema
from dlcore.data.synthetic import make_risk_cohort
from dlcore.models.spec import ModelSpec, default_spec
from dlcore.predict import prediction_uncertainty
from dlcore.training.fit import train

NUMERIC = ["age_z", "marker_a", "marker_b", "unrelated"]


@pytest.fixture(scope="module")
def trained():
    frame = make_risk_cohort(800, seed=0).drop(columns=["true_risk"])
    spec = default_spec("binary", len(frame))
    spec.epochs = 30
    spec.ensemble = 1  # the spread is dropout's, within one network (5 members took 20 s more)
    return frame, train(Dataset("risks", frame, infer_schema(frame, target="event")), spec)


def test_out_of_range_records_get_a_wider_spread(trained):
    frame, result = trained
    inside = frame.drop(columns=["event"]).iloc[:40]
    outside = inside.copy()
    for column in NUMERIC:  # 4–8 standard deviations out, beyond every training value
        outside[column] = np.sign(inside[column]) * (4 + 4 * inside[column].abs())
    near = prediction_uncertainty(result.model, result.layout, inside)
    far = prediction_uncertainty(result.model, result.layout, outside)
    assert near is not None and far is not None and near.samples == 30
    assert np.median(far.spread) > 2 * np.median(near.spread)
    assert far.agree.mean() < near.agree.mean()
    assert np.all(near.low <= near.mean + 1e-9) and np.all(near.mean <= near.high + 1e-9)
    assert "disagree" in far.sentence(int(np.argmax(far.spread)))
    assert "(80% of runs)" in near.sentence(0)


def test_no_dropout_means_no_uncertainty(trained):
    frame, _ = trained
    spec = ModelSpec(hidden_units=[8], dropout=0.0, epochs=1)
    result = train(Dataset("risks", frame, infer_schema(frame, target="event")), spec)
    assert prediction_uncertainty(result.model, result.layout, frame.head(5)) is None
