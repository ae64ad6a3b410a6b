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


def test_predict_page_says_whether_dropout_runs_agree(tiny_binary):
    at = open_page("predict")
    healthy(widget(at.selectbox, "Model").set_value(tiny_binary.record.id).run())
    form_button = next(b for b in at.button if b.label == "Predict")
    healthy(form_button.click().run())
    captions = [t for t in texts(at.caption) if t.startswith("Re-running the network 30 times")]
    assert len(captions) == 1, texts(at.caption)
    assert "(80% of runs)" in captions[0] and ("agree" in captions[0])


def test_evaluate_page_shows_the_baseline_sentence_on_the_test_split(tiny_binary):
    at = open_page("evaluate")
    healthy(widget(at.selectbox, "Model").set_value(tiny_binary.record.id).run())
    sentence = tiny_binary.summary["baseline_comparison"]["sentence"]
    assert sentence in texts(at.info)


def test_compare_shows_the_baseline_sentence_of_each_model(tiny_binary, tiny_regression):
    at = open_page("models")
    chosen = [tiny_binary.record.id, tiny_regression.record.id]
    healthy(widget(at.multiselect, "Models to compare").set_value(chosen).run())
    shown = texts(at.info)
    for outcome in (tiny_binary, tiny_regression):
        sentence = outcome.summary["baseline_comparison"]["sentence"]
        assert sentence.startswith("On these records the network"), sentence
        said = [t for t in shown if sentence in t and t.startswith("**")]  # Registry's has no name
        assert said == [f"**{outcome.record.name} (v{outcome.record.version})**: {sentence}"], shown
