"""Model cards from a real registered model: Markdown and HTML contents, and the card parts
computed once at the saved operating point (dlcore.report.card, dlcore.report.card_parts)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from dlcore.evaluate.subgroups import SubgroupChoice
from dlcore.report.card import limitations, model_card_html, model_card_markdown
from dlcore.report.card_parts import binary_card_parts, regression_card_parts


@pytest.fixture(scope="module")
def binary_evaluation(tiny_binary):
    from dlcore.evaluate.model_report import clinical_report, evaluation_data
    from dlcore.registry import load_model

    loaded = load_model(tiny_binary.record.id)
    data = evaluation_data(loaded)
    report = clinical_report(loaded, data, threshold=0.5, resamples=100)
    return loaded, data, report


@pytest.fixture(scope="module")
def parts(binary_evaluation):
    _, data, report = binary_evaluation
    choice = SubgroupChoice("mean radius", True, (12.0, 15.0), 0.1)
    return binary_card_parts(
        report,
        data.y,
        data.probabilities[:, 0],
        0.3,
        subgroup=choice,
        values=data.records["mean radius"],
    )


def test_card_parts_are_at_the_saved_threshold(parts, binary_evaluation):
    _, data, report = binary_evaluation
    y, p = np.asarray(data.y), data.probabilities[:, 0]
    at = parts.report
    assert at.threshold == 0.3 and report.threshold == 0.5  # the cached report is not changed
    c = at.confusion
    assert c["tp"] == int(((p >= 0.3) & (y == 1)).sum())
    assert c["fp"] == int(((p >= 0.3) & (y == 0)).sum())
    assert c["tp"] + c["fn"] == int(y.sum()) and sum(c.values()) == len(y)
    assert at.auc.value == report.auc.value
    assert {row.group for row in parts.subgroups.rows} == {"< 12", "12–15", "≥ 15"}
    assert sum(row.n for row in parts.subgroups.rows) == len(y)
    assert len(parts.figures) == 4  # ROC, reliability, decision curve, subgroups


def test_markdown_card_reports_the_model_its_metrics_and_subgroups(parts, binary_evaluation):
    loaded, _, report = binary_evaluation
    card = dict(loaded.card, intended_use="Adults referred for a breast lump; not for screening.")
    text = parts.markdown(card)
    assert text.startswith("# Model card: tiny breast cancer")
    assert "Adults referred for a breast lump; not for screening." in text
    auc = report.auc
    assert f"| ROC AUC | {auc.value:.3f} ({auc.low:.3f}–{auc.high:.3f}) |" in text
    assert "## Subgroups by mean radius" in text
    assert "## Operating point" in text and "## Limitations" in text
    assert text == model_card_markdown(card, parts.report, parts.subgroups)
    for note in limitations(card, parts.report, parts.subgroups):
        assert f"- {note}" in text


def test_html_card_is_self_contained_with_every_figure(parts, binary_evaluation):
    loaded, _, _ = binary_evaluation
    page = parts.html(dict(loaded.card))
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>")
    assert "<title>Model card: tiny breast cancer</title>" in page
    assert len(re.findall(r'class="plotly-graph-div"', page)) == 4
    assert page.count("<h2>Figures</h2>") == 1
    assert not re.search(r"<script[^>]*src=", page)  # plotly.js inlined: works offline
    assert "<script" in page


def test_a_card_without_a_report_lists_the_training_metrics(binary_evaluation):
    loaded, _, _ = binary_evaluation
    card = dict(loaded.card, name="A <b>bold</b> | name")
    text = model_card_markdown(card)
    assert "# Model card: A <b>bold</b> | name" in text
    page = model_card_html(card)
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "<h2>Figures</h2>" not in page


def test_regression_card_parts(tiny_regression):
    from dlcore.evaluate.metrics import evaluate
    from dlcore.evaluate.model_report import clinical_report, evaluation_data
    from dlcore.registry import load_model

    loaded = load_model(tiny_regression.record.id)
    data = evaluation_data(loaded)
    report = clinical_report(loaded, data, resamples=50)
    fit = evaluate("regression", data.y, data.output)
    parts = regression_card_parts(report, fit, data.source)
    assert len(parts.figures) == 2 and parts.subgroups is None
    assert parts.figures[0].layout.title.text == f"Predicted against actual — {data.source}"
    assert "| MAE |" in parts.markdown(dict(loaded.card))
