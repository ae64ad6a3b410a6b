"""The card and the recalibration's description never call a worse recalibration calibrated,
and never ask to "recalibrate" when one was saved or refused (issue 14 #16)."""

from __future__ import annotations

from types import SimpleNamespace

from dlcore.evaluate.calibration import Recalibrator
from dlcore.report.card import limitations

RECALIBRATE = "recalibrate before reading them as risks"


def miscalibrated_report():
    """A binary report whose probabilities are clearly miscalibrated (slope 0.5)."""
    calibration = SimpleNamespace(slope=0.5, calibration_in_the_large=0.4, brier=0.2, ece=0.1)
    return SimpleNamespace(task="binary", n=500, source="external cohort", calibration=calibration)


def test_the_card_asks_to_recalibrate_only_when_nothing_was_tried():
    notes = limitations({}, miscalibrated_report())
    assert any(RECALIBRATE in n for n in notes)


def test_a_saved_recalibration_is_not_told_to_recalibrate():
    card = {
        "calibration": {
            "method": "temperature",
            "held_out_brier_before": 0.20,
            "held_out_brier_after": 0.18,
        }
    }
    notes = limitations(card, miscalibrated_report())
    assert not any(RECALIBRATE in n for n in notes), notes
    assert any("after the saved temperature recalibration" in n for n in notes)
    assert not any("worse" in n for n in notes)


def test_a_refused_recalibration_is_not_told_to_recalibrate():
    card = {"recalibration": {"refused": True, "reason": "it made the Brier score worse"}}
    notes = limitations(card, miscalibrated_report())
    assert not any(RECALIBRATE in n for n in notes), notes
    assert any("network's own output" in n and "made them worse" in n for n in notes)


def test_a_worse_saved_recalibration_is_named_worse_never_calibrated():
    worse = {"method": "isotonic", "held_out_brier_before": 0.150, "held_out_brier_after": 0.170}
    notes = limitations({"calibration": worse}, miscalibrated_report())
    said = [n for n in notes if "makes the held-out probabilities worse" in n]
    assert said == [
        "The saved isotonic recalibration makes the held-out probabilities worse (Brier score "
        "0.150 without it, 0.170 with it): they are not better calibrated than the network's own "
        "output."
    ]
    assert not any(RECALIBRATE in n for n in notes)
    text = Recalibrator.from_dict({**worse, "fitted_on": "validation split", "n": 40}).describe()
    assert text.endswith("worse than the network's own output)")
    better = Recalibrator.from_dict(
        {**worse, "held_out_brier_after": 0.12, "fitted_on": "validation split", "n": 40}
    ).describe()
    assert "worse" not in better
