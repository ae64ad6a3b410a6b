"""What the browser tests share: the app's server on a free port in its own workspace, Chromium,
and Streamlit's own way of waiting for a page to be ready."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGE_TIMEOUT_MS = 60_000
SERVER_START_S = 60

requires_chromium = pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason=f"{CHROMIUM} is missing (install Debian's chromium: make browser)",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_workers(home: Path) -> None:
    """Kill the training workers the server started (they run in their own sessions)."""
    database = home / "dlcore.db"
    if not database.is_file():
        return
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT id, pid FROM jobs WHERE status IN ('queued', 'running') AND pid IS NOT NULL"
        ).fetchall()
    killed = []
    for job_id, pid in rows:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "dlcore.training.worker" in cmdline and job_id in cmdline:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in killed) and time.monotonic() < deadline:
        time.sleep(0.1)


def workspace_env(home: Path, *, demo_autotrain: bool = False) -> dict[str, str]:
    """The environment of the app or a setup script working in ``home`` (SQLite, no sign-in)."""
    env = {**os.environ, "DLCORE_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env["DLCORE_DEMO_AUTOTRAIN"] = "1" if demo_autotrain else "0"
    env.pop("DLCORE_DATABASE_URL", None)
    env.pop("DLCORE_AUTH", None)
    return env


@contextlib.contextmanager
def app_server(
    home: Path, *, demo_autotrain: bool = False, serve: bool = False, setup: str | None = None
) -> Iterator[dict]:
    """The app on a free port working in ``home``; stopped (its process group, its training
    workers) and ``home`` removed after.

    ``setup`` is Python run in the workspace first (e.g. saving a dataset); ``serve`` starts it
    as ``make run`` does (``python -m ui.serve``) rather than ``streamlit run app.py``; with
    ``demo_autotrain`` the demo model is trained at boot, as on a first start.
    Yields the url, port, workspace and server log.
    """
    env = workspace_env(home, demo_autotrain=demo_autotrain)
    if setup:
        subprocess.run(
            [sys.executable, "-c", setup],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=240,
            capture_output=True,
        )
    port = free_port()
    launcher = ["-m", "ui.serve"] if serve else ["-m", "streamlit", "run", "app.py"]
    log_path = home / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, *launcher, "--server.port", str(port), "--server.headless", "true"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            assert process.poll() is None, log_path.read_text()[-3000:]
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response,
            ):
                if response.read() == b"ok":
                    break
            assert time.monotonic() < deadline, (
                f"the server did not answer within {SERVER_START_S} s"
            )
            time.sleep(0.2)
        yield {"url": url, "port": port, "home": home, "log": log_path}
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
        stop_workers(home)
        shutil.rmtree(home, ignore_errors=True)


@contextlib.contextmanager
def chromium() -> Iterator:
    """Debian's Chromium driven by Playwright (``playwright install`` cannot download here)."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_ready(page, timeout_ms: int = PAGE_TIMEOUT_MS) -> None:
    """Synchronise as Streamlit's own e2e suite does: connected, script finished, no skeleton."""
    page.wait_for_selector(
        "[data-testid=stApp][data-test-connection-state=CONNECTED]", timeout=timeout_ms
    )
    page.wait_for_selector(
        "[data-testid=stApp][data-test-script-state=notRunning]", timeout=timeout_ms
    )
    page.wait_for_function(
        "!document.querySelector('[data-testid=stSkeleton]')", timeout=timeout_ms
    )


def go_to(page, title: str) -> None:
    """Follow the sidebar link to a page and wait for its title."""
    from playwright.sync_api import expect

    page.locator("[data-testid=stSidebarNav]").get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible(
        timeout=PAGE_TIMEOUT_MS
    )
    wait_ready(page)


@contextlib.contextmanager
def opened(server: dict, browser, name: str, width: int = 1400, height: int = 900) -> Iterator:
    """A page on the app's home, ready; on failure its screenshot and the server log are saved
    to test-artifacts/ as ``<name>-failure.png`` and ``<name>-server.log``."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        page.goto(server["url"])
        wait_ready(page)
        yield page
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}-failure.png"), full_page=True)
        (ARTIFACTS / f"{name}-server.log").write_bytes(Path(server["log"]).read_bytes())
        raise
    finally:
        page.close()
