"""Benefit per patient from a registered treatment-effect network, and SHAP on the benefit.

``predict_benefit`` gives, per record, the risk with treatment, the risk without, the difference
in percentage points with a 95% interval (Monte-Carlo dropout draws of the network), the number
needed to treat for patients like this one, and a sentence a clinician can say. ``explain_benefit``
runs the tabular SHAP explainer on a wrapper model whose output is the difference of the heads.
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dlcore.errors import UserError

logger = logging.getLogger(__name__)

MC_DRAWS = 50


@dataclass
class BenefitTable:
    """Per record: risks under each arm, the benefit (percentage points) with its interval, NNT."""

    table: pd.DataFrame
    control: str
    treated: str
    outcome: str
    notes: list[str]

    def sentence(self, i: int) -> str:
        """What a clinician can say for record ``i`` (position), with the caveat."""
        row = self.table.iloc[i]
        with_t, without = 100 * row["risk_treated"], 100 * row["risk_control"]
        diff, low, high = row["benefit_pp"], row["benefit_low_pp"], row["benefit_high_pp"]
        if low > 0:
            direction = f"lower the risk of {self.outcome} by about {diff:.0f} percentage points"
        elif high < 0:
            direction = f"raise the risk of {self.outcome} by about {-diff:.0f} percentage points"
        else:
            direction = "make no clear difference"
        nnt = row["nnt"]
        nnt_text = (
            f" About {nnt:.0f} patients like this one would need '{self.treated}' for one to be "
            "spared the outcome."
            if np.isfinite(nnt) and low > 0
            else ""
        )
        return (
            f"For a patient like you, the model estimates a {with_t:.0f}% risk of {self.outcome} "
            f"with '{self.treated}' and {without:.0f}% with '{self.control}': '{self.treated}' "
            f"would {direction} (95% interval {low:.0f} to {high:.0f}).{nnt_text} This is a "
            "model's estimate from a trial's patients, not a certainty for you."
        )


def _treatment_section(card: dict[str, Any]) -> dict[str, Any]:
    section = card.get("treatment")
    if not section:
        raise UserError(
            "This model does not estimate treatment benefit.",
            expected="a model trained with a treatment column",
            fix="train with a treatment column (CLI: --treatment COLUMN)",
        )
    return section


def predict_benefit(
    model: Any,
    layout: Any,
    card: dict[str, Any],
    records: pd.DataFrame,
    *,
    draws: int = MC_DRAWS,
    seed: int = 0,
) -> BenefitTable:
    """Benefit per record from a treatment network (``model``, ``layout`` and ``card`` of a
    registered model). The interval is the 2.5th–97.5th percentile of ``draws`` Monte-Carlo
    dropout draws (a network without dropout gives a zero-width interval, noted). Raises UserError
    for a model without a treatment section and SchemaMismatchError for records that do not fit.
    """
    from dlcore.models.treatment import arm_risks, risk_samples
    from dlcore.predict import check_records

    section = _treatment_section(card)
    features, notes = check_records(layout, records)
    inputs = layout.inputs(features)
    arms = len(section["arms"])
    risks = arm_risks(model, inputs, arms)
    samples = risk_samples(model, inputs, arms, draws=draws, seed=seed)
    diffs = 100 * (samples[:, :, 0] - samples[:, :, 1])
    low, high = np.percentile(diffs, [2.5, 97.5], axis=0)
    if np.allclose(low, high):
        notes.append("The network has no dropout: the interval reflects no model uncertainty.")
    benefit = 100 * (risks[:, 0] - risks[:, 1])
    with np.errstate(divide="ignore"):
        nnt = np.where(benefit > 0, np.ceil(100 / np.maximum(benefit, 1e-9)), np.inf)
    table = pd.DataFrame(
        {
            "risk_treated": risks[:, 1],
            "risk_control": risks[:, 0],
            "benefit_pp": benefit,
            "benefit_low_pp": low,
            "benefit_high_pp": high,
            "nnt": nnt,
        },
        index=records.index,
    )
    outcome = card.get("schema", {}).get("positive_class") or card.get("dataset", {}).get(
        "target", "the outcome"
    )
    outcome = _outcome_words(str(outcome), card.get("dataset", {}).get("target"))
    return BenefitTable(table, section["control"], section["treated"], outcome, notes)


def _outcome_words(positive: str, target: str | None) -> str:
    """'pancreatitis' rather than '1_yes': a yes-like class is named by its column."""
    if positive.lower().split("_")[-1] in ("1", "yes", "true", "y") or positive.isdigit():
        return str(target or "the outcome")
    return positive


def explain_benefit(
    model: Any, layout: Any, background: pd.DataFrame, records: pd.DataFrame, *, seed: int = 0
) -> Any:
    """SHAP values of the predicted benefit (risk without minus with treatment) for ``records``:
    what makes each patient benefit more or less than the average of ``background``. Returns
    dlcore.explain.tabular.Explanation (permutation SHAP: exactly additive)."""
    from dlcore.explain.tabular import TabularExplainer
    from dlcore.models.treatment import benefit_model

    wrapper = benefit_model(model)
    benefit_layout = copy.deepcopy(layout)
    benefit_layout.task = "regression"
    benefit_layout.target = "predicted benefit (risk reduction)"
    explainer = TabularExplainer(
        wrapper, benefit_layout, background, method="permutation", seed=seed
    )
    return explainer.explain(records)


def number_needed_to_treat(risk_reduction: float) -> float:
    """Patients to treat for one to be spared the outcome (inf when there is no reduction)."""
    return math.ceil(1 / risk_reduction) if risk_reduction > 0 else math.inf
