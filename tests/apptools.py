"""Helpers shared by the AppTest modules: start the app, open a page, find widgets, read values.

Pages swallow unexpected errors into a short apology (ui.common.guard), so ``healthy`` fails on
that apology as well as on an exception.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def new_app() -> AppTest:
    """The app as a fresh browser session would get it."""
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def healthy(at: AppTest) -> AppTest:
    """Fail on an exception or on the apology the pages show for unexpected errors."""
    assert not at.exception, [e.value for e in at.exception]
    apologies = [e.value for e in at.error if "Sorry" in e.value]
    assert not apologies, apologies
    return at


def open_page(page: str, at: AppTest | None = None) -> AppTest:
    """Boot the app (home) unless ``at`` is given, switch to ``page`` and check the run."""
    if at is None:
        at = new_app()
        healthy(at.run())
    return healthy(at.switch_page(f"pages/{page}.py").run())


def widget(elements, label_start: str):
    """The first widget whose label starts with ``label_start``."""
    found = [w for w in elements if w.label.startswith(label_start)]
    assert found, f"no widget labelled '{label_start}…' among {[w.label for w in elements]}"
    return found[0]


def button(at: AppTest, label: str):
    """The button labelled exactly ``label``, else the first whose label starts with it."""
    exact = [b for b in at.button if b.label == label]
    return exact[0] if exact else widget(at.button, label)


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def deltas(at: AppTest) -> dict[str, str]:
    return {m.label: m.delta for m in at.metric}


def figures(at: AppTest) -> dict[str, dict]:
    """The page's plotly charts as figure JSON, by each element's key (else its position)."""
    return {
        getattr(e, "key", None) or str(i): json.loads(e.proto.spec)
        for i, e in enumerate(at.get("plotly_chart"))
    }


@contextlib.contextmanager
def switched_workspace(prefix: str = "dlcore-isolated-") -> Iterator[Path]:
    """A fresh workspace (files, database, Streamlit caches) until the block ends."""
    import streamlit as st

    from dlcore.config import reset_settings
    from dlcore.store import reset_stores

    def switch(home: str) -> None:
        os.environ["DLCORE_HOME"] = home
        reset_settings()
        reset_stores()
        st.cache_resource.clear()  # boot() and the model loaders
        st.cache_data.clear()

    previous = os.environ["DLCORE_HOME"]
    with tempfile.TemporaryDirectory(prefix=prefix) as home:
        switch(home)
        try:
            yield Path(home)
        finally:
            switch(previous)


def snapshot_cards(*model_ids: str):
    """Restore the cards of ``model_ids`` exactly as they were (no operating point or
    recalibration added by a test)."""
    from dlcore.fsutil import write_json
    from dlcore.registry import CARD_FILE, _folder, get_card

    saved = {i: get_card(i) for i in model_ids}

    def restore() -> None:
        for model_id, card in saved.items():
            write_json(_folder(model_id) / CARD_FILE, card)

    return restore


SHARED_DATA = ROOT.parent / "shared" / "data"


def shared_file(relative: str) -> Path:
    """A file in ../shared/data, or skip the test with the reason when it is absent."""
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(f"{path} is absent (the shared benchmark data is optional)")
    return path


def cli_environment(home: Path) -> dict[str, str]:
    """The environment of a ``python -m dlcore`` subprocess working in ``home``."""
    env = dict(os.environ)
    env["DLCORE_HOME"] = str(home)
    env.pop("DLCORE_DATABASE_URL", None)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


def run_cli(env: dict[str, str], *args: str, timeout: float = 600):
    """Run ``python -m dlcore ARGS`` from the project root; returns the CompletedProcess."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "dlcore", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def json_line(result) -> dict:
    """The one JSON object a ``--json`` command printed."""
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


def run_cli_in_process(home: Path, *args: str):
    """``python -m dlcore ARGS`` run by ``dlcore.cli.main.main`` in this process, working in
    ``home`` (settings and stores switched there and back), its output captured; returns a
    CompletedProcess like ``run_cli``. Spares the TensorFlow start of a subprocess."""
    import io
    import subprocess

    from dlcore.cli.main import main
    from dlcore.config import reset_settings
    from dlcore.store import reset_stores

    def switch(folder: str) -> None:
        os.environ["DLCORE_HOME"] = folder
        reset_settings()
        reset_stores()

    out, err = io.StringIO(), io.StringIO()
    previous = os.environ["DLCORE_HOME"]
    switch(str(home))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        switch(previous)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def race_at_start_line(commands: list[list[str]], environment: dict[str, str], home: Path) -> list:
    """Start child processes that each write ``home/ready-<i>`` and then wait for ``home/start``;
    once all are ready, fire the start and return their (stdout, stderr) after checking each
    exited 0: races begin at one moment, not as the children happen to start."""
    import subprocess
    import time

    children = [
        subprocess.Popen(
            command,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    deadline = time.monotonic() + 120
    while len(list(home.glob("ready-*"))) < len(children):  # all at the start line
        assert time.monotonic() < deadline, "the racers did not all reach the start line"
        time.sleep(0.05)
    (home / "start").write_text("go")
    outputs = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err[-1500:]
        outputs.append((out, err))
    return outputs


def cancelled_and_gone(job_id: str) -> bool:
    """Cancel a job and wait until its worker process has exited: a worker still starting up
    writes into the workspace, which the test's fixture removes when the test ends."""
    import time

    from dlcore.training.jobs import cancel_job, get_backend, get_job, wait_for_job

    job = wait_for_job(cancel_job(job_id).id, timeout_s=120)
    deadline = time.monotonic() + 120
    while get_backend().is_alive(get_job(job_id)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not job.is_active and not get_backend().is_alive(get_job(job_id))
