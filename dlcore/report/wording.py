"""Words and number formats for clinicians, written once for every page, the card and the CLI:
the "what the numbers mean" help, probabilities and feature values as a clinician reads them,
and the units of a column."""

from __future__ import annotations

import math
import re
import sys
from typing import Any

NUMBERS_HELP_TITLE = "What the numbers mean"

NUMBERS_HELP = """\
**Probability.** The model's estimate of how likely the outcome is for this patient, from 0% to
100%, learned from the patients it was trained on. A probability of 30% means: among many
patients like this one, about 3 in 10 had the outcome.

**Decision and threshold.** The decision (for example *malignant* or *benign*) is the probability
compared with a cut-off, the **threshold**. At or above it the decision is positive. The threshold
is a choice, not a fact about the patient: a lower one misses fewer patients with the outcome
(higher sensitivity) but raises more false alarms (lower specificity). The page names the
threshold it uses and where it comes from.

**Calibration.** A model is well calibrated when its probabilities match what happens: of the
patients given 20%, about 20% have the outcome. Networks are often over-confident; a
**recalibrated** probability has been corrected on patients the model did not learn from. The
page says whether the probability you see is recalibrated.

**Confidence interval (CI).** A performance figure measured on a limited test group is uncertain.
The 95% CI is the range the true value plausibly lies in; a wide interval means few patients
and a less certain figure.

**SHAP points.** An explanation splits this patient's probability into a starting point (the
average over reference patients from training) and one share per input. Each share is in
**percentage points of the probability shown**: "+5 points" means that value raised the
probability by 5 points (for example from 20% to 25%). The shares add up to the probability.
They describe how the model uses the inputs, not what causes the disease.
"""


def percent_text(probability: float) -> str:
    """A probability as a clinician reads it: '32%', '4.2%', '> 99%' and '< 1%' at the ends
    (a network's 99.97% is not certainty), '—' when missing."""
    if probability is None or not math.isfinite(float(probability)):
        return "—"
    p = float(probability)
    if p >= 0.995:
        return "> 99%"
    if p < 0.005:
        return "< 1%"
    if p < 0.1:
        return f"{p * 100:.1f}%"
    return f"{p * 100:.0f}%"


def points_text(change: float, *, signed: bool = True) -> str:
    """A change of probability in percentage points: '+21 points', '−0.4 points'."""
    value = float(change) * 100
    digits = 0 if abs(value) >= 9.5 else 1
    text = f"{abs(value):.{digits}f}"
    if float(text) == 0:
        return "0 points"
    sign = ("+" if value > 0 else "−") if signed else ""
    return f"{sign}{text} points"


def number_text(value: Any) -> str:
    """A measured value for people: '265,000', '1.9', '0.0042', never '2.65e+05'; whole
    numbers without '.0'; text unchanged; 'missing' for a missing value."""
    if value is None:
        return "missing"
    # numpy is not imported for this (the first page loads this module and no numpy): a numpy
    # value can only exist once numpy has been imported by someone else.
    numpy = sys.modules.get("numpy")
    if isinstance(value, bool) or (numpy is not None and isinstance(value, numpy.bool_)):
        return "yes" if value else "no"
    if isinstance(value, int) or (numpy is not None and isinstance(value, numpy.integer)):
        return f"{int(value):,}"
    if isinstance(value, float) or (numpy is not None and isinstance(value, numpy.floating)):
        v = float(value)
        if not math.isfinite(v):
            return "missing"
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        magnitude = abs(v)
        if magnitude >= 1000:
            return f"{v:,.0f}"
        if magnitude >= 1:
            return f"{v:.4g}"
        if magnitude >= 1e-4:
            return f"{v:.3g}"
        return f"{v:.2e}"
    return str(value)


_UNIT_IN_HEADER = re.compile(r"^(?P<name>.*?)\s*[\(\[](?P<unit>[^\)\]]{1,24})[\)\]]\s*$")
# Units of columns common in clinical tables, by name (lower case, spaces as underscores).
KNOWN_UNITS = {
    "age": "years",
    "ejection_fraction": "%",
    "serum_creatinine": "mg/dL",
    "creatinine": "mg/dL",
    "serum_sodium": "mEq/L",
    "sodium": "mEq/L",
    "creatinine_phosphokinase": "mcg/L",
    "platelets": "platelets/mL",
    "glucose": "mg/dL",
    "avg_glucose_level": "mg/dL",
    "bmi": "kg/m²",
    "blood_pressure": "mmHg",
    "trestbps": "mmHg",
    "chol": "mg/dL",
    "cholesterol": "mg/dL",
    "thalach": "beats/min",
    "insulin": "μU/mL",
    "skin_thickness": "mm",
    "skinthickness": "mm",
    "bloodpressure": "mmHg",
    "time": "days",
}


def split_unit(name: str) -> tuple[str, str | None]:
    """A column header's name and unit: 'Creatinine (mg/dL)' → ('Creatinine', 'mg/dL');
    otherwise the unit of a well-known column name (age → years), or None."""
    match = _UNIT_IN_HEADER.match(str(name))
    if match and match.group("name"):
        return match.group("name"), match.group("unit").strip()
    key = re.sub(r"[\s\-]+", "_", str(name).strip().lower())
    return str(name), KNOWN_UNITS.get(key)


def input_label(name: str) -> str:
    """A form label for a column: its name with its unit, underscores as spaces
    ('serum_creatinine' → 'serum creatinine (mg/dL)')."""
    base, unit = split_unit(name)
    shown = base.replace("_", " ").strip() or str(name)
    return f"{shown} ({unit})" if unit else shown


def is_binary_range(low: float | None, high: float | None, median: float | None) -> bool:
    """Whether a numeric input looks like a yes/no (0/1) column: training saw only 0 to 1 with
    a whole median (a continuous 0–1 score has a fractional median)."""
    if low is None or high is None or median is None:
        return False
    return float(low) == 0.0 and float(high) == 1.0 and float(median) in (0.0, 0.5, 1.0)


METRIC_NAMES = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "accuracy": "Accuracy",
    "sensitivity": "Sensitivity",
    "specificity": "Specificity",
    "ppv": "PPV",
    "npv": "NPV",
    "f1": "F1",
    "brier": "Brier score",
    "youden_threshold": "Youden threshold",
    "macro_auc": "Macro ROC AUC",
    "macro_f1": "Macro F1",
    "mae": "MAE",
    "rmse": "RMSE",
    "r2": "R²",
    "c_index": "C-index",
    "mean_auc": "Mean time-dependent AUC",
    "integrated_brier": "Integrated Brier score",
    "ece": "Expected calibration error",
}


def metric_name(key: str) -> str:
    """A metric's name for people ('roc_auc' → 'ROC AUC'; unknown keys with spaces)."""
    return METRIC_NAMES.get(str(key), str(key).replace("_", " "))
