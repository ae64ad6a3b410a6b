"""Explain marks a driver that was flagged as possible leakage and used anyway."""

from __future__ import annotations

from apptools import healthy, open_page, snapshot_cards, texts, widget


def test_flagged_driver_is_marked(tiny_binary):
    from dlcore.registry import load_model, update_card

    model_id = tiny_binary.record.id
    restore = snapshot_cards(model_id)
    try:
        card = load_model(model_id).card
        flagged = {
            n: "possible leakage: planted for the test" for n in tiny_binary.result.layout.names
        }
        update_card(model_id, {"dataset": {**card["dataset"], "leakage_included": flagged}})
        at = open_page("explain")
        healthy(widget(at.selectbox, "Model").set_value(model_id).run())
        healthy(widget(at.radio, "Which record").set_value("A record from a dataset").run())
        marked = [t for t in texts(at.warning) if t.startswith("Among the leading drivers")]
        assert marked and "planted for the test" in marked[0], texts(at.warning)
    finally:
        restore()
