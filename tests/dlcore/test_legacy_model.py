"""A model saved by the code before dlcore was regrouped into packages still loads, predicts
identically and explains (tests/fixtures/legacy_model was written by commit 240ccf7)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_model"


def _upload(workspace_home: Path):
    from dlcore.registry import import_keras_model, load_model

    record = import_keras_model(
        (FIXTURE / "model.keras").read_bytes(),
        "model.keras",
        card_json=(FIXTURE / "card.json").read_bytes(),
    )
    return load_model(record.id)


def test_a_model_saved_before_the_move_loads_predicts_identically_and_explains(
    isolated_workspace,
):
    from dlcore.explain.tabular import TabularExplainer
    from dlcore.predict import predict

    expected = np.array(json.loads((FIXTURE / "expected.json").read_text())["raw_output"])
    records = pd.read_csv(FIXTURE / "records.csv")
    loaded = _upload(isolated_workspace)
    assert loaded.layout.task == "binary"
    assert {f.kind for f in loaded.layout.features} == {"numeric", "categorical"}

    result = predict(loaded.model, loaded.layout, records)
    np.testing.assert_allclose(np.asarray(result.output).ravel(), expected, rtol=0, atol=1e-6)

    background = pd.read_parquet(FIXTURE / "background.parquet")
    explanation = TabularExplainer(loaded.model, loaded.layout, background).explain(records.head(3))
    assert explanation.values.shape[:2] == (3, len(loaded.layout.features))
    assert explanation.additivity_error < 1e-3
    # the contributions add up to the same output the old code saved
    total = explanation.values.sum(axis=1)[:, 0] + explanation.base_values[0]
    np.testing.assert_allclose(total, expected[:3], atol=1e-3)
