"""Evaluation of predicted benefit on held-out trial records.

Benefit is the predicted risk reduction (risk without treatment minus risk with it). On
randomised records with a yes/no event:

* the Qini curve: patients ranked by predicted benefit, the events prevented per patient of the
  whole population when the top fraction φ is treated — (rate_control(φ) − rate_treated(φ)) × φ —
  and its area above the random-ranking line (Radcliffe 2007), with a bootstrap 95% CI;
* calibration for benefit: observed against predicted risk difference per quintile of predicted
  benefit, each with a Wald 95% CI;
* the policy curve: the estimated event rate if only patients with predicted benefit > t were
  treated (inverse-probability weighting by the arms' shares), over t.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

BOOTSTRAP = 200
QINI_POINTS = 21


@dataclass
class BenefitGroup:
    """One quantile group of predicted benefit: its mean prediction and the observed difference."""

    group: int
    n_control: int
    n_treated: int
    predicted: float
    observed: float
    low: float
    high: float


@dataclass
class UpliftReport:
    """Qini curve and area with CI, calibration for benefit, and the treat-if-benefit curve."""

    n: int
    fractions: list[float]
    qini: list[float]  # events prevented per patient of the population, top φ treated
    random_qini: list[float]
    qini_area: float
    qini_low: float
    qini_high: float
    groups: list[BenefitGroup]
    thresholds: list[float]
    policy_rate: list[float]  # estimated event rate when treating only if benefit > t
    policy_treated: list[float]  # share treated under that policy
    treat_all_rate: float
    treat_none_rate: float
    notes: list[str] = field(default_factory=list)

    def sentence(self) -> str:
        """The Qini area in words, with its CI."""
        verdict = (
            "ranks patients by benefit better than chance"
            if self.qini_low > 0
            else "does not rank patients by benefit better than chance (the CI includes 0)"
        )
        return (
            f"On {self.n} held-out trial records the model {verdict}: Qini area "
            f"{self.qini_area:.4f} (95% CI {self.qini_low:.4f} to {self.qini_high:.4f})."
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["sentence"] = self.sentence()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UpliftReport:
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        values["groups"] = [BenefitGroup(**g) for g in data.get("groups", [])]
        return cls(**values)


def qini_curve(
    y: np.ndarray, treated: np.ndarray, benefit: np.ndarray, fractions: np.ndarray
) -> np.ndarray:
    """Events prevented per patient of the population when the top fraction is treated: at each
    fraction φ, (control event rate − treated event rate among the top φ) × φ (0 when an arm is
    empty there). Records with equal predicted benefit are taken in random order (in
    expectation: counts interpolated within a tie), so a constant benefit gives the random line."""
    order = np.argsort(-benefit, kind="stable")
    b, y, treated = benefit[order], y[order].astype(np.float64), treated[order].astype(bool)
    zero = np.zeros(1)
    sums = {
        "nt": np.concatenate([zero, np.cumsum(treated)]),
        "nc": np.concatenate([zero, np.cumsum(~treated)]),
        "et": np.concatenate([zero, np.cumsum(y * treated)]),
        "ec": np.concatenate([zero, np.cumsum(y * ~treated)]),
    }
    n = len(y)
    # tie blocks: [starts[j], ends[j]) share one predicted benefit
    change = np.flatnonzero(np.diff(b) != 0) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [n]])
    out = []
    for phi in fractions:
        k = phi * n
        if k <= 0 or n == 0:
            out.append(0.0)
            continue
        j = min(int(np.searchsorted(ends, k, side="left")), len(ends) - 1)
        s0, e0 = starts[j], ends[j]
        w = (k - s0) / (e0 - s0)
        c = {key: v[s0] + w * (v[e0] - v[s0]) for key, v in sums.items()}
        if c["nt"] <= 1e-12 or c["nc"] <= 1e-12:
            out.append(0.0)
            continue
        out.append((c["ec"] / c["nc"] - c["et"] / c["nt"]) * k / n)
    return np.asarray(out)


def qini_area(y: np.ndarray, treated: np.ndarray, benefit: np.ndarray) -> float:
    """Area between the Qini curve and the random-ranking line (trapezoids over φ in [0, 1])."""
    fractions = np.linspace(0, 1, QINI_POINTS)
    curve = qini_curve(y, treated, benefit, fractions)
    return float(np.trapezoid(curve - fractions * curve[-1], fractions))


def benefit_calibration(
    y: np.ndarray, treated: np.ndarray, benefit: np.ndarray, groups: int = 5
) -> list[BenefitGroup]:
    """Observed risk difference (control − treated, Wald 95% CI) against the mean predicted
    benefit in each quantile group of predicted benefit."""
    order = np.argsort(benefit, kind="stable")
    out = []
    for g, part in enumerate(np.array_split(order, groups), start=1):
        yc, yt = y[part][~treated[part]], y[part][treated[part]]
        if len(yc) == 0 or len(yt) == 0:
            continue
        pc, pt = float(yc.mean()), float(yt.mean())
        se = float(np.sqrt(pc * (1 - pc) / len(yc) + pt * (1 - pt) / len(yt)))
        diff = pc - pt
        out.append(
            BenefitGroup(
                g,
                len(yc),
                len(yt),
                float(benefit[part].mean()),
                diff,
                diff - 1.96 * se,
                diff + 1.96 * se,
            )
        )
    return out


def policy_curve(
    y: np.ndarray, treated: np.ndarray, benefit: np.ndarray, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Estimated event rate, and share treated, if only records with benefit > t were treated:
    records whose arm agrees with the policy, weighted by the inverse of their arm's share."""
    p1 = float(treated.mean())
    w = np.where(treated, 1 / p1, 1 / (1 - p1))
    rates, shares = [], []
    for t in thresholds:
        policy = benefit > t
        agree = policy == treated
        rates.append(float(np.sum(y * w * agree) / np.sum(w * agree)) if agree.any() else np.nan)
        shares.append(float(policy.mean()))
    return np.asarray(rates), np.asarray(shares)


def evaluate_uplift(
    y: np.ndarray,
    treated: np.ndarray,
    benefit: np.ndarray,
    *,
    bootstrap: int = BOOTSTRAP,
    seed: int = 0,
) -> UpliftReport:
    """Evaluate predicted ``benefit`` (risk reduction) against events ``y`` (0/1) on randomised
    records (``treated`` 1 = treated arm, 0 = control). Returns an UpliftReport."""
    y = np.asarray(y, dtype=np.float64).ravel()
    treated = np.asarray(treated).astype(bool).ravel()
    benefit = np.asarray(benefit, dtype=np.float64).ravel()
    fractions = np.linspace(0, 1, QINI_POINTS)
    curve = qini_curve(y, treated, benefit, fractions)
    area = qini_area(y, treated, benefit)
    rng = np.random.default_rng(seed)
    n = len(y)
    areas = []
    for _ in range(bootstrap):
        idx = rng.integers(0, n, n)
        if treated[idx].all() or not treated[idx].any():
            continue
        areas.append(qini_area(y[idx], treated[idx], benefit[idx]))
    low, high = (
        (float(np.percentile(areas, 2.5)), float(np.percentile(areas, 97.5)))
        if areas
        else (float("nan"), float("nan"))
    )
    thresholds = np.unique(np.quantile(benefit, np.linspace(0, 1, 21)))
    thresholds = np.concatenate([[thresholds[0] - 1e-9], thresholds])
    rates, shares = policy_curve(y, treated, benefit, thresholds)
    notes = []
    if n < 200:
        notes.append(f"Only {n} held-out records: the Qini area and the groups are imprecise.")
    return UpliftReport(
        n=n,
        fractions=[float(f) for f in fractions],
        qini=[float(v) for v in curve],
        random_qini=[float(f * curve[-1]) for f in fractions],
        qini_area=area,
        qini_low=low,
        qini_high=high,
        groups=benefit_calibration(y, treated, benefit),
        thresholds=[float(t) for t in thresholds],
        policy_rate=[float(r) for r in rates],
        policy_treated=[float(s) for s in shares],
        treat_all_rate=float(y[treated].mean()) if treated.any() else float("nan"),
        treat_none_rate=float(y[~treated].mean()) if (~treated).any() else float("nan"),
        notes=notes,
    )


def pehe(true_benefit: np.ndarray, predicted_benefit: np.ndarray) -> float:
    """Precision in estimating heterogeneous effects: root mean squared error of the benefit."""
    diff = np.asarray(true_benefit, float) - np.asarray(predicted_benefit, float)
    return float(np.sqrt(np.mean(diff**2)))
