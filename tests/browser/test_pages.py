"""Predict, Models, Train, Explain and Learn in a real browser (issue 14): what a clinician sees.

One server for the module, with its own workspace and one tiny model trained by a fixture
through dlcore (not through the page); no demo model is trained at boot. Every test screenshots
its page to test-artifacts/ on failure.
"""

from __future__ import annotations

import re
import time

import pytest
from browsertools import ARTIFACTS, app_server, go_to, opened, requires_chromium, wait_ready

pytestmark = requires_chromium

SETUP = """
import datetime as dt
from dlcore.data import load_demo
from dlcore.data.catalog import load_dataset, save_dataset
from dlcore.models.spec import ModelSpec
from dlcore.store import JobRow, get_store
from dlcore.training.pipeline import train_and_register

dataset = load_dataset(save_dataset(load_demo("breast_cancer")))
spec = ModelSpec(hidden_units=[8], epochs=2, batch_size=32, seed=1)
outcome = train_and_register(dataset, spec, name="tiny breast cancer (browser)")
now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
with get_store().session() as session:
    session.add(JobRow(id="j-browser-stopped", title="stopped run", status="cancelled",
                       progress={"epoch": 3, "epochs": 50, "fraction": 1.0},
                       error="cancelled by the user", cancel_requested=True,
                       created=now - dt.timedelta(minutes=2), started=now - dt.timedelta(minutes=2),
                       finished=now - dt.timedelta(minutes=1)))
    session.commit()
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A Streamlit server on a free port, its workspace holding one tiny model and a cancelled job."""
    with app_server(tmp_path_factory.mktemp("dlcore-pages-"), setup=SETUP) as running:
        yield running


def number_field(page, label: str):
    return page.get_by_label(re.compile(f"^{re.escape(label)}"))


def test_predict_clears_a_stale_result_and_says_why_a_value_is_refused(server, browser):
    from playwright.sync_api import expect

    with opened(server, browser, "predict") as page:
        go_to(page, "Predict")
        page.get_by_role("button", name="Predict").click()
        wait_ready(page)
        probability = page.locator("[data-testid=stMetric]", has_text="Probability of malignant")
        expect(probability).to_be_visible()
        value = probability.locator("[data-testid=stMetricValue]").inner_text().strip()
        assert re.fullmatch(r"(\d{1,2}(\.\d)?%|> 99%|< 1%|100%)", value), value

        # A changed input: the old probability disappears, the page says why.
        field = number_field(page, "mean radius").first
        field.fill(str(float(field.input_value()) + 1))
        field.press("Enter")
        wait_ready(page)
        expect(probability).to_have_count(0)
        expect(
            page.get_by_text("The inputs have changed since the last prediction")
        ).to_be_visible()

        # An impossible value: the reason is on the page (not only on hover), Predict is off.
        field.fill("99999")
        field.press("Enter")
        wait_ready(page)
        expect(
            page.get_by_text(re.compile("99,999 is outside what training saw")).first
        ).to_be_visible()
        expect(page.get_by_role("button", name="Predict")).to_be_disabled()
        expect(probability).to_have_count(0)

        # The plain-words help is there for a clinician.
        page.get_by_text("What the numbers mean").click()
        expect(page.get_by_text(re.compile("SHAP points")).first).to_be_visible()


def test_explain_quotes_the_probability_predict_shows(server, browser):
    from playwright.sync_api import expect

    with opened(server, browser, "explain") as page:
        go_to(page, "Predict")
        page.get_by_role("button", name="Predict").click()
        wait_ready(page)
        probability = page.locator("[data-testid=stMetric]", has_text="Probability of malignant")
        value = probability.locator("[data-testid=stMetricValue]").inner_text().strip()
        go_to(page, "Explain")
        expect(page.get_by_role("radio", name="The patient from Predict")).to_be_checked()
        summary = page.get_by_text(re.compile("Raises it|Lowers it")).first
        expect(summary).to_be_visible()
        assert f"Predicted probability of malignant: {value}" in summary.inner_text()
        assert "e+0" not in summary.inner_text()
        expect(page.get_by_text(re.compile("percentage points of")).first).to_be_visible()
        expect(page.get_by_text("What the numbers mean")).to_be_visible()
        # "Records to explain" never offers more records than the dataset has (569 here)
        slider = page.locator("[data-testid=stSlider]").filter(has_text="Records to explain")
        expect(slider).to_be_visible()
        numbers = [int(n) for n in re.findall(r"\d+", slider.inner_text())]
        assert max(numbers) == 500, numbers  # the dataset has 569 records: 500 at most


def test_models_card_reads_as_a_card(server, browser):
    from playwright.sync_api import expect

    with opened(server, browser, "models") as page:
        go_to(page, "Models")
        page.get_by_role("tab", name="Card").click()
        expect(page.get_by_role("heading", name=re.compile("^Model card: "))).to_be_visible()
        expect(page.get_by_role("heading", name="Intended use")).to_be_visible()
        expect(page.locator("[data-testid=stJson]")).to_have_count(0)
        expect(
            page.get_by_role("button", name=re.compile("Download the card as JSON"))
        ).to_be_visible()
        card = page.get_by_role("tabpanel", name="Card")
        assert "ROC AUC" in card.inner_text() and "roc_auc" not in card.inner_text()


def test_train_status_text_matches_each_job_and_cancel_is_fast(server, browser):
    from playwright.sync_api import expect

    with opened(server, browser, "train") as page:
        go_to(page, "Train")
        selector = page.get_by_role("combobox", name="Show job")
        # a job cancelled at epoch 3 (the only one yet) is neither 'queued' nor shown 100% done
        expect(selector).to_have_value(re.compile(r"^stopped run · cancelled at epoch 3 · "))
        expect(page.get_by_text("Status: cancelled at epoch 3")).to_be_visible()

        # a live job: the selector follows it from queued to running to cancelled
        page.get_by_role("combobox", name="Dataset").click()
        page.get_by_role("option", name=re.compile("^Breast cancer diagnosis")).click()
        wait_ready(page)
        epochs = page.get_by_label("Epochs (at most)")
        epochs.fill("400")
        epochs.press("Enter")
        wait_ready(page)
        page.get_by_role("button", name="Start training").click()
        expect(page.get_by_text(re.compile("Training queued")).first).to_be_visible()
        expect(page.get_by_text(re.compile(r"0 job\(s\) ahead"))).to_have_count(0)
        expect(page.get_by_text(re.compile(r"Status: running · epoch [1-9]"))).to_be_visible(
            timeout=90_000
        )
        expect(selector).to_have_value(re.compile(r" · running · epoch \d+ of 400 · "))
        expect(
            page.get_by_text(re.compile(r"estimating the time left|at most about .* left"))
        ).to_be_visible()
        asked = time.monotonic()
        page.get_by_role("button", name="Cancel training").click()
        expect(page.get_by_text(re.compile(r"Status: cancelled at epoch \d+"))).to_be_visible(
            timeout=30_000
        )
        took = time.monotonic() - asked
        # the label follows on the page's next full run (which rebuilds the architecture preview:
        # over 30 s at a load average of 12 on 2 cores)
        expect(selector).to_have_value(re.compile(r" · cancelled at epoch \d+ · "), timeout=90_000)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "cancel-latency-browser.txt").write_text(f"{took:.1f} s\n")
        assert took < 10.0, f"the page showed the cancel after {took:.1f} s"


def test_learn_loss_surface_fills_its_axes(server, browser):
    from playwright.sync_api import expect

    with opened(server, browser, "learn") as page:
        go_to(page, "Learn")
        page.get_by_role("tab", name="Gradient descent").click()
        chart = page.locator(".js-plotly-plot").filter(has_text="Optimizers on a loss surface")
        expect(chart).to_be_visible()
        page.wait_for_timeout(500)
        ranges = chart.evaluate(
            "gd => [gd._fullLayout.xaxis.range, gd._fullData[0].x[0], "
            "gd._fullData[0].x[gd._fullData[0].x.length - 1]]"
        )
        (x_low, x_high), data_low, data_high = ranges
        # the heatmap covers the whole axis: no white bands beside it
        assert x_low == pytest.approx(data_low, abs=1e-6), ranges
        assert x_high == pytest.approx(data_high, abs=1e-6), ranges
        expect(page.get_by_text("Activation f", exact=True)).to_have_count(0)
