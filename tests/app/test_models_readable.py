"""The Models page reads as a clinician reads it (issue 14 #11, #12): the card as text, its JSON
only as a download; tables with readable metric names."""

from __future__ import annotations

import json

from apptools import healthy, open_page, texts, widget


def test_card_tab_is_readable_and_json_is_a_download(tiny_binary, downloads):
    record = tiny_binary.record
    at = open_page("models")
    healthy(widget(at.selectbox, "Model").set_value(record.id).run())
    assert not at.get("json")  # no raw JSON tree
    card_text = "\n".join(texts(at.markdown))
    assert record.name in card_text
    assert "ROC AUC" in card_text and "roc_auc" not in card_text
    download = next(d for d in at.get("download_button") if "card as JSON" in d.label)
    card = json.loads(downloads(download))
    assert card["name"] == record.name and "metrics" in card


def test_tables_show_readable_metric_names(tiny_binary, tiny_regression):
    at = open_page("models")
    registry = at.dataframe[0].value
    assert list(registry.columns) == [
        "Name",
        "Version",
        "Task",
        "Dataset",
        "Created (UTC)",
        "Key metric",
        "Id",
    ]
    compare = at.dataframe[-1].value  # the Compare tab (its first two models by default)
    assert "Model" in compare.columns
    raw = [c for c in compare.columns if "_" in c]
    assert not raw, raw
    assert {"ROC AUC", "Brier score"} & set(compare.columns) or "MAE" in " ".join(compare.columns)
