"""What a model card reports from an evaluation, computed once: the report at the saved operating
point, the subgroups at it, and the figures — for model_card_markdown / model_card_html."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dlcore.evaluate.subgroups import SubgroupChoice, choice_report


@dataclass
class CardParts:
    """The evaluation report, its subgroup report (or None) and the plotly figures of a card."""

    report: Any
    subgroups: Any = None
    figures: list[Any] = field(default_factory=list)

    def markdown(self, card: dict[str, Any]) -> str:
        """The model card as Markdown."""
        from dlcore.report.card import model_card_markdown

        return model_card_markdown(card, self.report, self.subgroups)

    def html(self, card: dict[str, Any]) -> str:
        """The model card as one self-contained HTML file with its figures."""
        from dlcore.report.card import model_card_html

        return model_card_html(card, self.report, self.subgroups, self.figures)


def binary_card_parts(
    report: Any,
    y: np.ndarray,
    p: np.ndarray,
    threshold: float,
    *,
    decision: Any = None,
    subgroup: SubgroupChoice | None = None,
    values: pd.Series | None = None,
) -> CardParts:
    """A binary card at the saved ``threshold``: the ClinicalReport with its threshold metrics
    recomputed there (the report's own resamples), the decision curve shown (``decision``, else
    the report's) and the subgroups of ``subgroup`` (over ``values``) at that threshold."""
    from dlcore.evaluate.clinical import metrics_at_threshold
    from dlcore.plots.clinical import (
        plot_decision_curve,
        plot_reliability,
        plot_roc_with_band,
        plot_subgroups,
    )

    metrics, counts = metrics_at_threshold(y, p, threshold, resamples=report.resamples)
    curve = decision if decision is not None else report.decision
    at_saved = dataclasses.replace(
        report, threshold=threshold, at_threshold=metrics, confusion=counts, decision=curve
    )
    groups = None
    if subgroup is not None and values is not None:
        groups = choice_report(subgroup, y, p, values, threshold)
    figures = [
        plot_roc_with_band(at_saved),
        plot_reliability(report.calibration),
        plot_decision_curve(curve, threshold),
    ]
    if groups is not None:
        figures.append(plot_subgroups(groups))
    return CardParts(at_saved, groups, figures)


def multiclass_card_parts(report: Any) -> CardParts:
    """A multiclass card: the report and its one-vs-rest ROC curves with bands."""
    from dlcore.plots.clinical import plot_multiclass_with_bands

    return CardParts(report, None, [plot_multiclass_with_bands(report)])


def regression_card_parts(report: Any, fit: Any, source: str) -> CardParts:
    """A regression card: the report, predicted-against-actual (``fit``, a RegressionReport) on
    ``source`` and the residuals."""
    from dlcore.plots.clinical import plot_residuals
    from dlcore.plots.metrics import plot_regression

    scatter = plot_regression(fit)
    scatter.update_layout(title=f"Predicted against actual — {source}")
    return CardParts(report, None, [scatter, plot_residuals(report)])


def survival_card_parts(report: Any, time_label: str = "time") -> CardParts:
    """A survival card: the report and the Kaplan–Meier curves of the predicted-risk thirds."""
    from dlcore.plots.survival import plot_kaplan_meier

    return CardParts(report, None, [plot_kaplan_meier(report, time_label=time_label)])
