"""A treatment task: which column holds the trial arm, and whether the arms look randomised.

``set_treatment_column`` marks the arm column (never a feature: the network gets one outcome head
per arm); ``check_treatment`` refuses data a treatment-effect model cannot learn from (one arm, an
arm too small, an arm without outcomes) and measures covariate balance (standardised mean
differences) and the overlap of a propensity model, with a plain warning when the arms do not
look randomised.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dlcore.data.schema import Schema
from dlcore.errors import UserError

logger = logging.getLogger(__name__)

MIN_ARM_RECORDS = 20
MAX_ARMS = 6
# |SMD| above this is the usual sign of imbalance (Austin 2009)
SMD_IMBALANCE = 0.1
# a propensity model separating the arms better than this suggests they were not randomised
PROPENSITY_AUC_RANDOM = 0.6
OVERLAP_BOUNDS = (0.05, 0.95)
TREATMENT_REASON = "treatment arm: an input of its own, not a feature (one outcome head per arm)"
_CONTROL_NAME = re.compile(
    r"(placebo|control|usual|standard|sham|none|no treatment|untreated|^0$|^0_|^no$|^false$)",
    re.IGNORECASE,
)


def arm_labels(series: pd.Series) -> pd.Series:
    """The arm of each record as text; missing stays missing."""
    return series.astype("object").map(lambda v: None if pd.isna(v) else str(v))


def order_arms(labels: list[str]) -> list[str]:
    """The arms with the control first (named placebo/control/usual/standard/0/no, else the first
    in sorted order), then the others sorted."""
    labels = sorted(labels)
    control = next((a for a in labels if _CONTROL_NAME.search(a)), labels[0] if labels else None)
    return [control, *[a for a in labels if a != control]] if control is not None else []


def set_treatment_column(schema: Schema, frame: pd.DataFrame, column: str) -> Schema:
    """Make ``column`` the treatment (arm) column: it leaves the features, with its reason.

    Raises UserError when the column is absent or is the outcome.
    """
    if column not in frame.columns:
        raise UserError(
            f"There is no column '{column}' for the treatment.",
            expected="one of: " + ", ".join(map(str, frame.columns[:20])),
            fix="name the column that holds each patient's arm",
        )
    if column in (schema.target, schema.time_column):
        raise UserError(
            f"'{column}' is the outcome; it cannot also be the treatment.",
            expected="a treatment column other than the outcome",
            fix="choose the arm column as treatment and the outcome as target",
        )
    info = schema.column(column)
    if info.role == "feature":
        logger.info("treatment column removed from the features")
    info.role, info.reason = "excluded", TREATMENT_REASON
    schema.treatment_column = column
    return schema


@dataclass
class CovariateBalance:
    """One covariate's balance between the control and a treated arm."""

    name: str
    mean_control: float
    mean_treated: float
    smd: float  # standardised mean difference (pooled SD); categories: the largest level's


@dataclass
class TreatmentCheck:
    """What the product found about the arms: sizes, outcomes, balance, propensity overlap."""

    column: str
    arms: list[str]
    counts: dict[str, int]
    events: dict[str, int]
    labelled: dict[str, int]
    balance: list[CovariateBalance]
    propensity_auc: float
    propensity_by_arm: dict[str, list[float]]  # min, 5th, 50th, 95th percentile, max
    outside_overlap: int  # records with a propensity outside OVERLAP_BOUNDS
    looks_randomised: bool
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def max_smd(self) -> float:
        return max((abs(b.smd) for b in self.balance), default=0.0)

    def sentence(self) -> str:
        """The check in one or two sentences, for the page, the CLI and the card."""
        sizes = ", ".join(f"{a}: {self.counts[a]} ({self.events[a]} events)" for a in self.arms)
        verdict = (
            "The arms look randomised"
            if self.looks_randomised
            else "The arms do not look randomised"
        )
        return (
            f"Arms — {sizes}. {verdict}: largest standardised mean difference "
            f"{self.max_smd:.2f}, propensity model AUC {self.propensity_auc:.2f}."
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["max_smd"] = self.max_smd
        out["sentence"] = self.sentence()
        return out


def _fail_arms(column: str, counts: dict[str, int]) -> None:
    arms = [a for a in counts]
    if len(arms) < 2:
        found = f"only one arm, '{arms[0]}'" if arms else "no arm at all"
        raise UserError(
            f"The treatment column '{column}' has {found}.",
            expected="at least two arms (e.g. treated and control)",
            fix="choose the column that says which arm each patient was randomised to",
        )
    if len(arms) > MAX_ARMS:
        raise UserError(
            f"The treatment column '{column}' has {len(arms)} different values.",
            expected=f"2 to {MAX_ARMS} arms",
            fix="choose the arm column, not a measurement",
        )
    small = {a: k for a, k in counts.items() if k < MIN_ARM_RECORDS}
    if small:
        shown = ", ".join(f"'{a}' has {k}" for a, k in small.items())
        raise UserError(
            f"Arm(s) of '{column}' too small: {shown} record(s).",
            expected=f"at least {MIN_ARM_RECORDS} records in every arm",
            fix="merge small arms, or leave their records out",
        )


def check_treatment(frame: pd.DataFrame, schema: Schema, *, seed: int = 0) -> TreatmentCheck:
    """Check the treatment task of ``frame``: arms, outcomes per arm, balance and propensity.

    Raises UserError for one arm, an arm with fewer than MIN_ARM_RECORDS records, or an arm with
    (almost) no recorded outcome (with the counts per arm). The treatment column is taken out of
    the features if it was one (said in ``notes``).
    """
    from dlcore.data.dataset import encode_target, feature_frame, model_kind

    column = schema.treatment_column
    if not column:
        raise UserError(
            "No treatment column is set.",
            expected="a treatment (arm) column",
            fix="choose the treatment column (CLI: --treatment COLUMN)",
        )
    notes = []
    if column in schema.feature_names:
        set_treatment_column(schema, frame, column)
        notes.append(f"'{column}' was a feature; it is the treatment, so it was left out of them.")
    if schema.task != "binary":
        raise UserError(
            f"A treatment task needs a yes/no outcome; the outcome's task is {schema.task}.",
            expected="a binary outcome (an event, or not)",
            fix="choose a two-class outcome as target",
        )
    arms_all = arm_labels(frame[column])
    counts = {a: int(k) for a, k in arms_all.value_counts().items()}
    _fail_arms(column, counts)
    arms = order_arms(list(counts))
    y, present = encode_target(frame, schema)
    labelled = {a: int((present & (arms_all == a).to_numpy()).sum()) for a in arms}
    short = {a: k for a, k in labelled.items() if k < MIN_ARM_RECORDS}
    if short:
        detail = "; ".join(
            f"'{a}': outcome recorded for {labelled[a]} of {counts[a]}" for a in arms
        )
        raise UserError(
            f"The outcome '{schema.target}' is missing in arm(s) "
            + ", ".join(f"'{a}'" for a in short)
            + f" ({detail}).",
            expected=f"the outcome recorded for at least {MIN_ARM_RECORDS} records of every arm",
            fix="add the missing outcomes, or check that the outcome column is the right one",
        )
    events = {a: int(y[present & (arms_all == a).to_numpy()].sum()) for a in arms}
    keep = present & arms_all.notna().to_numpy()
    rows = frame.loc[keep]
    arm_of = arms_all[keep].to_numpy()
    kinds = {c.name: model_kind(c, rows[c.name]) for c in schema.features}
    features = feature_frame(rows, schema, kinds)
    balance = covariate_balance(features, arm_of == arms[0], kinds)
    auc, scores = propensity_scores(features, arm_of != arms[0], kinds, seed=seed)
    by_arm = {
        a: [float(v) for v in np.percentile(scores[arm_of == a], [0, 5, 50, 95, 100])] for a in arms
    }
    low, high = OVERLAP_BOUNDS
    outside = int(((scores < low) | (scores > high)).sum())
    max_smd = max((abs(b.smd) for b in balance), default=0.0)
    randomised = auc < PROPENSITY_AUC_RANDOM and max_smd < 2 * SMD_IMBALANCE
    warnings = []
    if not randomised:
        warnings.append(
            "The arms differ in who received the treatment (largest standardised difference "
            f"{max_smd:.2f}, propensity AUC {auc:.2f}): this looks like observational data, and "
            "the estimated effects may be confounded by why patients were treated."
        )
    if outside:
        warnings.append(
            f"{outside} record(s) have a propensity outside {low:.2f}–{high:.2f}: patients like "
            "them were (almost) always or never treated, so their benefit is extrapolated."
        )
    logger.info("treatment check: %d arms, propensity AUC %.2f", len(arms), auc)
    return TreatmentCheck(
        column,
        arms,
        {a: counts[a] for a in arms},
        events,
        labelled,
        balance,
        auc,
        by_arm,
        outside,
        randomised,
        warnings,
        notes,
    )


def covariate_balance(
    features: pd.DataFrame, is_control: np.ndarray, kinds: dict[str, str]
) -> list[CovariateBalance]:
    """Standardised mean differences (treated minus control over the pooled SD) per covariate;
    for a categorical covariate, that of the level with the largest absolute difference."""
    out = []
    for name, kind in kinds.items():
        if kind == "numeric":
            values = {"": features[name].to_numpy(dtype=np.float64)}
        elif kind == "categorical":
            text = features[name].astype(str).to_numpy()
            values = {f"={v}": (text == v).astype(np.float64) for v in np.unique(text)}
        else:
            continue
        best = None
        for suffix, v in values.items():
            a, b = v[is_control], v[~is_control]
            a, b = a[np.isfinite(a)], b[np.isfinite(b)]
            if len(a) < 2 or len(b) < 2:
                continue
            pooled = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
            smd = float((b.mean() - a.mean()) / pooled) if pooled > 1e-12 else 0.0
            row = CovariateBalance(name + suffix, float(a.mean()), float(b.mean()), smd)
            if best is None or abs(row.smd) > abs(best.smd):
                best = row
        if best is not None:
            out.append(best)
    return sorted(out, key=lambda b: -abs(b.smd))


def propensity_scores(
    features: pd.DataFrame, treated: np.ndarray, kinds: dict[str, str], *, seed: int = 0
) -> tuple[float, np.ndarray]:
    """A logistic-regression propensity model (P(treated | covariates)), cross-fitted in five
    folds so its AUC is honest; returns (AUC, out-of-fold propensity per record)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [n for n, k in kinds.items() if k == "numeric"]
    categorical = [n for n, k in kinds.items() if k == "categorical"]
    if not numeric and not categorical:
        return 0.5, np.full(len(treated), float(treated.mean()))
    parts = []
    if numeric:
        parts.append(
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric)
        )
    if categorical:
        parts.append(("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=5), categorical))
    x = features[numeric + categorical].copy()
    for name in categorical:
        x[name] = x[name].astype(str).astype(object)
    model = make_pipeline(ColumnTransformer(parts), LogisticRegression(C=1.0, max_iter=500))
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    scores = cross_val_predict(model, x, treated.astype(int), cv=folds, method="predict_proba")[
        :, 1
    ]
    return float(roc_auc_score(treated.astype(int), scores)), scores


@dataclass
class OverallEffect:
    """The trial's overall effect: event rates per arm and their difference with a Wald 95% CI."""

    control: str
    treated: str
    rate_control: float
    rate_treated: float
    n_control: int
    n_treated: int
    difference: float  # rate_control - rate_treated: risk reduction (positive = treatment helps)
    low: float
    high: float

    def sentence(self) -> str:
        return (
            f"Overall, {self.rate_treated:.1%} of '{self.treated}' (n = {self.n_treated}) and "
            f"{self.rate_control:.1%} of '{self.control}' (n = {self.n_control}) had the event: "
            f"a risk reduction of {100 * self.difference:.1f} percentage points "
            f"(95% CI {100 * self.low:.1f} to {100 * self.high:.1f})."
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sentence": self.sentence()}


def overall_effect(
    y: np.ndarray, arm: np.ndarray, control: str = "control", treated: str = "treated"
) -> OverallEffect:
    """Difference in proportions (control minus treated) with its Wald 95% CI; ``arm`` is 1 for
    treated, 0 for control records."""
    y = np.asarray(y, dtype=np.float64)
    arm = np.asarray(arm).astype(int)
    y0, y1 = y[arm == 0], y[arm == 1]
    p0, p1 = float(y0.mean()), float(y1.mean())
    se = float(np.sqrt(p0 * (1 - p0) / len(y0) + p1 * (1 - p1) / len(y1)))
    diff = p0 - p1
    return OverallEffect(
        control, treated, p0, p1, len(y0), len(y1), diff, diff - 1.96 * se, diff + 1.96 * se
    )


def with_treatment(schema: Schema, frame: pd.DataFrame, column: str | None) -> Schema:
    """A copy of ``schema`` with ``column`` as the treatment (None: no treatment; a former
    treatment column becomes a feature again when its kind allows). Raises UserError as
    ``set_treatment_column``."""
    import copy

    from dlcore.data.schema import FEATURE_KINDS

    if column == schema.treatment_column:
        return schema
    edited = copy.deepcopy(schema)
    previous = edited.treatment_column
    if previous and previous in frame.columns:
        info = edited.column(previous)
        if info.kind in FEATURE_KINDS:
            info.role, info.reason = "feature", ""
    edited.treatment_column = None
    if column:
        set_treatment_column(edited, frame, column)
    return edited
