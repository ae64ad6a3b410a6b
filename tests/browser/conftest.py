"""The browser tests' shared fixture: one Chromium per test module (helpers in browsertools)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browsertools import chromium


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched
