"""The leakage guard: columns that give the outcome away are left out by default, with the reason.

Once the target is known, every other column is checked by these rules (first match wins), and a
column caught by one is **left out of the features by default**; a person can still include it
(``--include COL``, or ticking it on the Data page), and the override is recorded in the card.

1. **Repeated target name** — a second column with the target's name (a header with ``outcome``
   twice is read as ``outcome`` and ``outcome_2``).
2. **Copy or complement of the target** — its values map one-to-one onto the target's classes
   (or, for a numeric target, |correlation| ≥ ``COPY_CORRELATION``).
3. **Named like a fact recorded after the outcome** — death, died, deceased, expire(d), mortality,
   date of death / deathtime / dod, discharge disposition / location / time, length of stay / LOS,
   follow-up time / futime / time to event: left out whatever its association.
4. **Predicts the outcome almost perfectly on its own** — single-column ROC AUC ≥ ``LEAK_AUC``
   (0.99; mean one-vs-rest AUC for several classes) or |Spearman correlation| ≥
   ``LEAK_CORRELATION`` (0.99) for a numeric target. A categorical column is scored by the
   outcome rate of its category, categories of fewer than ``MIN_CATEGORY_ROWS`` (5) rows pooled:
   a column whose categories each map to one outcome scores 1.0, while rare categories that are
   pure by chance do not. The bar is above the
   strongest real single markers we know (in the Wisconsin breast-cancer table, 'worst perimeter'
   reaches 0.976), so genuine biomarkers stay in.
5. **Named like timing and strongly related** — a column named like follow-up or outcome timing
   (time, duration, days, months, survival, censor, outcome, readmission...) with
   AUC ≥ ``TIMING_AUC`` (0.70) or |correlation| ≥ ``TIMING_CORRELATION`` (0.60): the heart-failure
   table's follow-up ``time`` (AUC 0.84) is the classic case.
6. **Missingness predicts the outcome** — whether a value is recorded at all has AUC ≥
   ``MISSINGNESS_AUC`` (0.90) for the outcome (a death time recorded only for those who died).

Only column names and scores enter the reasons, never values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dlcore.data.numbers import to_number

LEAK_AUC = 0.99
LEAK_CORRELATION = 0.99
COPY_CORRELATION = 0.999
TIMING_AUC = 0.70
TIMING_CORRELATION = 0.60
MISSINGNESS_AUC = 0.90
MIN_ROWS = 10
MIN_CATEGORY_ROWS = 5
MAX_ROWS_CHECKED = 50_000

# Facts known only after the outcome: left out by name alone. Tokens of the normalised name.
POST_OUTCOME_NAME = re.compile(
    r"(^|_)(death|deaths|died|deceased|dead|expire|expire_flag|mortality|mort|"
    r"dod|deathtime|death_?time|death_?date|date_?of_?death|"
    r"discharge_?(disposition|location|status|destination|time|date|type|offset)|dischtime|"
    r"disposition|discharged_?(to|alive|dead)|los|icu_?los|hosp_?los|length_?of_?stay|"
    r"follow_?up_?(time|days|months|years|duration)|futime|fu_?time|time_?to_?event|"
    r"survival_?(time|days|months)|outtime)($|_)"
    # Run-together names (eICU's 'hospitaldischargestatus', 'actualhospitalmortality').
    r"|mortality|deathtime|dateofdeath|lengthofstay|diedin|"
    r"discharge(status|location|offset|disposition|time|date)|^expired(_flag)?$",
    re.IGNORECASE,
)
# Names that may be timing of the outcome: left out when they are also strongly related to it.
TIMING_NAME = re.compile(
    r"(^|_)(time|follow|followup|follow_up|fu|duration|days|months|survival|surv|censor|censored|"
    r"outcome|readmission|readmitted)($|_)",
    re.IGNORECASE,
)


def _normalize(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


@dataclass
class LeakFlag:
    """Why a column is left out as possible leakage: the rule, the reason, the score if any."""

    column: str
    rule: (
        str  # repeated_target_name | copy | post_outcome_name | near_perfect | timing | missingness
    )
    reason: str
    score: float | None = None
    metric: str = ""


def auc(scores: np.ndarray, target: np.ndarray) -> float:
    """ROC AUC of ``scores`` for a 0/1 ``target``, folded so that 0.3 counts as 0.7; 0.5 if undefined."""
    positives = target == 1
    n1, n0 = int(positives.sum()), int((~positives).sum())
    if n1 == 0 or n0 == 0:
        return 0.5
    ranks = pd.Series(scores).rank(method="average").to_numpy()
    value = (ranks[positives].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
    return float(max(value, 1 - value))


def _category_rate(codes: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Each row's category outcome rate, categories of fewer than ``MIN_CATEGORY_ROWS`` rows pooled
    (so a rare category that is pure by chance cannot look like a perfect predictor)."""
    frame = pd.DataFrame({"g": codes, "y": target})
    sizes = frame.groupby("g")["y"].transform("size").to_numpy()
    frame["g"] = np.where(sizes >= MIN_CATEGORY_ROWS, frame["g"].to_numpy(), "\x00rare")
    return frame.groupby("g")["y"].transform("mean").to_numpy(dtype=float)


def association(x: pd.Series, y: np.ndarray, task: str, categorical: bool) -> float:
    """How well one column alone orders the target: AUC for classes (mean one-vs-rest for several),
    |Spearman correlation| (or the correlation ratio for categories) for a numeric target."""
    if categorical:
        codes = x.astype("object").map(lambda v: "(missing)" if pd.isna(v) else str(v)).to_numpy()
        if task == "regression":
            groups = pd.DataFrame({"g": codes, "y": y}).groupby("g")["y"]
            total = np.var(y)
            if total == 0:
                return 0.0
            between = float(((groups.mean() - y.mean()) ** 2 * groups.size()).sum() / len(y))
            return float(np.sqrt(between / total))
        values = None
    else:
        numbers = to_number(x, str(x.name), strict=False)
        if numbers.notna().sum() < 3 or numbers.nunique() < 2:
            return 0.0
        values = numbers.fillna(numbers.median()).to_numpy()
        if task == "regression":
            rho = pd.Series(values).rank().corr(pd.Series(y).rank())  # Spearman's rho
            return float(abs(rho)) if np.isfinite(rho) else 0.0
    classes = np.unique(y)
    scores = []
    for cls in classes if len(classes) > 2 else classes[1:]:
        target = (y == cls).astype(int)
        if target.min() == target.max():
            continue
        score = _category_rate(codes, target) if values is None else values
        scores.append(auc(score, target))
    return float(np.mean(scores)) if scores else 0.0


def missingness_association(x: pd.Series, y: np.ndarray, task: str) -> float:
    """How well 'is this value recorded?' alone orders the target (AUC, or |correlation|)."""
    missing = x.isna().to_numpy().astype(float)
    if missing.min() == missing.max():
        return 0.0
    if task == "regression":
        if np.std(y) == 0:
            return 0.0
        return float(abs(np.corrcoef(missing, y)[0, 1]))
    classes = np.unique(y)
    scores = [
        auc(missing, (y == c).astype(int)) for c in (classes if len(classes) > 2 else classes[1:])
    ]
    return float(np.mean(scores)) if scores else 0.0


def _copy_of_target(x: pd.Series, labels: pd.Series) -> str | None:
    """'copy' or 'complement' when the column's values map one-to-one onto the target's classes."""
    if x.nunique() != labels.nunique():  # cheap first: a copy has as many values as classes
        return None
    text = x.astype("object").map(lambda v: None if pd.isna(v) else str(v).strip())
    pairs = pd.DataFrame({"x": text, "y": labels}).dropna()
    if len(pairs) < MIN_ROWS or pairs["x"].nunique() != pairs["y"].nunique():
        return None
    if pairs.groupby("x")["y"].nunique().max() != 1 or pairs.groupby("y")["x"].nunique().max() != 1:
        return None
    if (pairs["x"] == pairs["y"]).all():
        return "copy"
    return "complement" if pairs["y"].nunique() == 2 else "copy"


def _repeated_name(name: str, target: str) -> bool:
    """'outcome' and 'outcome_2' (how a repeated header is renamed), or the same normalised name."""
    return (
        name == target
        or re.fullmatch(re.escape(target) + r"_\d+", name) is not None
        or re.fullmatch(re.escape(name) + r"_\d+", target) is not None
    )


def find_leaks(
    frame: pd.DataFrame,
    target: str,
    task: str,
    y: np.ndarray,
    present: np.ndarray,
    columns: list[tuple[str, str, bool]],
    labels: pd.Series | None = None,
) -> list[LeakFlag]:
    """Check ``columns`` — (name, kind, usable as a feature) — against the target (rules above).

    ``y`` is the encoded target of the rows where ``present`` is true (class index, or the value for
    regression); ``labels`` the target's text labels (classification). Returns one LeakFlag per
    column caught, in column order.
    """
    if present.sum() < MIN_ROWS:
        return []
    rows = np.flatnonzero(present)
    if len(rows) > MAX_ROWS_CHECKED:
        chosen = np.sort(
            np.random.default_rng(0).choice(len(rows), MAX_ROWS_CHECKED, replace=False)
        )
        rows, y = rows[chosen], y[chosen]
        labels = None if labels is None else labels.iloc[rows]
    elif labels is not None:
        labels = labels.iloc[rows]
    metric = "|correlation|" if task == "regression" else "AUC"
    perfect = LEAK_CORRELATION if task == "regression" else LEAK_AUC
    timing = TIMING_CORRELATION if task == "regression" else TIMING_AUC
    target_name = _normalize(target)
    flags = []
    for name, kind, usable in columns:
        if name == target:
            continue
        x = frame[name].iloc[rows].rename(name)
        normalized = _normalize(name)
        if _repeated_name(normalized, target_name):
            flags.append(
                LeakFlag(
                    name,
                    "repeated_target_name",
                    f"possible leakage: it has the target's name '{target}' (a repeated header)",
                )
            )
            continue
        if usable and labels is not None:
            copy = _copy_of_target(x, labels.reset_index(drop=True).set_axis(x.index))
            if copy:
                flags.append(
                    LeakFlag(
                        name,
                        "copy",
                        f"possible leakage: its values are a {copy} of the target '{target}'",
                        1.0,
                        metric,
                    )
                )
                continue
        if POST_OUTCOME_NAME.search(normalized):
            flags.append(
                LeakFlag(
                    name,
                    "post_outcome_name",
                    "possible leakage: named like a fact recorded after the outcome "
                    "(death, discharge, length of stay, follow-up time)",
                )
            )
            continue
        score = None
        if usable and x.notna().sum() >= 3:
            score = association(x, y, task, kind == "categorical")
            if task == "regression" and score >= COPY_CORRELATION and kind != "categorical":
                flags.append(
                    LeakFlag(
                        name,
                        "copy",
                        f"possible leakage: a copy or rescaling of the target '{target}' "
                        f"({metric} {score:.3f})",
                        score,
                        metric,
                    )
                )
                continue
            if score >= perfect:
                flags.append(
                    LeakFlag(
                        name,
                        "near_perfect",
                        f"possible leakage: alone it predicts '{target}' almost perfectly "
                        f"({metric} {score:.2f} ≥ {perfect})",
                        score,
                        metric,
                    )
                )
                continue
            if score >= timing and TIMING_NAME.search(normalized):
                flags.append(
                    LeakFlag(
                        name,
                        "timing",
                        f"possible leakage: named like follow-up or outcome timing and strongly "
                        f"related to '{target}' ({metric} {score:.2f}); known only after the "
                        "moment of prediction",
                        score,
                        metric,
                    )
                )
                continue
        share = float(x.isna().mean())
        if 0 < share < 1:
            missing_score = missingness_association(x, y, task)
            if missing_score >= MISSINGNESS_AUC:
                flags.append(
                    LeakFlag(
                        name,
                        "missingness",
                        f"possible leakage: whether '{name}' is recorded predicts '{target}' "
                        f"({metric} {missing_score:.2f} for missing vs recorded); it is probably "
                        "filled in because of the outcome",
                        missing_score,
                        metric,
                    )
                )
    return flags
