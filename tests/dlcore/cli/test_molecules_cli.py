"""The command line with molecules: train on demo:solubility (the bundled ESOL), predict pasted
SMILES with the applicability domain, explain one molecule into an atom-heatmap PNG."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest
from apptools import cli_environment, json_line, run_cli, run_cli_in_process

pytest.importorskip("rdkit")

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT = 600


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli-molecules")


@pytest.fixture(scope="module")
def cli_env(cli_home) -> dict[str, str]:
    return cli_environment(cli_home)


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return run_cli(env, *args, timeout=TIMEOUT)


_json_line = json_line


@pytest.fixture(scope="module")
def trained(cli_env) -> dict:
    result = _run(
        cli_env,
        "train",
        "--data",
        "demo:solubility",
        "--smiles",
        "SMILES",
        "--epochs",
        "2",
        "--hidden",
        "16",
        "--fingerprint-bits",
        "512",
        "--json",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return _json_line(result)


def test_train_on_the_bundled_solubility_demo(trained):
    assert trained["task"] == "regression"
    assert trained["split_method"] == "scaffold"
    assert trained["group"] == "Bemis–Murcko scaffold"
    assert sum(trained["split"].values()) == 1128
    assert 0 < trained["metrics"]["rmse"] < 5
    assert "Compound ID" in trained["excluded"]
    labels = {b["label"] for b in trained["baselines"]}
    assert {"linear regression", "gradient boosting"} <= labels


def test_predict_and_explain_take_raw_smiles(cli_env, cli_home, trained):
    model_id = trained["model_id"]
    out = cli_home / "predictions.csv"
    # predict and explain run main() in this process (the training and the exit 2 below are
    # subprocesses): a TensorFlow start spared each
    predicted = run_cli_in_process(
        cli_home,
        "predict",
        "--model",
        model_id,
        "--smiles",
        "CCO",
        "O=S(=O)(F)C(F)(F)F",
        "nonsense(",
        "--out",
        str(out),
        "--json",
    )
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    table = pd.read_csv(out)
    assert table["SMILES"].tolist() == ["CCO", "O=S(=O)(F)C(F)(F)F", "nonsense("]
    assert table["tanimoto_to_nearest"].iloc[0] == 1.0  # ethanol is in ESOL
    assert table["tanimoto_to_nearest"].iloc[1] < 0.3
    assert pd.isna(table.iloc[2, 1])
    notes = " ".join(_json_line(predicted)["notes"])
    assert "row 2: not valid SMILES syntax" in notes and "outside what the model has seen" in notes

    png = cli_home / "mol.png"
    explained = run_cli_in_process(
        cli_home,
        "explain",
        "--model",
        model_id,
        "--smiles",
        "OC(=O)c1ccccc1Cl",
        "--out",
        str(png),
        "--json",
    )
    assert explained.returncode == 0, explained.stderr[-2000:]
    payload = _json_line(explained)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(payload["atoms"]) == 10
    total = sum(a["contribution"] for a in payload["atoms"])
    assert total == pytest.approx(payload["fingerprint_total"], abs=1e-9)
    assert payload["additivity_error"] < 1e-3
    assert {"carboxylic acid", "chlorine", "benzene ring"} <= {g["name"] for g in payload["groups"]}

    bad = _run(cli_env, "explain", "--model", model_id, "--smiles", "C(C)(C)(C)(C)C")
    assert bad.returncode == 2
    assert "usable molecule" in bad.stderr
