"""The hostile-input suite: small limits so bombs stay small, and a helper that asserts a refusal
says what was received, what was expected and how to fix it."""

from __future__ import annotations

import pytest

from dlcore.config import reset_settings

# Small caps: a bomb three times the cap still builds in milliseconds.
SMALL_LIMITS = {
    "DLCORE_MAX_UPLOAD_MB": "2",
    "DLCORE_MAX_ROWS": "500",
    "DLCORE_MAX_COLUMNS": "50",
}


@pytest.fixture
def small_limits(monkeypatch):
    """Upload 2 MB (archives unpack to at most 8 MB), 500 rows, 50 columns."""
    for key, value in SMALL_LIMITS.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    yield
    for key in SMALL_LIMITS:
        monkeypatch.delenv(key, raising=False)
    reset_settings()
