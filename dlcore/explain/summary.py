"""Plain-language summaries of an explanation: the sentences a clinician reads."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dlcore.explain.tabular import Explanation


def summarize(explanation: Explanation, row: int = 0, *, top: int = 3) -> str:
    """A plain-language summary of one record's top factors.

    For example: "Predicted probability of malignant: 87% (reference average 37%). Raises it:
    worst perimeter = 120.3 (+21 points), ... Lowers it: mean texture = 14.2 (−3 points)."
    """
    k = explanation.output_index(row)
    table = explanation.contributions(row, k)
    base = float(explanation.base_values[k])
    output = float(explanation.outputs[row, k])
    probability = explanation.task in ("binary", "multiclass")
    if explanation.task == "survival":
        return _summarize_risk(table, base, output, top)

    def amount(value: float) -> str:
        return f"{value * 100:+.0f} points" if probability else f"{value:+.3g}"

    def level(value: float) -> str:
        return f"{value:.0%}" if probability else f"{value:.4g}"

    if explanation.task == "binary":
        subject = f"Predicted probability of {explanation.output_names[0][2:-1]}"
    elif explanation.task == "multiclass":
        subject = f"Most likely class: {explanation.output_names[k]}, probability"
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

    def shown(value: Any) -> str:
        return f"{value:.4g}" if isinstance(value, float | np.floating) else str(value)

    sentences = []
    for verb, chosen in (
        ("Raises", table[table.contribution > 0].head(top)),
        ("Lowers", table[table.contribution < 0].head(top)),
    ):
        if len(chosen):
            factors = "; ".join(
                f"{r.feature} = {shown(r.value)} ({amount(r.contribution)})"
                for r in chosen.itertuples()
            )
            sentences.append(f"{verb} it: {factors}.")
    return sentences
