"""Hostile command lines: every bad flag exits 2 with received/expected/fix (never 1, never a
traceback); the CLI signs in when accounts are on, refuses what the role may not do, and writes
audit rows; standard error never carries a planted value or file name."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from dlcore.cli.main import main
from dlcore.config import reset_settings
from dlcore.store import reset_stores


@pytest.fixture
def files(tmp_path):
    """A small binary table, a regression table with inf, and spec files of every kind of junk."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.integers(20, 90, 60), "bp": rng.normal(120, 10, 60)})
    frame["outcome"] = (frame["age"] > 55).astype(int)
    frame.to_csv(tmp_path / "cohort.csv", index=False)
    regression = frame.assign(target=rng.normal(size=60))
    regression.loc[5, "target"] = np.inf
    regression.drop(columns="outcome").to_csv(tmp_path / "inf_target.csv", index=False)
    (tmp_path / "junk.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2, 3]")
    (tmp_path / "binary.json").write_bytes(bytes(range(256)))
    (tmp_path / "folder").mkdir()
    return tmp_path


def _run(capsys, *argv: str) -> tuple[int, str]:
    try:
        status = main(list(argv))
    except SystemExit as exit_:  # argparse refuses a flag's value with exit 2
        status = int(exit_.code)
    return status, capsys.readouterr().err


BAD_FLAGS = [
    (
        "spec-missing",
        ["train", "--data", "{cohort}", "--target", "outcome", "--spec", "{d}/none.json"],
    ),
    (
        "spec-junk",
        ["train", "--data", "{cohort}", "--target", "outcome", "--spec", "{d}/junk.json"],
    ),
    (
        "spec-list",
        ["train", "--data", "{cohort}", "--target", "outcome", "--spec", "{d}/list.json"],
    ),
    (
        "spec-binary",
        ["train", "--data", "{cohort}", "--target", "outcome", "--spec", "{d}/binary.json"],
    ),
    ("spec-folder", ["train", "--data", "{cohort}", "--target", "outcome", "--spec", "{d}/folder"]),
    ("image-size-0", ["train", "--data", "demo:digits", "--image-size", "0"]),
    ("image-size-negative", ["train", "--data", "demo:digits", "--image-size", "-3"]),
    ("image-size-text", ["train", "--data", "demo:digits", "--image-size", "big"]),
    ("image-size-4", ["train", "--data", "demo:digits", "--image-size", "4"]),
    ("resamples-0", ["evaluate", "--model", "m-0000000000", "--resamples", "0"]),
    ("resamples-negative", ["evaluate", "--model", "m-0000000000", "--resamples", "-10"]),
    ("resamples-text", ["evaluate", "--model", "m-0000000000", "--resamples", "many"]),
    ("threshold-2", ["evaluate", "--model", "m-0000000000", "--threshold", "2"]),
    ("threshold-nan", ["evaluate", "--model", "m-0000000000", "--threshold", "nan"]),
    (
        "out-missing-folder",
        ["predict", "--model", "m-0000000000", "--data", "{cohort}", "--out", "{d}/no/such/x.csv"],
    ),
    (
        "out-bad-extension",
        ["predict", "--model", "m-0000000000", "--data", "{cohort}", "--out", "{d}/x.txt"],
    ),
    (
        "out-no-extension",
        ["predict", "--model", "m-0000000000", "--data", "{cohort}", "--out", "{d}/x"],
    ),
    (
        "out-is-input",
        ["predict", "--model", "m-0000000000", "--data", "{cohort}", "--out", "{cohort}"],
    ),
    (
        "out-is-folder",
        ["predict", "--model", "m-0000000000", "--data", "{cohort}", "--out", "{d}/folder"],
    ),
    (
        "model-unknown",
        ["predict", "--model", "m-0000000000", "--data", "{cohort}", "--out", "{d}/x.csv"],
    ),
    ("model-is-a-path", ["predict", "--model", "{d}", "--data", "{cohort}", "--out", "{d}/x.csv"]),
    ("model-traversal", ["evaluate", "--model", "../../etc"]),
    ("data-missing", ["train", "--data", "{d}/none.csv", "--target", "outcome"]),
    ("target-missing", ["train", "--data", "{cohort}", "--target", "no_such_column"]),
    ("no-target", ["train", "--data", "{cohort}"]),
    ("time-without-target", ["train", "--data", "{cohort}", "--time", "age"]),
    ("epochs-0", ["train", "--data", "{cohort}", "--target", "outcome", "--epochs", "0"]),
    ("dropout-1.5", ["train", "--data", "{cohort}", "--target", "outcome", "--dropout", "1.5"]),
    (
        "learning-rate-negative",
        ["train", "--data", "{cohort}", "--target", "outcome", "--learning-rate", "-1"],
    ),
    ("batch-size-0", ["train", "--data", "{cohort}", "--target", "outcome", "--batch-size", "0"]),
    ("hidden-text", ["train", "--data", "{cohort}", "--target", "outcome", "--hidden", "a,b"]),
    (
        "activation-unknown",
        ["train", "--data", "{cohort}", "--target", "outcome", "--activation", "sparkle"],
    ),
    (
        "optimizer-unknown",
        ["train", "--data", "{cohort}", "--target", "outcome", "--optimizer", "magic"],
    ),
    ("seed-example-missing-file", ["seed-example", "--data", "{d}/train-images.idx3-ubyte"]),
    ("audit-bad-extension", ["audit", "--out", "{d}/audit.txt"]),
]


@pytest.mark.parametrize(("name", "argv"), BAD_FLAGS, ids=[b[0] for b in BAD_FLAGS])
def test_bad_flags_exit_2_with_received_expected_fix(name, argv, files, capsys, isolated_workspace):
    argv = [a.format(d=files, cohort=files / "cohort.csv") for a in argv]
    status, err = _run(capsys, *argv)
    assert status == 2, (status, err[-600:])
    assert "Expected" in err and "Fix" in err, err[-600:]
    assert "internal error" not in err


def test_infinite_regression_target_exits_2_before_training(files, capsys, isolated_workspace):
    status, err = _run(
        capsys,
        "train",
        "--data",
        str(files / "inf_target.csv"),
        "--target",
        "target",
        "--epochs",
        "1",
    )
    assert status == 2, err[-600:]
    assert "1 infinite value(s)" in err and "Fix" in err


def test_unwritable_workspace_is_refused_before_training(files, capsys, monkeypatch):
    blocker = files / "not-a-folder"
    blocker.write_text("a file where the workspace should be")
    monkeypatch.setenv("DLCORE_HOME", str(blocker / "home"))
    reset_settings()
    reset_stores()
    try:
        status, err = _run(
            capsys,
            "train",
            "--data",
            str(files / "cohort.csv"),
            "--target",
            "outcome",
            "--epochs",
            "1",
        )
    finally:
        monkeypatch.undo()
        reset_settings()
        reset_stores()
    assert status == 2, err[-600:]
    assert "cannot be" in err and "DLCORE_HOME" in err
    assert "epoch" not in err  # refused before the fit


def test_accounts_roles_and_audit_rows_from_the_cli(files, capsys, isolated_workspace, monkeypatch):
    from dlcore.governance import audit
    from dlcore.governance.accounts import Account, create_user

    create_user("boss", "admin", "correct horse battery")
    create_user("ada", "clinician", "correct horse battery", actor=Account("boss", "admin"))
    monkeypatch.setenv("DLCORE_AUTH", "local")
    monkeypatch.delenv("DLCORE_USER", raising=False)
    monkeypatch.delenv("DLCORE_PASSWORD", raising=False)
    status, err = _run(capsys, "models")
    assert status == 2 and "no account was named" in err
    monkeypatch.setenv("DLCORE_PASSWORD", "wrong password!")
    status, err = _run(capsys, "models", "--user", "ada")
    assert status == 2 and "password is wrong" in err
    monkeypatch.setenv("DLCORE_PASSWORD", "correct horse battery")
    assert _run(capsys, "models", "--user", "ada")[0] == 0
    status, err = _run(capsys, "doctor", "--user", "ada")
    assert status == 2 and "clinician account ada may not do admin" in err
    status, err = _run(
        capsys, "train", "--user", "ada", "--data", str(files / "cohort.csv"), "--target", "outcome"
    )
    assert status == 2 and "may not do train" in err
    assert _run(capsys, "doctor", "--user", "boss", "--json")[0] == 0
    status, _ = _run(capsys, "audit", "--user", "boss", "--out", str(files / "trail.csv"))
    assert status == 0
    rows = audit.audit_frame(actor=Account("boss", "admin"))
    seen = list(zip(rows["who"], rows["action"], strict=True))[::-1]
    assert seen == [
        ("boss", "user_create"),  # the engine audits account changes itself
        ("boss", "user_create"),
        ("ada", "login_failed"),
        ("ada", "login"),
        ("ada", "login"),
        ("ada", "login"),
        ("boss", "login"),
        ("boss", "doctor"),
        ("boss", "login"),
        ("boss", "export"),
    ], seen
    assert audit.verify_chain().ok
    exported = pd.read_csv(files / "trail.csv")
    assert len(exported) == 9  # the export's own row is written after it


def test_doctor_reports_and_repairs(files, capsys, isolated_workspace):
    from dlcore.config import get_settings

    orphan = get_settings().models_dir / ".tmp-m-0123456789-abcdef"
    orphan.mkdir(parents=True)
    old = 1_000_000_000
    os.utime(orphan, (old, old))  # a folder without a writer's lock, older than an hour
    try:
        status = main(["doctor", "--json"])
    except SystemExit as exit_:
        status = int(exit_.code)
    report = json.loads(capsys.readouterr().out)
    assert status == 0, report
    assert report["fixed"] == ["removed the orphaned temporary folder .tmp-m-0123456789-abcdef"]
    assert report["checked"]["database_integrity"] == "ok" and report["ok"] is True
    assert not orphan.exists()


MARKER = "ZQXMARKER"


def test_no_planted_value_or_file_name_reaches_stderr(files, capsys, isolated_workspace):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"age": rng.integers(20, 90, 40), "sex": ["F", "M"] * 20})
    frame.loc[3, "sex"] = MARKER + "_cell"
    path = files / f"Doe_John_{MARKER}.csv"
    frame.to_csv(path, index=False)
    status, err = _run(capsys, "train", "--data", str(path), "--target", "no_such")
    assert status == 2
    status2, err2 = _run(
        capsys, "predict", "--model", "m-0000000000", "--data", str(path), "--out", str(path)
    )
    assert status2 == 2
    status3, err3 = _run(
        capsys,
        "predict",
        "--model",
        "m-0000000000",
        "--data",
        str(files / "x.csv"),
        "--out",
        str(path.with_suffix(".txt")),
    )
    assert status3 == 2
    for text in (err, err2, err3):
        assert MARKER not in text, text
    _, err4 = _run(
        capsys,
        "predict",
        "--show-values",
        "--model",
        "m-0000000000",
        "--data",
        str(path),
        "--out",
        str(path),
    )
    assert MARKER in err4  # asked for on the person's own terminal
