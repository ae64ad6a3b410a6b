"""Which Ray the backend joins: RAY_ADDRESS when set, otherwise a Ray of its own — never another
instance someone started on the same machine (Ray's default without an address joins "the latest
Ray instance started on this machine")."""

from __future__ import annotations

import pytest

ray = pytest.importorskip("ray")


def _options(monkeypatch, address_env: str | None, address: str | None = None) -> dict:
    from dlcore.training import ray_backend

    seen: dict = {}
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", lambda **options: seen.update(options))
    monkeypatch.setattr(ray_backend, "check_reachable", lambda address: None)
    if address_env is None:
        monkeypatch.delenv("RAY_ADDRESS", raising=False)
    else:
        monkeypatch.setenv("RAY_ADDRESS", address_env)
    ray_backend.ensure_ray(address)
    return seen


def test_without_an_address_it_starts_its_own_ray(monkeypatch, isolated_workspace):
    assert _options(monkeypatch, None)["address"] == "local"


def test_trial_workers_wait_for_a_stopped_trial_before_reuse(monkeypatch, isolated_workspace):
    """Tune aborts the next trial when the previous one's thread has not ended in
    TUNE_FUNCTION_THREAD_TIMEOUT_S (Ray's default 2 s): the workers get a long wait."""
    monkeypatch.delenv("TUNE_FUNCTION_THREAD_TIMEOUT_S", raising=False)
    env_vars = _options(monkeypatch, None)["runtime_env"]["env_vars"]
    assert float(env_vars["TUNE_FUNCTION_THREAD_TIMEOUT_S"]) >= 600


def test_an_address_is_joined(monkeypatch, isolated_workspace):
    assert _options(monkeypatch, "10.0.0.5:6379")["address"] == "10.0.0.5:6379"
    assert _options(monkeypatch, None, "10.0.0.7:6379")["address"] == "10.0.0.7:6379"
