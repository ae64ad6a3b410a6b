"""Models shows the baseline sentence of a model trained with baselines."""

from __future__ import annotations

from apptools import healthy, new_app, open_page, texts, widget


def test_models_page_shows_the_baseline_sentence(tiny_binary):
    record, card = tiny_binary.record, tiny_binary.summary
    sentence = card["baseline_comparison"]["sentence"]
    at = new_app()
    healthy(at.run())
    open_page("models", at)
    healthy(widget(at.selectbox, "Model").set_value(record.id).run())
    assert sentence.startswith("On these records the network")
    assert sentence in texts(at.info)
