"""A recalibration adopted on the validation split that turns out worse on the test split is
saved as decided, and said to be worse in the JSON result and the model card (issue 12)."""

from __future__ import annotations

from dlcore.evaluate import calibration
from dlcore.evaluate.calibration import RecalibrationDecision, Recalibrator


def test_a_recalibration_worse_on_test_is_kept_and_reported(breast_cancer, monkeypatch):
    from dlcore.models.spec import ModelSpec
    from dlcore.registry import load_model
    from dlcore.report.card import limitations
    from dlcore.training.pipeline import train_and_register

    def adopted_on_validation(y, p, method="temperature", **kwargs):
        # as if the cross-fitted validation log-loss had said a strong flattening helps
        decision = RecalibrationDecision(method, True, "lowered the validation log-loss", 0.5, 0.4)
        return Recalibrator(
            method, temperature=6.0, fitted_on="validation split", n=len(y)
        ), decision

    monkeypatch.setattr(calibration, "choose_recalibration", adopted_on_validation)
    spec = ModelSpec(hidden_units=[8], epochs=2, batch_size=32, seed=3)
    outcome = train_and_register(breast_cancer, spec, name="worse on test")
    decided = outcome.recalibration
    assert decided["adopted"] and not decided["refused"] and decided["worse_on_test"]
    assert decided["test_brier_after"] > decided["test_brier_before"]
    assert "worse than the network's own output" in decided["reason"]
    card = load_model(outcome.record.id).card
    assert card["calibration"]["method"] == "temperature"  # saved as decided on validation
    assert card["calibration"]["temperature"] == 6.0
    assert card["recalibration"]["worse_on_test"]
    notes = limitations(card, None)
    assert any("makes the held-out probabilities worse" in n for n in notes), notes
