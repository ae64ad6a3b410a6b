"""The decompression and allocation bombs of the issue, at the product's default limits, read in a
child process capped at 2.5 GB of address space (resource.setrlimit): each is refused before it
inflates, and the child's peak memory stays near its baseline."""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hostiletools import zero_bomb_zip

CAP = int(2.5 * 1024**3)
CHILD = Path(__file__).with_name("memory_child.py")
ROOT = Path(__file__).resolve().parents[2]


def _npy_header(shape: tuple[int, ...], descr: str) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue()


def _npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _bombs(folder: Path) -> dict[str, tuple[str, Path, dict[str, str]]]:
    """name → (reader, file, extra environment)."""
    files: dict[str, tuple[str, bytes, dict[str, str]]] = {
        # 62 kB in the issue: one label of 10^9 built 10^9 class names (22.5 GB).
        "npz-label-1e9": (
            "images",
            _npz(
                train_images=np.zeros((50, 28, 28), np.uint8),
                train_labels=np.r_[np.zeros(49, np.int64), 10**9],
            ),
            {},
        ),
        # 1.9 MB that inflated to 3.9 GB before it was refused.
        "npz-bomb-900MB": (
            "images",
            zero_bomb_zip(
                {
                    "train_images.npy": (_npy_header((900, 1024, 1024), "|u1"), 900),
                    "train_labels.npy": (_npy_header((0,), "<i8"), 0),
                }
            ),
            {},
        ),
        # A header claiming 10^15 bytes raised MemoryError (exit 1).
        "npy-header-1e15-bytes": (
            "images",
            zero_bomb_zip(
                {
                    "train_images.npy": (_npy_header((125_000_000_000_000,), "<f8"), 1),
                    "train_labels.npy": (_npy_header((1,), "<i8"), 0),
                }
            ),
            {},
        ),
        # Below the ZIP cap: a 790 MB zero member was inflated in RAM (1.7-2.2 GB).
        "zip-790MB-member": (
            "images",
            zero_bomb_zip({"a/x.png": (b"\x89PNG\r\n\x1a\n", 790), "b/y.png": (b"", 0)}),
            {},
        ),
        # A .keras whose config.json inflates to 704 MB was read whole (2 GB).
        "keras-config-704MB": (
            "keras",
            zero_bomb_zip(
                {
                    "config.json": (b"{", 704),
                    "model.weights.h5": (b"", 0),
                    "metadata.json": (b"{}", 0),
                }
            ),
            {},
        ),
        # 10,000 columns ran for more than 10 minutes at 3.5 GB.
        "csv-10000-columns": (
            "table",
            (
                ",".join(f"c{i}" for i in range(10_000))
                + "\n"
                + "\n".join(",".join(["1"] * 10_000) for _ in range(100))
            ).encode(),
            {},
        ),
        # 1.15 GB to refuse a 1 M-row file under DLCORE_MAX_ROWS=1000.
        "csv-1M-rows-cap-1000": (
            "table",
            b"a,b,c\n" + b"1,2,3\n" * 1_000_000,
            {"DLCORE_MAX_ROWS": "1000"},
        ),
    }
    out = {}
    for name, (reader, data, env) in files.items():
        suffix = {"images": ".npz", "keras": ".keras", "table": ".csv"}[reader]
        if name.startswith("zip"):
            suffix = ".zip"
        path = folder / f"{name}{suffix}"
        path.write_bytes(data)
        out[name] = (reader, path, env)
    return out


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every bomb read in one child process capped at 2.5 GB: name → outcome."""
    folder = tmp_path_factory.mktemp("bombs")
    cases = [[name, reader, str(path), env] for name, (reader, path, env) in _bombs(folder).items()]
    plan = folder / "cases.json"
    plan.write_text(json.dumps(cases))
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DLCORE_")},
        "DLCORE_HOME": str(folder / "home"),
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        [sys.executable, str(CHILD), str(plan)],
        capture_output=True,
        text=True,
        env=environment,
        preexec_fn=_limit,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-1500:]
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return {o["name"]: o for o in lines}


NAMES = [
    "npz-label-1e9",
    "npz-bomb-900MB",
    "npy-header-1e15-bytes",
    "zip-790MB-member",
    "keras-config-704MB",
    "csv-10000-columns",
    "csv-1M-rows-cap-1000",
]


@pytest.mark.parametrize("name", NAMES)
def test_bomb_is_refused_within_the_memory_cap(name, outcomes):
    outcome = outcomes[name]
    print(name, outcome)
    assert outcome["outcome"] == "refused", outcome
    assert "Expected" in outcome["message"] and outcome["fix"], outcome
    assert outcome["tensorflow"] is False
    # Refused before inflating: the child's peak stays within 300 MB of its baseline (the file
    # itself, a few MB here, plus one chunk), under a 2.5 GB cap, for bombs of 0.7-1,000,000 GB.
    assert outcome["peak_mb"] - outcome["baseline_mb"] < 300, outcome
