"""ui.startup: the deferred start-up work waits for the first page's script run to end."""

from __future__ import annotations

import threading

from ui import startup


def test_deferred_work_starts_only_after_the_first_page_run_ended(monkeypatch):
    started = threading.Event()
    monkeypatch.setattr(startup, "prepare", lambda: started.set() or {"done": True})
    page_may_end = threading.Event()
    page_run = threading.Thread(target=page_may_end.wait, name="first page")
    page_run.start()
    boot = startup.Boot()
    boot.start_in_background(after=page_run)
    assert not started.wait(0.3)  # the page's run is still sending its elements
    page_may_end.set()
    assert boot.done.wait(10) and started.is_set()
    assert boot.result == {"done": True} and not boot.failed


def test_deferred_work_gives_up_waiting_for_a_run_that_never_ends(monkeypatch):
    monkeypatch.setattr(startup, "AFTER_FIRST_PAGE_WAIT_S", 0.2)
    monkeypatch.setattr(startup, "prepare", lambda: {"done": True})
    never = threading.Event()
    page_run = threading.Thread(target=never.wait, daemon=True)
    page_run.start()
    boot = startup.Boot()
    boot.start_in_background(after=page_run)
    assert boot.done.wait(10) and boot.result == {"done": True}
    never.set()
