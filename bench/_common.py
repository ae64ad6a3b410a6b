"""Shared helpers for the benchmarks: a throwaway workspace, timing, and small printed tables.

Import this module before ``dlcore``: it points ``DLCORE_HOME`` at a temporary folder (removed at
exit) so that a benchmark never writes into the repository's workspace.
"""

from __future__ import annotations

import atexit
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WORKSPACE = Path(tempfile.mkdtemp(prefix="dlcore-bench-"))
os.environ["DLCORE_HOME"] = str(WORKSPACE)
os.environ.pop("DLCORE_DATABASE_URL", None)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
atexit.register(shutil.rmtree, WORKSPACE, ignore_errors=True)

# The real tables of ../shared/data (not part of the repository); DLCORE_BENCH_DATA overrides.
SHARED_DATA = Path(os.environ.get("DLCORE_BENCH_DATA") or ROOT.parent / "shared" / "data")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Run ``fn()`` once; returns (seconds, its result)."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str = "") -> None:
    """Print rows under headers as an aligned plain-text table.

    ``align`` has one letter per column, 'l' or 'r'; by default the first column is left-aligned
    and the others right-aligned.
    """
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    align = align or "l" + "r" * (len(headers) - 1)

    def line(row: list[str]) -> str:
        return "  ".join(
            cell.ljust(widths[i]) if align[i] == "l" else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()

    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(line(row))


def goal(description: str, met: bool) -> bool:
    """Print a goal line ('goal: ... -> MET' / 'NOT MET'); returns ``met``."""
    print(f"goal: {description} -> {'MET' if met else 'NOT MET'}")
    return met


def header(title: str) -> None:
    print()
    print(title)
    print("=" * len(title))


def environment() -> str:
    """One line naming the machine and library versions the figures come from."""
    import platform

    import keras
    import numpy as np
    import tensorflow as tf

    return (
        f"python {platform.python_version()}, tensorflow {tf.__version__}, keras {keras.__version__}, "
        f"numpy {np.__version__}, {os.cpu_count()} CPU(s)"
    )
