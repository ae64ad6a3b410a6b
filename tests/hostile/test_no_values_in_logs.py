"""A marker planted in cells (a category, a number-like text) and in the file's name is trained
on, predicted on and refused by the command line; it must never appear on standard error, in the
workspace's logs, job logs, the audit trail or the model cards (only in the data itself and in
the predictions written where asked). Runs a real training: make test-hostile."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
MARKER = "QZXMARK"

pytestmark = pytest.mark.skipif(
    os.environ.get("DLCORE_HOSTILE_FULL") != "1",
    reason="trains a model (TensorFlow): run by make test-hostile",
)


def _cli(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DLCORE_")},
        "DLCORE_HOME": str(home),
        "PYTHONPATH": str(ROOT),
        "DLCORE_TF_THREADS": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "dlcore", *argv],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=False,
    )


def test_planted_values_never_reach_logs_audit_or_cards(tmp_path):
    rng = np.random.default_rng(3)
    n = 160
    frame = pd.DataFrame(
        {
            "age": rng.integers(20, 90, n),
            "ward": rng.choice(["north", "south"], n),
            "outcome": rng.integers(0, 2, n),
        }
    )
    frame.loc[7, "ward"] = f"{MARKER}_ward"
    frame.loc[9, "age"] = np.nan
    data = tmp_path / f"Doe_John_{MARKER}.csv"
    frame.to_csv(data, index=False)
    frame.loc[9, "age"] = 50
    new = frame.drop(columns="outcome").assign(
        ward=["north", f"{MARKER}_new", "=1+1", "south"] * (n // 4)
    )
    new_path = tmp_path / f"new_{MARKER}.csv"
    new.to_csv(new_path, index=False)
    home = tmp_path / "home"
    outputs = []
    trained = _cli(
        home,
        "train",
        "--data",
        str(data),
        "--target",
        "outcome",
        "--epochs",
        "2",
        "--cv",
        "0",
        "--json",
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    model_id = json.loads(trained.stdout)["model_id"]
    outputs.append(trained.stderr)
    out = tmp_path / "predictions.csv"
    predicted = _cli(
        home, "predict", "--model", model_id, "--data", str(new_path), "--out", str(out)
    )
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    assert (
        "value(s) not seen in training" in predicted.stderr
    )  # the warning is there, without values
    outputs.append(predicted.stderr)
    for refused in (
        _cli(home, "train", "--data", str(data), "--target", "nope"),
        _cli(home, "predict", "--model", model_id, "--data", str(data), "--out", str(data)),
        _cli(home, "evaluate", "--model", model_id, "--data", str(new_path)),
    ):
        outputs.append(refused.stderr)
    exported = tmp_path / "audit.csv"
    assert _cli(home, "audit", "--out", str(exported)).returncode == 0
    for text in outputs:
        assert MARKER not in text, text[-1500:]
    assert MARKER not in exported.read_text()
    # Logs, job logs, cards, dataset descriptions: everything in the workspace but the data itself.
    leaks = []
    for path in home.rglob("*"):
        if not path.is_file() or path.suffix in (
            ".parquet",
            ".npz",
            ".keras",
            ".db",
            ".db-wal",
            ".db-shm",
        ):
            continue
        if MARKER in path.read_bytes().decode("utf-8", "replace"):
            leaks.append(str(path.relative_to(home)))
    assert leaks == []
    # The predictions keep the values (that is the result asked for), formulas neutralised.
    written = pd.read_csv(out)
    assert f"{MARKER}_new" in set(written["ward"]) and "'=1+1" in set(written["ward"])
