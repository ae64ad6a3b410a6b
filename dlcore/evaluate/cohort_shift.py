"""An external cohort compared with the training data, feature by feature, before its metrics are read.

For each model input the report gives the missing share (external and training), whether the
column is constant or all zero in the cohort (a zero on every record usually means "not measured",
and is then not called "outside the training range"), the share of values outside the training
range, and a shift measure: the standardised mean difference (SMD) for numbers, the population
stability index (PSI) for categories. One sentence says whether the metrics measured on the cohort
can be trusted to describe the model on such patients.

Thresholds (common practice in cohort comparisons and credit-score monitoring):

- missing: flagged at ``HIGH_MISSING`` (50%) or ``MISSING_RISE`` (20 points) above training;
- SMD: ``SMD_MODERATE`` 0.2 (shifted), ``SMD_LARGE`` 0.5 (large);
- PSI: ``PSI_MODERATE`` 0.1, ``PSI_LARGE`` 0.25;
- out of range: ``OUT_OF_RANGE`` 5% of the values outside the training minimum–maximum.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dlcore.data.dataset import category_text, to_number

logger = logging.getLogger(__name__)

HIGH_MISSING = 0.5
MISSING_RISE = 0.2
SMD_MODERATE = 0.2
SMD_LARGE = 0.5
PSI_MODERATE = 0.1
PSI_LARGE = 0.25
OUT_OF_RANGE = 0.05
_EPSILON = 1e-4


@dataclass
class ColumnShift:
    """How one model input differs between the training data and the external cohort."""

    column: str
    kind: str  # numeric | categorical
    missing_external: float
    missing_training: float | None = None
    constant: bool = False
    all_zero: bool = False
    zero_share: float = 0.0
    out_of_range: float | None = None
    smd: float | None = None
    psi: float | None = None
    unseen_categories: list[str] = field(default_factory=list)
    severity: str = "ok"  # ok | moderate | large
    flags: list[str] = field(default_factory=list)


@dataclass
class CohortShiftReport:
    """Per-column shift of an external cohort against the training data, and the verdict."""

    n_external: int
    n_training: int | None
    columns: list[ColumnShift]
    absent_columns: list[str]
    verdict: str  # similar | caution | unlikely
    sentence: str
    reference: str  # 'training data' or 'training summary (ranges only)'

    @property
    def flagged(self) -> list[ColumnShift]:
        return [c for c in self.columns if c.severity != "ok"]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for column in data["columns"]:
            for key in ("missing_training", "out_of_range", "smd", "psi"):
                value = column[key]
                if value is not None and not math.isfinite(value):
                    column[key] = None
        return data


def _smd(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 2 or len(b) < 2:
        return None
    pooled = math.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / 2)
    if pooled == 0:
        return None if np.mean(a) == np.mean(b) else math.inf
    return float((np.mean(b) - np.mean(a)) / pooled)


def _psi(train: pd.Series, external: pd.Series) -> float:
    categories = sorted(set(train) | set(external))
    t = train.value_counts(normalize=True).reindex(categories, fill_value=0).to_numpy() + _EPSILON
    e = (
        external.value_counts(normalize=True).reindex(categories, fill_value=0).to_numpy()
        + _EPSILON
    )
    return float(np.sum((e - t) * np.log(e / t)))


def _numeric(
    name: str,
    external: pd.Series,
    training: pd.Series | None,
    summary: dict[str, Any],
) -> ColumnShift:
    values = to_number(external, name, strict=False)
    present = values.dropna()
    shift = ColumnShift(name, "numeric", float(values.isna().mean()) if len(values) else 1.0)
    train_values = None
    if training is not None:
        numbers = to_number(training, name, strict=False)
        shift.missing_training = float(numbers.isna().mean())
        train_values = numbers.dropna().to_numpy(dtype=float)
    elif summary.get("missing_share") is not None:
        shift.missing_training = float(summary["missing_share"])
    low = (
        float(train_values.min())
        if train_values is not None and len(train_values)
        else summary.get("min")
    )
    high = (
        float(train_values.max())
        if train_values is not None and len(train_values)
        else summary.get("max")
    )
    if len(present):
        shift.zero_share = float((present == 0).mean())
        shift.constant = present.nunique() == 1
        trained_zero = low is not None and high is not None and low <= 0 <= high
        shift.all_zero = bool((present == 0).all()) and not (
            train_values is not None and len(train_values) and (train_values == 0).all()
        )
        measured = present
        if low is not None and low > 0:
            measured = present[present != 0]  # zero below a positive range: 'not measured'
        if shift.all_zero:
            shift.flags.append(
                "zero on every record: most likely not measured (read it as missing), not a "
                "value outside the training range"
            )
        elif shift.constant:
            shift.flags.append(f"the same value on every record ({len(present)} records)")
        elif shift.zero_share >= 0.05 and not trained_zero:
            shift.flags.append(
                f"zero in {shift.zero_share:.0%} of records, which training never had: probably "
                "'not measured'"
            )
        if low is not None and high is not None and len(measured) and not shift.all_zero:
            outside = float(((measured < low) | (measured > high)).mean())
            shift.out_of_range = outside
            if outside >= OUT_OF_RANGE:
                shift.flags.append(
                    f"{outside:.0%} of values outside the training range ({low:g} to {high:g})"
                )
        if train_values is not None and not shift.all_zero:
            shift.smd = _smd(train_values, measured.to_numpy(dtype=float))
            if shift.smd is not None and abs(shift.smd) >= SMD_MODERATE:
                shift.flags.append(f"mean shifted (SMD {shift.smd:+.2f})")
    return shift


def _categorical(
    name: str, external: pd.Series, training: pd.Series | None, summary: dict[str, Any]
) -> ColumnShift:
    text = external.map(category_text)
    shift = ColumnShift(
        name, "categorical", float(external.isna().mean()) if len(external) else 1.0
    )
    known = set(summary.get("categories") or [])
    if training is not None:
        shift.missing_training = float(training.isna().mean())
        train_text = training.map(category_text)
        known = known or set(train_text)
        shift.psi = _psi(train_text, text)
        if shift.psi >= PSI_MODERATE:
            shift.flags.append(f"category mix shifted (PSI {shift.psi:.2f})")
    elif summary.get("missing_share") is not None:
        shift.missing_training = float(summary["missing_share"])
    present = text[external.notna()]
    shift.constant = len(present) > 0 and present.nunique() == 1 and len(known) > 1
    if shift.constant:
        shift.flags.append("the same category on every record")
    if known:
        unseen = sorted(set(present) - known)
        shift.unseen_categories = unseen[:10]
        if unseen:
            share = float(present.isin(unseen).mean())
            shift.out_of_range = share
            if share >= OUT_OF_RANGE:
                shift.flags.append(f"{share:.0%} of records in categories training never saw")
    return shift


def _severity(shift: ColumnShift) -> str:
    rise = shift.missing_external - (shift.missing_training or 0.0)
    large = (
        shift.missing_external >= HIGH_MISSING
        or shift.all_zero
        or shift.constant
        or (shift.smd is not None and abs(shift.smd) >= SMD_LARGE)
        or (shift.psi is not None and shift.psi >= PSI_LARGE)
        or (shift.out_of_range is not None and shift.out_of_range >= 0.2)
    )
    if large:
        return "large"
    if rise >= MISSING_RISE or shift.flags:
        return "moderate"
    return "ok"


def cohort_shift(
    external: pd.DataFrame,
    features: list[dict[str, Any]],
    training: pd.DataFrame | None = None,
) -> CohortShiftReport:
    """Compare ``external`` with the training data on each model input.

    ``features`` are the model's inputs: dicts with ``name``, ``kind`` ('numeric' or
    'categorical') and, when the training data is gone, its summary (``min``, ``max``,
    ``categories``, ``missing_share`` — a TabularLayout's FeatureInfo). ``training`` is the
    training table when it is still available (then SMD and PSI are computed). Returns a
    CohortShiftReport; never raises for odd values.
    """
    columns, absent = [], []
    for feature in features:
        name = feature["name"]
        if name not in external.columns:
            absent.append(name)
            continue
        reference = training[name] if training is not None and name in training.columns else None
        if feature.get("kind") == "molecule":
            continue  # SMILES: predict's applicability domain (Tanimoto) judges them instead
        if feature.get("kind") == "categorical":
            shift = _categorical(name, external[name], reference, feature)
        else:
            shift = _numeric(name, external[name], reference, feature)
        if shift.missing_external >= HIGH_MISSING:
            shift.flags.insert(0, f"missing in {shift.missing_external:.0%} of records")
        elif shift.missing_external - (shift.missing_training or 0.0) >= MISSING_RISE:
            shift.flags.insert(
                0,
                f"missing in {shift.missing_external:.0%} (training {shift.missing_training or 0:.0%})",
            )
        shift.severity = _severity(shift)
        columns.append(shift)
    verdict, sentence = _verdict(columns, absent)
    return CohortShiftReport(
        n_external=len(external),
        n_training=None if training is None else len(training),
        columns=columns,
        absent_columns=absent,
        verdict=verdict,
        sentence=sentence,
        reference="training data" if training is not None else "training summary (ranges only)",
    )


def _verdict(columns: list[ColumnShift], absent: list[str]) -> tuple[str, str]:
    large = [c for c in columns if c.severity == "large"]
    moderate = [c for c in columns if c.severity == "moderate"]

    def named(items: list[ColumnShift]) -> str:
        shown = [f"'{c.column}' ({c.flags[0]})" for c in items[:4]]
        return ", ".join(shown) + (f" and {len(items) - 4} more" if len(items) > 4 else "")

    if large or absent:
        parts = []
        if absent:
            parts.append("missing columns " + ", ".join(f"'{a}'" for a in absent[:4]))
        if large:
            parts.append(named(large))
        return (
            "unlikely",
            "These metrics are unlikely to describe the model as trained: the cohort differs "
            "strongly from the training data in " + "; ".join(parts) + ", so the model ran on "
            "imputed or unfamiliar values there. Fix or explain those columns before trusting "
            "the metrics to transfer.",
        )
    if moderate:
        return (
            "caution",
            "The metrics may transfer, with caution: the cohort shifted moderately from the "
            f"training data in {named(moderate)}.",
        )
    return (
        "similar",
        "The cohort resembles the training data on every model input (missingness, ranges and "
        "distributions), so these metrics are a fair test of how the model transfers.",
    )


def shift_for_model(loaded: Any, external: pd.DataFrame) -> CohortShiftReport | None:
    """The cohort-shift report of an external table against a registered tabular model's training
    data (from the workspace when it is still there, else the ranges its layout kept). None for
    image models."""
    layout = loaded.layout
    if getattr(layout, "kind", "") != "tabular":
        return None
    features = [asdict(f) for f in layout.features]
    training = None
    dataset_id = (loaded.card.get("dataset") or {}).get("id")
    if dataset_id:
        try:
            from dlcore.data.catalog import load_dataset

            training = load_dataset(dataset_id).frame
        except Exception as exc:  # the ranges in the layout still give a useful report
            logger.info(
                "training data unavailable for the cohort comparison (%s)", type(exc).__name__
            )
    return cohort_shift(external, features, training)
