"""`train --treatment COL` on the command line: a treatment-effect network registered with the
arms' check, the trial's effect and the Qini areas in --json; bad treatment columns exit 2."""

from __future__ import annotations

import json

import pytest
from apptools import cli_environment, run_cli, run_cli_in_process

from dlcore.data.synthetic import make_trial


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    return cli_environment(tmp_path_factory.mktemp("cli-treatment"))


def test_train_with_treatment_reports_benefit_evaluation(env, tmp_path):
    frame, truth = make_trial(1500, seed=4)
    path = tmp_path / "trial.csv"
    frame.to_csv(path, index=False)
    result = run_cli(
        env, "train", "--data", str(path), "--target", "event", "--positive", "yes",
        "--treatment", "arm", "--epochs", "8", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["task"] == "treatment"
    section = out["treatment"]
    assert section["arms"] == ["control", "treated"]
    assert section["check"]["looks_randomised"] is True
    effect = section["overall_effect"]
    assert effect["low"] < float(truth.mean()) < effect["high"]
    assert {"qini_area", "qini_low", "qini_high"} <= set(section["uplift"])
    assert "qini_area" in section["baselines"]["t_learner"]


def test_train_with_a_one_arm_treatment_exits_2(env, tmp_path):
    frame, _ = make_trial(300, seed=4)
    frame["arm"] = "treated"
    path = tmp_path / "one_arm.csv"
    frame.to_csv(path, index=False)
    # in this process (a TensorFlow start spared); test_cli checks exit 2 from a real process
    result = run_cli_in_process(
        env["DLCORE_HOME"], "train", "--data", str(path), "--target", "event", "--treatment", "arm"
    )
    assert result.returncode == 2
    assert "only one arm" in result.stderr and "at least two arms" in result.stderr
