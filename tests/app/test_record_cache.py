"""Explanations of one record are cached like image explanations: by the model's version and the
record's content, each caller getting its own copy (ui.cache.record_explanation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


class CountingExplainer:
    def __init__(self) -> None:
        self.calls = 0

    def explain(self, records: pd.DataFrame):
        self.calls += 1
        return {"values": np.asarray(records.select_dtypes("number"), dtype=float)}


@pytest.fixture
def counted(monkeypatch):
    from ui import cache

    explainer = CountingExplainer()
    version = {"sha": "a"}
    monkeypatch.setattr(cache, "_explainer", lambda model_id, checksum: explainer)
    monkeypatch.setattr(cache, "model_version_key", lambda model_id: version["sha"])
    cache._record_explanation.clear()
    yield cache, explainer, version
    cache._record_explanation.clear()


def test_the_same_record_is_explained_once_and_each_caller_gets_a_copy(counted):
    cache, explainer, _ = counted
    record = pd.DataFrame([{"age": 61.0, "sex": "f"}])
    first = cache.record_explanation("m1", record)
    again = cache.record_explanation("m1", record.copy())
    assert explainer.calls == 1
    assert again is not first  # a copy per caller: nobody shares a mutable result
    assert again["values"][0, 0] == first["values"][0, 0] == 61.0


def test_another_value_column_model_or_version_is_explained_anew(counted):
    cache, explainer, version = counted
    record = pd.DataFrame([{"age": 61.0, "sex": "f"}])
    cache.record_explanation("m1", record)
    cache.record_explanation("m1", record.assign(age=62.0))
    cache.record_explanation("m1", record.rename(columns={"age": "years"}))
    cache.record_explanation("m2", record)
    version["sha"] = "b"  # the model file changed
    cache.record_explanation("m1", record)
    assert explainer.calls == 5
    assert cache.record_digest(record) == cache.record_digest(record.copy())
    assert cache.record_digest(record) != cache.record_digest(record.assign(sex="m"))
