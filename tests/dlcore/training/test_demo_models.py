"""The demo: bundled data sets saved once, demo models trained once and found again."""

from __future__ import annotations

from dlcore.data.demo import DEMOS
from dlcore.models.spec import ModelSpec
from dlcore.training import demo_models


def test_demo_datasets_are_saved_once(isolated_workspace):
    from dlcore.data.catalog import list_datasets

    first = demo_models.ensure_demo_datasets()
    assert set(first) == set(DEMOS)
    again = demo_models.ensure_demo_datasets()
    assert again == first
    saved = list_datasets()
    assert len(saved) == len(DEMOS)
    assert {d.id for d in saved} == set(first.values())
    assert demo_models.prepare_demo(train_model=False) == {"datasets": len(DEMOS)}


def test_demo_model_is_trained_once_and_found_by_its_data(isolated_workspace, monkeypatch):
    tiny = ModelSpec(hidden_units=[4], epochs=1, batch_size=64, seed=0)
    monkeypatch.setattr(demo_models, "DEMO_SPECS", {"breast_cancer": tiny})
    assert demo_models.demo_model("breast_cancer") is None
    records = demo_models.train_demo_models()
    assert len(records) == 1
    record = records[0]
    assert record.name == demo_models.DEMO_MODEL_NAMES["breast_cancer"]
    assert demo_models.demo_model("breast_cancer").id == record.id
    assert demo_models.demo_model("diabetes_progression") is None
    assert [r.id for r in demo_models.train_demo_models()] == [record.id]  # not trained again
    forced = demo_models.train_demo_models(force=True)
    assert forced[0].id != record.id
    assert demo_models.demo_model("breast_cancer").id == forced[0].id  # the newest
