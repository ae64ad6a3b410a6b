"""A randomised trial in a real browser (issue 18): Data shows the indo_rct demo's treatment column
and the arms' check, Train trains a treatment-effect network on it (a worker job), Predict gives
one patient's benefit with the number needed to treat, Evaluate shows the Qini curve."""

from __future__ import annotations

import re

import pytest
from browsertools import app_server, go_to, opened, requires_chromium, wait_ready

pytestmark = requires_chromium

TRAINING_TIMEOUT_MS = 300_000
SETUP = """
from dlcore.training.demo_models import ensure_demo_datasets

ensure_demo_datasets()
"""
TRIAL = "Indomethacin for pancreatitis after ERCP"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A Streamlit server on a free port; its workspace holds the demo datasets, no model."""
    with app_server(tmp_path_factory.mktemp("dlcore-trial-"), setup=SETUP) as running:
        yield running


def test_data_train_predict_evaluate_a_trial(server, browser):
    from playwright.sync_api import expect

    with opened(server, browser, "treatment", height=1000) as page:
        # Data: the demo trial, its treatment column and the arms' check.
        go_to(page, "Data")
        page.get_by_role("combobox", name="A saved dataset").click()
        page.get_by_role("option", name=re.compile("^" + TRIAL)).click()
        wait_ready(page)
        expect(page.get_by_text(re.compile("Arms — placebo: 307")).first).to_be_visible()

        # Train: two epochs through the page's worker job.
        go_to(page, "Train")
        page.get_by_role("combobox", name="Dataset").click()
        page.get_by_role("option", name=re.compile("^" + TRIAL)).click()
        wait_ready(page)
        epochs = page.get_by_label("Epochs (at most)")
        epochs.fill("2")
        epochs.press("Enter")
        wait_ready(page)
        page.get_by_role("button", name="Start training").click(timeout=TRAINING_TIMEOUT_MS)
        expect(page.get_by_text(re.compile(r"Finished: 2 epochs"))).to_be_visible(
            timeout=TRAINING_TIMEOUT_MS
        )

        # Predict: one patient's benefit.
        go_to(page, "Predict")
        page.get_by_role("button", name="Estimate benefit").click()
        wait_ready(page)
        expect(page.get_by_text("Benefit (risk reduction)")).to_be_visible()
        expect(page.get_by_text(re.compile("model's estimate")).first).to_be_visible()

        # Evaluate: the Qini curve and its area.
        go_to(page, "Evaluate")
        expect(page.get_by_text(re.compile("Qini area")).first).to_be_visible()
        expect(page.locator(".js-plotly-plot").first).to_be_visible()
