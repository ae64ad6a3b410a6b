"""A molecule in a real browser: Data draws the solubility molecules, Train trains on them (a
worker job), Predict takes pasted SMILES and says which are outside the model's domain, Explain
draws the atom heatmap with sentences that name substructures."""

from __future__ import annotations

import re

import pytest
from browsertools import app_server, go_to, opened, requires_chromium, wait_ready

pytestmark = requires_chromium
pytest.importorskip("rdkit")

TRAINING_TIMEOUT_MS = 300_000
SETUP = """
from dlcore.data.catalog import save_dataset
from dlcore.data.dataset import Dataset
from dlcore.data.demo import load_demo

demo = load_demo("solubility")
save_dataset(Dataset("ESOL 200 molecules", demo.frame.head(200).copy(), demo.schema,
                     source="browser test"))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A Streamlit server on a free port; its workspace holds 200 ESOL molecules, no model."""
    with app_server(tmp_path_factory.mktemp("dlcore-molecules-"), setup=SETUP) as running:
        yield running


def test_data_train_predict_explain_a_molecule(server, browser):
    from playwright.sync_api import expect

    with opened(server, browser, "molecules", height=1000) as page:
        # Data: the saved molecules, drawn, with their counts.
        go_to(page, "Data")
        page.get_by_role("combobox", name="A saved dataset").click()
        page.get_by_role("option", name=re.compile("^ESOL 200 molecules")).click()
        wait_ready(page)
        page.get_by_role("tab", name="Preview").click()
        expect(page.get_by_text("Molecules in 'SMILES'")).to_be_visible()
        expect(page.locator("[data-testid=stImage] img").first).to_be_visible()

        # Train: two epochs of one network through the page's worker job.
        go_to(page, "Train")
        page.get_by_role("combobox", name="Dataset").click()
        page.get_by_role("option", name=re.compile("^ESOL 200 molecules")).click()
        wait_ready(page)
        epochs = page.get_by_label("Epochs (at most)")
        epochs.fill("2")
        epochs.press("Enter")
        wait_ready(page)
        networks = page.get_by_role("spinbutton", name="Networks averaged")
        expect(networks).to_have_value("3")  # the molecule default: an ensemble of 3
        networks.fill("1")
        networks.press("Enter")
        wait_ready(page)
        expect(networks).to_have_value("1")
        # under 500 records cross-validation (10 more trainings) is on by default: this test is
        # about the molecule path through the pages (cross-validation: tests/app/test_train_cv.py)
        cross_validate = page.get_by_role("checkbox", name=re.compile("^Cross-validate first"))
        expect(cross_validate).to_be_checked()
        page.get_by_text("Cross-validate first").click()  # its input is hidden behind the label
        expect(cross_validate).not_to_be_checked()
        wait_ready(page)
        # the architecture preview featurises the molecules first: slow on a busy machine
        page.get_by_role("button", name="Start training").click(timeout=TRAINING_TIMEOUT_MS)
        expect(page.get_by_text(re.compile(r"Finished: 2 epochs"))).to_be_visible(
            timeout=TRAINING_TIMEOUT_MS
        )

        # Predict: pasted SMILES, one of them unlike anything in training.
        go_to(page, "Predict")
        box = page.get_by_role("textbox", name="SMILES, one molecule per line")
        box.fill("CCO\nO=S(=O)(F)C(F)(F)F")
        box.press("Control+Enter")
        wait_ready(page)
        page.get_by_role("button", name="Predict for these molecules").click()
        wait_ready(page)
        expect(
            page.get_by_text(re.compile("outside what the model has seen")).first
        ).to_be_visible()
        expect(page.locator("[data-testid=stDataFrame]").first).to_be_visible()

        # Explain: the atom heatmap and the sentences.
        go_to(page, "Explain")
        field = page.get_by_role("textbox", name="Molecule (SMILES)")
        field.fill("OC(=O)c1ccccc1Cl")
        field.press("Enter")
        wait_ready(page)
        expect(
            page.get_by_text(re.compile("The predicted measured log solubility")).first
        ).to_be_visible()
        expect(page.locator("[data-testid=stImage] img").first).to_be_visible()
        expect(
            page.get_by_text(re.compile("carboxylic acid|chlorine|benzene ring")).first
        ).to_be_visible()
