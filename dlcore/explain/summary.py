"""Plain-language summaries of an explanation: the sentences a clinician reads, and the
explanation moved onto the probability the pages show (recalibrated when the model is)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from dlcore.explain.tabular import Explanation
from dlcore.report.wording import number_text, percent_text, points_text

SHOWN, NETWORK = "shown", "network"


def on_shown_probability(explanation: Explanation, recalibrator: Any = None) -> Explanation:
    """The explanation of the probability the pages show: for a recalibrated classification
    model, each record's contributions are rescaled so that they add up, from the recalibrated
    reference average, to the recalibrated probability (the recalibration is monotone, so every
    contribution keeps its sign and its share of the change). Returns a copy marked ``scale =
    'shown'``; regression and survival explanations and models without recalibration are
    only marked."""
    if explanation.task not in ("binary", "multiclass") or recalibrator is None:
        return dataclasses.replace(explanation, scale=SHOWN)
    if getattr(recalibrator, "method", "none") == "none":
        return dataclasses.replace(explanation, scale=SHOWN)
    outputs = np.asarray(explanation.outputs, dtype=np.float64)
    base = np.asarray(explanation.base_values, dtype=np.float64)
    shown = np.asarray(recalibrator.apply(outputs)).reshape(outputs.shape)
    shown_base = np.asarray(recalibrator.apply(base[None, :])).reshape(base.shape)
    change = outputs - base[None, :]
    new_change = shown - shown_base[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(np.abs(change) > 1e-9, new_change / change, 1.0)
    values = np.asarray(explanation.values, dtype=np.float64) * ratio[:, None, :]
    # What a tiny raw change cannot carry (its ratio set to 1) goes to the shares in proportion.
    residual = new_change - values.sum(axis=1)
    weights = np.abs(values)
    totals = weights.sum(axis=1, keepdims=True)
    n_features = values.shape[1] or 1
    spread = np.where(totals > 0, weights / np.where(totals > 0, totals, 1.0), 1.0 / n_features)
    values = values + spread * residual[:, None, :]
    return dataclasses.replace(
        explanation, values=values, base_values=shown_base, outputs=shown, scale=SHOWN
    )


def probability_name(explanation: Explanation) -> str:
    """Which probability an explanation is of, in words (for captions)."""
    if explanation.scale == SHOWN:
        return "the probability shown on the page"
    return "the network's own output (before any recalibration)"


def summarize(explanation: Explanation, row: int = 0, *, top: int = 3) -> str:
    """A plain-language summary of one record's top factors.

    For example: "Predicted probability of malignant: 87% (average over the reference patients:
    37%). Raises it: worst perimeter = 120.3 (+21 points), ... Lowers it: mean texture = 14.2
    (−3 points)." Contributions to a probability are in percentage points of the probability
    the sentence names; an explanation of the network's own output says so.
    """
    k = explanation.output_index(row)
    table = explanation.contributions(row, k)
    base = float(explanation.base_values[k])
    output = float(explanation.outputs[row, k])
    probability = explanation.task in ("binary", "multiclass")
    if explanation.task == "survival":
        return _summarize_risk(table, base, output, top)

    def amount(value: float) -> str:
        return points_text(value) if probability else f"{value:+.3g}"

    def level(value: float) -> str:
        return percent_text(value) if probability else number_text(value)

    own = explanation.scale != SHOWN
    if explanation.task == "binary":
        name = explanation.output_names[0][2:-1]
        subject = (
            f"Network's own output for {name} (before recalibration)"
            if own
            else f"Predicted probability of {name}"
        )
    elif explanation.task == "multiclass":
        subject = f"Most likely class: {explanation.output_names[k]}, " + (
            "network's own probability (before recalibration)" if own else "probability"
        )
    else:
        subject = f"Predicted {explanation.output_names[0]}"
    parts = [f"{subject}: {level(output)} (average over the reference patients: {level(base)})."]
    parts += _factor_sentences(table, top, amount)
    return " ".join(parts)


def _summarize_risk(table: pd.DataFrame, base: float, output: float, top: int) -> str:
    """The summary for a survival model: its log-risk, as a relative risk against the average."""
    relative = float(np.exp(output - base))
    parts = [
        f"Predicted risk: {relative:.2f} times the average reference patient's "
        f"(log-risk {output:+.3f} against {base:+.3f}); higher risk means a shorter expected survival."
    ]
    parts += _factor_sentences(table, top, lambda value: f"×{np.exp(value):.2f}")
    return " ".join(parts)


def _factor_sentences(table: pd.DataFrame, top: int, amount: Any) -> list[str]:
    """'Raises it: …' and 'Lowers it: …' over the ``top`` contributions each way."""
    sentences = []
    for verb, chosen in (
        ("Raises", table[table.contribution > 0].head(top)),
        ("Lowers", table[table.contribution < 0].head(top)),
    ):
        if len(chosen):
            factors = "; ".join(
                f"{r.feature} = {number_text(r.value)} ({amount(r.contribution)})"
                for r in chosen.itertuples()
            )
            sentences.append(f"{verb} it: {factors}.")
    return sentences
