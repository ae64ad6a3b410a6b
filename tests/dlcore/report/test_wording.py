"""Numbers and labels as a clinician reads them (issue 14 #15, #17)."""

from __future__ import annotations

import numpy as np

from dlcore.report.wording import (
    NUMBERS_HELP,
    input_label,
    is_binary_range,
    number_text,
    percent_text,
    points_text,
    split_unit,
)


def test_number_text_never_uses_exponents_for_clinical_values():
    assert number_text(265000.0) == "265,000"
    assert number_text(263358.03) == "263,358"
    assert number_text(np.float32(1.9)) == "1.9"
    assert number_text(50.0) == "50"
    assert number_text(np.int64(3)) == "3"
    assert number_text(0.0042) == "0.0042"
    assert number_text(float("nan")) == "missing"
    assert number_text("female") == "female"


def test_percent_and_points():
    assert percent_text(0.9996) == "> 99%"
    assert percent_text(0.001) == "< 1%"
    assert percent_text(0.321) == "32%"
    assert percent_text(0.042) == "4.2%"
    assert points_text(0.213) == "+21 points"
    assert points_text(-0.004) == "−0.4 points"
    assert points_text(0.00001) == "0 points"


def test_units_and_binary_inputs():
    assert split_unit("Creatinine (mg/dL)") == ("Creatinine", "mg/dL")
    assert split_unit("serum_sodium") == ("serum_sodium", "mEq/L")
    assert input_label("serum_creatinine") == "serum creatinine (mg/dL)"
    assert input_label("Glucose [mmol/L]") == "Glucose (mmol/L)"
    assert input_label("anaemia") == "anaemia"
    assert is_binary_range(0, 1, 0) and is_binary_range(0.0, 1.0, 1.0)
    assert not is_binary_range(0, 1, 0.37)  # a continuous 0–1 score
    assert not is_binary_range(0, 3, 1)


def test_numbers_help_covers_the_five_ideas():
    for idea in ("Probability", "threshold", "Calibration", "Confidence interval", "SHAP points"):
        assert idea in NUMBERS_HELP
