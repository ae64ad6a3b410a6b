"""A randomised trial in a real browser (issue 18): Data shows the indo_rct demo's treatment column
and the arms' check, Train trains a treatment-effect network on it (a worker job), Predict gives
one patient's benefit with the number needed to treat, Evaluate shows the Qini curve."""

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

TRAINING_TIMEOUT_MS = 300_000
SETUP = """
from dlcore.training.demo_models import ensure_demo_datasets

ensure_demo_datasets()
"""
TRIAL = "Indomethacin for pancreatitis after ERCP"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A Streamlit server on a free port; its workspace holds the demo datasets, no model."""
    import shutil
    import signal
    import urllib.request

    home = tmp_path_factory.mktemp("dlcore-trial-")
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


def test_data_train_predict_evaluate_a_trial(server, browser):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        page.goto(server["url"])
        wait_ready(page)

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
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "treatment-failure.png"), full_page=True)
        (ARTIFACTS / "treatment-server.log").write_bytes(Path(server["log"]).read_bytes())
        raise
    finally:
        page.close()
