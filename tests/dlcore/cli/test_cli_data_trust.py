"""`train` acts on what it notices about the data: leakage left out and named (stderr and --json),
an --include override recorded in the card, patients kept in one part of the split."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from dlcore.cli.main import main


def _admissions(path) -> None:
    rng = np.random.default_rng(0)
    visits = rng.integers(1, 4, 150)
    patient = np.repeat([f"S{1000 + i}" for i in range(150)], visits)
    n = len(patient)
    lactate = rng.gamma(2, 1, n).round(1)
    died = (rng.random(n) < 1 / (1 + np.exp(-(lactate - 2.5)))).astype(int)
    pd.DataFrame(
        {
            "subject_id": patient,
            "age": rng.integers(40, 90, n),
            "lactate": lactate,
            "discharge_location": np.where(
                died == 1, "DEAD/EXPIRED", rng.choice(["HOME", "SNF"], n)
            ),
            "los": rng.gamma(3, 2, n).round(1),
            "hospital_expire_flag": died,
        }
    ).to_csv(path, index=False)


def test_train_leaves_leaks_out_names_them_and_groups_by_patient(
    isolated_workspace, tmp_path, capsys
):
    data = tmp_path / "admissions.csv"
    _admissions(data)
    argv = ["train", "--data", str(data), "--target", "hospital_expire_flag", "--epochs", "2"]
    argv += ["--cv", "0", "--include", "los", "--json"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    payload = json.loads(captured.out.strip().splitlines()[-1])
    assert "discharge_location" in payload["excluded"]
    assert payload["excluded"]["discharge_location"].startswith("possible leakage")
    assert "los" not in payload["excluded"] and "los" in payload["leakage_included"]
    assert payload["group"] == "subject_id"
    assert "left out as possible leakage: discharge_location" in captured.err
    assert "DEAD/EXPIRED" not in captured.err  # names, never values
    from dlcore.registry import load_model
    from dlcore.report.card import model_card_markdown

    card = load_model(payload["model_id"]).card
    assert card["dataset"]["leakage_included"] == {"los": payload["leakage_included"]["los"]}
    assert card["split"]["group"] == "subject_id"
    text = model_card_markdown(card)
    assert "Used although flagged as possible leakage" in text and "los" in text
    assert "grouped by subject_id" in text


def test_censored_choice_reaches_the_reader(tmp_path):
    from dlcore.cli.commands import load_data_argument
    from dlcore.cli.parser import build_parser

    path = tmp_path / "labs.csv"
    path.write_text(
        "crp,y\n" + "".join(f"{'<5' if i % 3 == 0 else 10 + i},{i % 2}\n" for i in range(30))
    )
    args = build_parser().parse_args(["train", "--data", str(path), "--censored", "half"])
    dataset = load_data_argument(str(path), "y", args.censored)
    assert dataset.frame["crp"].iloc[0] == 2.5
    assert load_data_argument(str(path), "y").frame["crp"].iloc[0] == 5.0
