"""A molecule in a real browser: Data draws the solubility molecules, Train trains on them (a
worker job), Predict takes pasted SMILES and says which are outside the model's domain, Explain
draws the atom heatmap with sentences that name substructures."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the main flow's server helpers
from test_main_flow import (
    ARTIFACTS,
    CHROMIUM,
    PAGE_TIMEOUT_MS,
    ROOT,
    free_port,
    go_to,
    stop_workers,
    wait_ready,
)
from test_main_flow import browser as browser

pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason=f"{CHROMIUM} is missing (install Debian's chromium: make browser)",
)
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
    import shutil
    import signal
    import urllib.request

    home = tmp_path_factory.mktemp("dlcore-molecules-")
    env = {**os.environ, "DLCORE_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env["DLCORE_DEMO_AUTOTRAIN"] = "0"
    env["STREAMLIT_SERVER_HEADLESS"] = "true"
    env.pop("DLCORE_DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-c", SETUP],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=240,
        capture_output=True,
    )
    port = free_port()
    log_path = home / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log_path.read_text()[-3000:]
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response,
            ):
                if response.read() == b"ok":
                    break
            assert time.monotonic() < deadline, "the server did not answer within 60 s"
            time.sleep(0.2)
        yield {"url": url, "home": home, "log": log_path}
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
        stop_workers(home)
        shutil.rmtree(home, ignore_errors=True)


def test_data_train_predict_explain_a_molecule(server, browser):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        page.goto(server["url"])
        wait_ready(page)

        # Data: the saved molecules, drawn, with their counts.
        go_to(page, "Data")
        page.get_by_role("combobox", name="A saved dataset").click()
        page.get_by_role("option", name=re.compile("^ESOL 200 molecules")).click()
        wait_ready(page)
        page.get_by_role("tab", name="Preview").click()
        expect(page.get_by_text("Molecules in 'SMILES'")).to_be_visible()
        expect(page.locator("[data-testid=stImage] img").first).to_be_visible()

        # Train: two epochs through the page's worker job.
        go_to(page, "Train")
        page.get_by_role("combobox", name="Dataset").click()
        page.get_by_role("option", name=re.compile("^ESOL 200 molecules")).click()
        wait_ready(page)
        epochs = page.get_by_label("Epochs (at most)")
        epochs.fill("2")
        epochs.press("Enter")
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
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "molecules-failure.png"), full_page=True)
        (ARTIFACTS / "molecules-server.log").write_bytes(Path(server["log"]).read_bytes())
        raise
    finally:
        page.close()
