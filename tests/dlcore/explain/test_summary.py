"""Explanations of the probability the page shows (issue 14 #3, #15): recalibrated shares that
add up, sentences that say which probability they explain, values written as clinicians read them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dlcore.evaluate.calibration import Recalibrator
from dlcore.explain.summary import on_shown_probability, probability_name, summarize
from dlcore.explain.tabular import Explanation


def explanation(outputs=(0.76, 0.2), base=0.4) -> Explanation:
    """Two records, three features, additive by construction on the network's output."""
    outputs = np.asarray(outputs, dtype=float)[:, None]
    shares = np.array([[0.5, 0.3, 0.2], [-0.6, -0.5, 0.1]])
    change = outputs[:, 0] - base
    values = (shares / shares.sum(axis=1, keepdims=True) * change[:, None])[:, :, None]
    data = pd.DataFrame(
        {"platelets": [265000.0, 1.5e5], "serum_creatinine": [1.9, 1.0], "smoking": [1.0, 0.0]}
    )
    return Explanation(
        values=values,
        base_values=np.array([base]),
        outputs=outputs,
        features=list(data.columns),
        output_names=["P(malignant)"],
        data=data,
        method="deep",
        task="binary",
    )


def test_recalibrated_explanation_adds_up_to_the_shown_probability():
    raw = explanation()
    recalibrator = Recalibrator(method="temperature", temperature=2.0)
    shown = on_shown_probability(raw, recalibrator)
    expected = recalibrator.apply(raw.outputs)
    assert np.allclose(shown.outputs, expected)
    assert abs(float(shown.outputs[0, 0]) - float(raw.outputs[0, 0])) > 0.05  # really moved
    assert shown.additivity_error < 1e-9
    assert np.array_equal(np.sign(shown.values), np.sign(raw.values))  # same direction
    assert shown.scale == "shown" and raw.scale == "network"
    text = summarize(shown, 0)
    assert text.startswith(f"Predicted probability of malignant: {expected[0, 0] * 100:.0f}%")
    assert "76%" not in text  # never the raw output beside the calibrated one
    assert probability_name(shown) == "the probability shown on the page"


def test_an_unconverted_explanation_says_it_explains_the_network_output():
    text = summarize(explanation(), 0)
    assert text.startswith("Network's own output for malignant (before recalibration): 76%")
    # no recalibration: the page's probability is the network's own, and says so plainly
    plain = summarize(on_shown_probability(explanation(), Recalibrator()), 0)
    assert plain.startswith("Predicted probability of malignant: 76%")


def test_values_and_probabilities_are_written_clinically():
    text = summarize(on_shown_probability(explanation(outputs=(0.9996, 0.2))), 0)
    assert "platelets = 265,000" in text
    assert "e+05" not in text
    assert "> 99%" in text and "100%" not in text
    assert " points)" in text
