"""Predict and Explain read as a clinician needs (issue 14 #2, #3, #15, #17, #21, help text):
a stale result never stands beside changed inputs, an invalid value says why in words, yes/no
columns are radio buttons, units are in the labels, explanations are of the shown probability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from apptools import button, figures, healthy, metrics, open_page, snapshot_cards, texts, widget

RECORD_KEY = "patient_record"


@pytest.fixture(scope="module")
def heart_model():
    """A tiny network on a heart-failure-like table (0/1 columns, units, values in the 100,000s),
    trained for one epoch through dlcore and registered; its dataset saved."""
    from dlcore.data import Dataset, infer_schema
    from dlcore.data.catalog import save_dataset
    from dlcore.models.spec import ModelSpec
    from dlcore.training.pipeline import train_and_register

    rng = np.random.default_rng(4)
    n = 240
    frame = pd.DataFrame(
        {
            "age": rng.integers(40, 96, n).astype(float),
            "anaemia": rng.integers(0, 2, n).astype(float),
            "smoking": rng.integers(0, 2, n).astype(float),
            "platelets": rng.normal(263000, 90000, n).round(0).clip(25000, 850000),
            "serum_creatinine": rng.normal(1.4, 0.6, n).round(1).clip(0.5, 9.4),
        }
    )
    risk = 0.05 * (frame["age"] - 60) + 0.8 * frame["anaemia"] + frame["serum_creatinine"] - 1.4
    frame["DEATH_EVENT"] = (risk + rng.normal(0, 1, n) > 0).astype(int)
    dataset = Dataset("heart failure (test)", frame, infer_schema(frame, "DEATH_EVENT"))
    save_dataset(dataset)
    spec = ModelSpec(hidden_units=[8], epochs=1, batch_size=32, seed=1)
    return train_and_register(dataset, spec, name="tiny heart failure").record


def predict_page(model_id: str):
    at = open_page("predict")
    healthy(widget(at.selectbox, "Model").set_value(model_id).run())
    return at


def test_binary_inputs_are_yes_no_and_numbers_carry_units(heart_model):
    at = predict_page(heart_model.id)
    radios = {r.label: r for r in at.radio}
    assert "anaemia" in radios and "smoking" in radios
    assert list(radios["anaemia"].options) == ["no", "yes"]
    labels = [n.label for n in at.number_input]
    assert "age (years)" in labels
    assert "serum creatinine (mg/dL)" in labels
    assert not any(label in ("anaemia", "smoking") for label in labels)  # no steppers for 0/1
    # the training range is written without exponents
    platelets = widget(at.number_input, "platelets")
    assert "e+0" not in (platelets.help or "") and "," in (platelets.help or "")


def test_a_changed_input_clears_the_old_result_and_an_invalid_one_says_why(heart_model):
    at = predict_page(heart_model.id)
    healthy(button(at, "Predict").click().run())
    first = metrics(at)
    assert any(k.startswith("Probability of") for k in first)

    # A changed value: the old probability is no longer shown as if it applied.
    healthy(widget(at.number_input, "age").set_value(70.0).run())
    assert not any(k.startswith("Probability of") for k in metrics(at))
    assert any("inputs have changed since the last prediction" in t for t in texts(at.info))
    healthy(button(at, "Predict").click().run())
    assert any(k.startswith("Probability of") for k in metrics(at))

    # An impossible value: no result, the reason in words on the page, Predict disabled.
    healthy(widget(at.number_input, "age").set_value(120.0).run())
    assert not any(k.startswith("Probability of") for k in metrics(at))
    reasons = [t for t in texts(at.error) if "outside what training saw" in t]
    assert reasons and "120" in reasons[0] and "years" in reasons[0]
    assert button(at, "Predict").disabled
    assert any("No prediction" in t for t in texts(at.warning))


def test_predict_and_explain_carry_the_numbers_help(heart_model):
    from dlcore.report.wording import NUMBERS_HELP_TITLE

    at = predict_page(heart_model.id)
    assert NUMBERS_HELP_TITLE in [e.label for e in at.expander]
    assert any("SHAP points" in m for m in texts(at.markdown))
    at = open_page("explain", at)
    assert NUMBERS_HELP_TITLE in [e.label for e in at.expander]


def test_explanation_is_of_the_recalibrated_probability_predict_shows(heart_model):
    """Issue 14 #3: with a recalibration, the summary quotes the probability Predict shows."""
    from dlcore.evaluate.calibration import Recalibrator
    from dlcore.fsutil import write_json
    from dlcore.registry import CARD_FILE, _folder, get_card

    restore = snapshot_cards(heart_model.id)
    card = get_card(heart_model.id)
    card["calibration"] = Recalibrator(
        method="temperature", temperature=0.2, fitted_on="validation split", n=40
    ).to_dict()
    write_json(_folder(heart_model.id) / CARD_FILE, card)
    try:
        at = predict_page(heart_model.id)
        healthy(button(at, "Predict").click().run())
        shown = metrics(at)[next(k for k in metrics(at) if k.startswith("Probability of"))]
        from dlcore.predict import predict
        from dlcore.registry import load_model
        from dlcore.report.wording import percent_text

        loaded = load_model(heart_model.id)
        record = pd.DataFrame([at.session_state[RECORD_KEY]["record"]])
        raw = float(predict(loaded.model, loaded.layout, record).table.iloc[0, 0])
        assert percent_text(raw) != shown  # the test can tell the two probabilities apart
        at = open_page("explain", at)
        assert widget(at.radio, "Which record").value == "The patient from Predict"
        summary = next(t for t in texts(at.info) if "Raises it" in t or "Lowers it" in t)
        assert summary.startswith("Predicted probability of "), summary
        assert f": {shown} (average" in summary, (summary, shown)
        waterfall = figures(at)["waterfall"]["data"][0]
        assert waterfall["y"][-1] == f"prediction: {shown}"
        # the bars add up to the shown probability, in percentage points
        total = waterfall["base"] + sum(waterfall["x"][:-1])
        assert total == pytest.approx(float(shown.strip("<> %")), abs=0.6)
        assert any("percentage points" in c for c in texts(at.caption))
    finally:
        restore()


def test_explain_overview_never_offers_more_records_than_the_dataset_has(heart_model):
    at = open_page("explain")
    healthy(widget(at.selectbox, "Model").set_value(heart_model.id).run())
    slider = widget(at.slider, "Records to explain")
    from dlcore.data.catalog import list_datasets

    rows = {d.id: d.rows for d in list_datasets()}
    dataset = widget(at.selectbox, "Dataset").value
    assert slider.max == min(500, rows[dataset])
    assert rows[dataset] == 240 and slider.max == 240
    importance = figures(at)["importance"]
    assert "percentage points" in importance["layout"]["xaxis"]["title"]["text"]


def test_predictions_file_names_its_model_and_rounds_probabilities(heart_model):
    """Issue 14 #21: a predictions table (shown, and downloaded as CSV) says which model (id and
    version) made it, and its probabilities are rounded to 4 decimals."""
    from dlcore.data.catalog import list_datasets, load_dataset

    entry = next(d for d in list_datasets() if d.name == "heart failure (test)")
    frame = load_dataset(entry.id).frame.head(5)
    at = predict_page(heart_model.id)
    upload = at.file_uploader(key=f"batch_{heart_model.id}")
    healthy(upload.set_value([("five.csv", frame.to_csv(index=False).encode(), "text/csv")]).run())
    table = at.dataframe[-1].value
    assert set(table["model_id"]) == {heart_model.id}
    assert set(table["model_version"]) == {heart_model.version}
    probability = next(c for c in table.columns if c.startswith("probability_"))
    values = table[probability].astype(float)
    assert values.between(0, 1).all()
    assert (values.round(4) == values).all()
    assert "Download predictions (CSV)" in [d.label for d in at.get("download_button")]
