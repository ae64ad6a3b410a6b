"""The command line, run as a user runs it: `python -m dlcore ...` in a fresh workspace.

Each TensorFlow-loading subprocess costs seconds, so the model is trained once for the module and
each command runs once; the tests check their results. Training and the exits with status 2 run
as subprocesses; predict, explain and models after it run ``dlcore.cli.main.main`` in this
process, in the same workspace (its output captured), to spare a TensorFlow start each.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from apptools import cli_environment, json_line, run_cli, run_cli_in_process

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT = 600


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli-home")


@pytest.fixture(scope="module")
def cli_env(cli_home) -> dict[str, str]:
    return cli_environment(cli_home)


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return run_cli(env, *args, timeout=TIMEOUT)


_json_line = json_line


@pytest.fixture(scope="module")
def trained(cli_env) -> dict:
    # The defaults for this size (an ensemble of 5 networks), 10 epochs each: AUC 0.996 as after
    # 40 (measured), for a quarter of the fit time (41 s instead of 108 s at a load of 20).
    result = _run(cli_env, "train", "--data", "demo:breast_cancer", "--epochs", "10", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    return _json_line(result)


@pytest.fixture(scope="module")
def records_csv(cli_home, breast_cancer) -> Path:
    path = cli_home / "ten.csv"
    breast_cancer.frame.drop(columns="diagnosis").head(10).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def after_training(cli_env, cli_home, trained, records_csv) -> dict:
    """predict, explain and models (in this process) and an unknown id (a subprocess), after
    the training, one after another."""
    model_id = trained["model_id"]
    out, never = cli_home / "out.csv", cli_home / "never.csv"
    data = str(records_csv)
    results: dict = {
        "predict": run_cli_in_process(
            cli_home, "predict", "--model", model_id, "--data", data, "--out", str(out)
        ),
        "explain": run_cli_in_process(
            cli_home, "explain", "--model", model_id, "--data", data, "--row", "0", "--json"
        ),
        "models": run_cli_in_process(cli_home, "models", "--json"),
        "uncertainty": run_cli_in_process(
            cli_home,
            "predict",
            "--model",
            model_id,
            "--data",
            data,
            "--out",
            str(cli_home / "spread.csv"),
            "--uncertainty",
            "--json",
        ),
        "unknown_model": _run(
            cli_env, "predict", "--model", "m-0000000000", "--data", data, "--out", str(never)
        ),
    }
    results["out"], results["never"] = out, never
    return results


def test_train_acceptance(trained):
    assert trained["model_id"].startswith("m-")
    assert trained["task"] == "binary"
    assert trained["metrics"]["roc_auc"] >= 0.97
    assert 1 <= trained["epochs_run"] <= 10
    assert trained["timings"]["ensemble_members"] == 5  # the default for under 1,000 records
    assert 1 <= trained["best_epoch"] <= trained["epochs_run"]
    assert trained["split"] == {"train": 341, "validation": 114, "test": 114}


def test_predict_writes_a_table(after_training):
    result = after_training["predict"]
    assert result.returncode == 0, result.stderr[-2000:]
    assert "wrote 10 predictions" in result.stdout
    table = pd.read_csv(after_training["out"])
    assert len(table) == 10
    assert "probability_malignant" in table.columns
    assert table["probability_malignant"].between(0, 1).all()
    assert set(table["decision"]) <= {"malignant", "benign"}
    assert "mean radius" in table.columns  # the input columns are kept beside the predictions


def test_predict_uncertainty_adds_each_record_s_spread(after_training, cli_home):
    result = after_training["uncertainty"]
    assert result.returncode == 0, result.stderr[-2000:]
    payload = _json_line(result)
    assert payload["uncertainty"]["samples"] == 30
    table = pd.read_csv(cli_home / "spread.csv")
    assert len(table) == 10
    assert (table["runs_low_80"] <= table["runs_high_80"]).all()
    assert table["runs_low_80"].between(0, 1).all() and table["runs_high_80"].between(0, 1).all()
    assert payload["uncertainty"]["disagree"] == int((table["runs_agree"] == "no").sum())
    agree = 10 - payload["uncertainty"]["disagree"]
    assert f"the runs agree for {agree} of 10 records" in payload["uncertainty"]["summary"]


def test_explain_json_is_additive(after_training):
    result = after_training["explain"]
    assert result.returncode == 0, result.stderr[-2000:]
    payload = _json_line(result)
    assert payload["row"] == 0
    assert len(payload["contributions"]) == 30
    total = sum(c["contribution"] for c in payload["contributions"]) + payload["base_value"]
    assert total == pytest.approx(payload["prediction"], abs=1e-4)
    assert payload["output"] == "P(malignant)"
    assert "Raises it" in payload["summary"] or "Lowers it" in payload["summary"]


def test_models_lists_the_model(after_training, trained):
    result = after_training["models"]
    assert result.returncode == 0, result.stderr[-2000:]
    models = _json_line(result)["models"]
    assert [m["id"] for m in models] == [trained["model_id"]]
    assert models[0]["key_metric_name"] == "roc_auc"
    assert models[0]["key_metric_value"] == pytest.approx(trained["metrics"]["roc_auc"])


def test_unknown_model_id_exits_2(after_training):
    result = after_training["unknown_model"]
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "m-0000000000" in errors[0]
    assert not after_training["never"].exists()


def test_unknown_target_exits_2(cli_env):
    result = _run(cli_env, "train", "--data", "demo:breast_cancer", "--target", "no_such_column")
    assert result.returncode == 2
    assert result.stderr.startswith("error:")
    assert "no_such_column" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_non_table_file_exits_2(cli_env, cli_home):
    path = cli_home / "notes.json"
    path.write_text('{"not": "a table"}')
    result = _run(cli_env, "train", "--data", str(path), "--target", "outcome", "--json")
    assert result.returncode == 2
    assert result.stderr.startswith("error:")
    # stderr can be a log: the file's name (it can name a patient) is hidden, its kind is not
    assert "notes.json" not in result.stderr and "(.json file)" in result.stderr
    assert "Traceback" not in result.stderr
    assert "notes.json" in json.loads(result.stdout)["error"]  # --json output is the result


def test_the_search_summary_gives_the_chosen_and_default_validation_auc():
    from dlcore.cli.commands import _search_auc_text

    assert _search_auc_text({"best_val_auc": 0.98765, "default_val_auc": 0.9512}) == (
        ", validation AUC 0.988 (default settings 0.951)"
    )
    assert _search_auc_text({"best_val_auc": 0.9, "default_val_auc": None}).endswith(
        "(default settings –)"
    )
    assert _search_auc_text({"best_val_auc": None, "default_val_auc": None}) == ""


def test_the_search_summary_names_each_lost_trial_and_why():
    from dlcore.cli.commands import _lost_trials_text

    search = {
        "trials": [
            {"number": 1, "status": "finished", "reason": None},
            {"number": 2, "status": "lost", "reason": "ActorDiedError: the node died"},
            {"number": 3, "status": "not run (budget)", "reason": None},
        ]
    }
    assert _lost_trials_text(search) == "; trial 2 lost: ActorDiedError: the node died"
    assert _lost_trials_text({"trials": []}) == ""
