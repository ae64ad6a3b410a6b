"""The Evaluate page with Streamlit's AppTest: binary, multiclass and regression models on their
test split; threshold presets, the saved operating point and recalibration as Predict then shows
them; subgroups by cut points; external cohorts (refused without the outcome, badged when good);
the model card downloads; the audit rows.

The binary and regression models are the session's shared fixtures: every test restores their
cards (operating point, calibration) so the other test files see them as trained. Models of other
kinds are trained in a workspace of their own.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from apptools import (
    button,
    deltas,
    figures,
    healthy,
    metrics,
    open_page,
    snapshot_cards,
    texts,
    widget,
)
from streamlit.testing.v1 import AppTest

MODEL_KEY = "current_model_id"


# -- helpers -----------------------------------------------------------------------------------


def evaluate(model_id: str) -> AppTest:
    """The Evaluate page for ``model_id`` (on its test split)."""
    at = open_page("evaluate")
    healthy(widget(at.selectbox, "Model").set_value(model_id).run())
    assert widget(at.selectbox, "Model").value == model_id
    return at


@pytest.fixture
def shared_models(tiny_binary, tiny_regression):
    """The session's binary and regression models, their cards restored after the test."""
    restore = snapshot_cards(tiny_binary.record.id, tiny_regression.record.id)
    try:
        yield tiny_binary, tiny_regression
    finally:
        restore()


def judged_on(model_id: str):
    """The evaluation data the page judges a model on (its test split), recomputed here."""
    from dlcore.evaluate.model_report import evaluation_data
    from dlcore.registry import load_model

    loaded = load_model(model_id)
    return loaded, evaluation_data(loaded)


def csv_bytes(frame) -> bytes:
    return frame.to_csv(index=False).encode()


# -- binary ------------------------------------------------------------------------------------


def test_binary_page_shows_intervals_curves_calibration_and_decision_curve(shared_models):
    from dlcore.governance.audit import audit_frame

    binary, _ = shared_models
    model_id = binary.record.id
    at = evaluate(model_id)
    assert not texts(at.error)
    shown = metrics(at)
    for label in ("ROC AUC", "PR AUC", "Sensitivity", "Specificity", "PPV", "NPV"):
        assert 0.0 <= float(shown[label]) <= 1.0, label
        low, high = (float(v) for v in deltas(at)[label].removeprefix("95% CI ").split("–"))
        assert low <= float(shown[label]) <= high, label
    assert any("Internal: held-out test split" in t for t in texts(at.markdown))

    # The page's AUC is the engine's on the same records (seeded bootstrap: the same interval).
    from dlcore.evaluate.model_report import clinical_report

    loaded, data = judged_on(model_id)
    report = clinical_report(loaded, data, resamples=1000)
    assert shown["ROC AUC"] == f"{report.auc.value:.3f}"
    assert deltas(at)["ROC AUC"] == f"95% CI {report.auc.low:.3f}–{report.auc.high:.3f}"
    assert "held-out test split" in data.source and not data.external

    charts = figures(at)
    roc = charts["evaluate_roc"]
    assert any(t.get("fill") == "tonexty" for t in roc["data"])  # the band
    assert any("threshold 0.50" in (t.get("name") or "") for t in roc["data"])
    assert "evaluate_pr" in charts and "evaluate_reliability" in charts
    names = [t["name"] for t in charts["evaluate_decision"]["data"]]
    assert names == ["model", "treat all", "treat none"]
    assert charts["evaluate_decision"]["data"][0]["x"][0] == pytest.approx(0.01)
    for label in ("Brier score", "ECE", "Calibration slope", "Calibration-in-the-large"):
        assert shown[label] != "—", label
    # Training may recalibrate by default: the page names the probabilities the model gives.
    said = f"Probabilities shown: **{loaded.recalibrator.describe()}**."
    assert said in texts(at.info)

    # The decision curve follows the range the user sets.
    healthy(at.slider(key="evaluate_decision_range").set_value((0.05, 0.4)).run())
    curve = figures(at)["evaluate_decision"]["data"][0]["x"]
    assert curve[0] == pytest.approx(0.05) and curve[-1] == pytest.approx(0.4)

    # More resamples: the same estimate, an interval from the new bootstrap.
    healthy(widget(at.selectbox, "Bootstrap resamples").set_value(2000).run())
    assert metrics(at)["ROC AUC"] == shown["ROC AUC"]

    rows = audit_frame(action="evaluate")
    mine = rows[rows["model"] == model_id]
    assert len(mine) == 1, "one audit row per evaluation, not one per rerun"
    assert mine.iloc[0]["model version"] == loaded.version
    assert (
        "external=False" in mine.iloc[0]["detail"] and f"n={len(data.y)}" in mine.iloc[0]["detail"]
    )


def test_sensitivity_preset_saved_as_operating_point_reaches_predict(shared_models):
    from dlcore.evaluate.clinical import choose_threshold
    from dlcore.governance.audit import audit_frame
    from dlcore.registry import get_card

    binary, _ = shared_models
    model_id = binary.record.id
    at = evaluate(model_id)
    slider = at.slider(key=f"evaluate_threshold_{model_id}")
    assert slider.value == pytest.approx(0.5) and not slider.disabled

    healthy(at.selectbox(key=f"evaluate_preset_{model_id}").set_value("sensitivity").run())
    assert widget(at.number_input, "Sensitivity at least").value == pytest.approx(0.9)
    _, data = judged_on(model_id)
    p = data.probabilities[:, 0]
    expected = choose_threshold(data.y, p, "sensitivity", 0.9)
    slider = at.slider(key=f"evaluate_threshold_{model_id}")
    assert slider.disabled and slider.value == pytest.approx(expected)
    shown = float(metrics(at)["Sensitivity"])
    assert shown >= 0.9
    positives = p[np.asarray(data.y) == 1]
    assert shown == pytest.approx(float(np.mean(positives >= expected)), abs=5e-4)
    # The confusion matrix is at the same threshold.
    matrix = figures(at)["evaluate_confusion"]
    assert f"{expected:.3f}" in json.dumps(matrix["layout"]["title"])
    from dlcore.evaluate.clinical import confusion_at

    counts = confusion_at(data.y, p, expected)
    reading = next(t for t in texts(at.markdown) if t.startswith("Of **"))
    assert reading.startswith(
        f"Of **{counts['tp'] + counts['fn']}** patients with {binary.result.layout.positive_class}, "
        f"the model flags **{counts['tp']}** and misses **{counts['fn']}**"
    )

    # A stricter target moves it (it is recomputed, not remembered).
    healthy(widget(at.number_input, "Sensitivity at least").set_value(0.97).run())
    assert float(metrics(at)["Sensitivity"]) >= 0.97
    healthy(widget(at.number_input, "Sensitivity at least").set_value(0.9).run())

    healthy(button(at, "Save as the model's operating point").click().run())
    point = get_card(model_id)["operating_point"]
    assert point["threshold"] == pytest.approx(expected)
    assert point["preset"] == "sensitivity" and point["value"] == pytest.approx(0.9)
    assert "held-out test split" in point["set_on"]
    assert point["metrics"]["sensitivity"]["value"] >= 0.9
    assert any("Operating point saved" in t for t in texts(at.success))
    assert any(
        t.startswith(f"Operating point {expected:.3f}, chosen by sensitivity ≥ 0.90")
        for t in texts(at.caption)
    )
    rows = audit_frame(action="operating_point")
    assert "preset=sensitivity" in rows[rows["model"] == model_id].iloc[0]["detail"]

    # Predict decides at that threshold and says how it was chosen.
    at = open_page("predict", at)
    assert widget(at.selectbox, "Model").value == model_id
    healthy(button(at, "Predict").click().run())
    label = next(k for k in metrics(at) if k.startswith("Decision at threshold"))
    assert label == f"Decision at threshold {expected:.3f}"
    assert any("chosen by sensitivity ≥ 0.90" in t for t in texts(at.caption))
    layout = binary.result.layout
    probability = float(metrics(at)[f"Probability of {layout.positive_class}"].rstrip("%")) / 100
    if abs(probability - expected) > 1e-3:  # the shown probability is rounded to 0.1%
        negative = next(c for c in layout.classes if c != layout.positive_class)
        assert metrics(at)[label] == (layout.positive_class if probability > expected else negative)
    assert len(audit_frame(action="predict").query("model == @model_id")) >= 1


def test_temperature_scaling_is_saved_and_predict_shows_calibrated(shared_models):
    from dlcore.governance.audit import audit_frame
    from dlcore.registry import get_card

    binary, _ = shared_models
    model_id = binary.record.id
    at = evaluate(model_id)
    healthy(at.radio(key=f"evaluate_recalibration_{model_id}").set_value("temperature").run())
    healthy(button(at, "Fit on the validation split").click().run())
    calibration = get_card(model_id)["calibration"]
    assert calibration["method"] == "temperature" and calibration["temperature"] > 0
    assert any("Predict shows these recalibrated probabilities" in t for t in texts(at.success))
    assert any("calibrated by temperature scaling" in t for t in texts(at.info))
    assert any("The network's own output on these records" in t for t in texts(at.caption))
    rows = audit_frame(action="recalibrate")
    assert "method=temperature" in rows[rows["model"] == model_id].iloc[0]["detail"]
    # The evaluation now runs on the recalibrated probabilities (a new evaluation, a new row).
    evaluations = audit_frame(action="evaluate")
    assert len(evaluations[evaluations["model"] == model_id]) >= 1

    at = open_page("predict", at)
    healthy(button(at, "Predict").click().run())
    notes = [t for t in texts(at.caption) if t.startswith("Probability:")]
    assert notes and "calibrated by temperature scaling" in notes[0], texts(at.caption)

    # The probability shown is the recalibrated one.
    import pandas as pd

    from dlcore.predict import predict
    from dlcore.registry import load_model

    loaded = load_model(model_id)
    record = pd.DataFrame([at.session_state["patient_record"]["record"]])
    expected = predict(loaded.model, loaded.layout, record, recalibrator=loaded.recalibrator)
    positive = loaded.layout.positive_class
    from dlcore.report.wording import percent_text

    assert metrics(at)[f"Probability of {positive}"] == percent_text(expected.table.iloc[0, 0])


def test_subgroups_by_cut_points(shared_models):
    binary, _ = shared_models
    model_id = binary.record.id
    at = evaluate(model_id)
    column = "mean radius"
    healthy(at.selectbox(key=f"evaluate_group_{model_id}").set_value(column).run())
    healthy(at.radio(key="evaluate_bands").set_value("My cut points").run())
    healthy(at.text_input(key=f"evaluate_cuts_{model_id}_{column}").input("12, 15").run())
    _, data = judged_on(model_id)
    radius = data.records[column].to_numpy(dtype=float)
    expected = {
        "all records": len(radius),
        "< 12": int(np.sum(radius < 12)),
        "12–15": int(np.sum((radius >= 12) & (radius < 15))),
        "≥ 15": int(np.sum(radius >= 15)),
    }
    table = at.dataframe[0].value
    assert dict(zip(table["group"], table["n"], strict=True)) == expected
    forest = figures(at)["evaluate_subgroups"]
    assert forest["layout"]["title"]["text"] == f"ROC AUC by {column}"
    flagged = [r for r in table.itertuples() if r.flags]
    assert len([w for w in texts(at.warning) if w.startswith(f"**{column} = ")]) == len(flagged)

    # Not numbers: said so, the page goes on.
    healthy(at.text_input(key=f"evaluate_cuts_{model_id}_{column}").input("12, old").run())
    assert any("Cut point 'old' is not a number" in e for e in texts(at.error))
    # Equal-count thirds.
    healthy(at.radio(key="evaluate_bands").set_value("Equal-count thirds (tertiles)").run())
    table = at.dataframe[0].value
    assert len(table) == 4 and table["n"].iloc[1:].sum() == len(radius)


def test_external_cohort_without_the_outcome_is_refused_and_a_good_one_is_badged(
    shared_models, breast_cancer
):
    from dlcore.governance.audit import audit_frame

    binary, _ = shared_models
    model_id = binary.record.id
    target = binary.result.layout.target
    at = evaluate(model_id)
    healthy(at.radio(key="evaluate_source").set_value("An external cohort (upload)").run())
    assert any("Upload the external cohort" in t for t in texts(at.info))

    cohort = breast_cancer.frame.sample(120, random_state=5)

    def upload(name: str, frame) -> None:
        uploader = at.file_uploader(key=f"evaluate_upload_{model_id}")
        healthy(uploader.set_value((name, csv_bytes(frame), "text/csv")).run())

    upload("cohort.csv", cohort.drop(columns=[target]))
    errors = texts(at.error)
    assert errors and f"'{target}'" in errors[0] and "outcome" in errors[0], errors
    assert "ROC AUC" not in metrics(at)

    # Outcome coded differently from the model's classes: refused, not silently misread.
    recoded = cohort.assign(**{target: cohort[target].str.upper()})
    upload("recoded.csv", recoded)
    assert any("values the model does not know" in e for e in texts(at.error)), texts(at.error)

    upload("cohort.csv", cohort)
    assert not texts(at.error)
    assert any("External validation" in t and "120 records" in t for t in texts(at.markdown))
    assert 0.0 <= float(metrics(at)["ROC AUC"]) <= 1.0
    rows = audit_frame(action="evaluate")
    mine = rows[rows["model"] == model_id]
    assert "external=True" in mine.iloc[0]["detail"] and "n=120" in mine.iloc[0]["detail"]


def test_model_card_downloads(shared_models, downloads):
    from dlcore.governance.audit import audit_frame
    from dlcore.registry import get_card

    binary, _ = shared_models
    model_id = binary.record.id
    name = binary.record.name
    at = evaluate(model_id)
    healthy(
        at.text_area(key=f"evaluate_intended_{model_id}")
        .input("Teaching only: never for patient care.")
        .run()
    )
    healthy(button(at, "Save intended use").click().run())
    assert get_card(model_id)["intended_use"] == "Teaching only: never for patient care."

    # Subgroups computed on their tab go into the card too.
    healthy(at.selectbox(key=f"evaluate_group_{model_id}").set_value("mean radius").run())
    markdown = downloads(at.download_button(key="evaluate_card_markdown")).decode()
    assert markdown.startswith(f"# Model card: {name}")
    assert "Teaching only: never for patient care." in markdown
    assert "## Subgroups by mean radius" in markdown
    assert "The default threshold 0.5" in markdown

    page = downloads(at.download_button(key="evaluate_card_html")).decode()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert f"<title>Model card: {name}</title>" in page and f"<h1>Model card: {name}</h1>" in page
    assert page.count("<div id=") >= 4  # ROC, reliability, decision curve, subgroups
    assert "Decision curve" in page and "Calibration: predicted against observed" in page
    # Self-contained: plotly.js inlined once, nothing fetched.
    assert "<script src=" not in page and page.count("Plotly=") == 1 and len(page) > 1_000_000

    healthy(at.download_button(key="evaluate_card_html").click().run())
    rows = audit_frame(action="export")
    assert "format=html" in rows[rows["model"] == model_id].iloc[0]["detail"]


def test_models_page_links_to_evaluate_and_pages_keep_an_audit_trail(shared_models):
    from dlcore.governance.audit import audit_frame

    binary, _ = shared_models
    model_id = binary.record.id

    def rows(action: str) -> int:
        frame = audit_frame(action=action)
        return int((frame["model"] == model_id).sum())

    at = open_page("models")
    healthy(widget(at.selectbox, "Model").set_value(model_id).run())
    exports = rows("export")
    # The Card tab has its own JSON download first; the audited export is the model bundle.
    healthy(widget(at.download_button, "Download model and card (.zip)").click().run())
    assert rows("export") == exports + 1
    assert audit_frame(action="export").iloc[0]["detail"] == "format=zip"
    healthy(button(at, "Evaluate this model").click().run())
    assert texts(at.title) == ["Evaluate"]
    assert widget(at.selectbox, "Model").value == model_id
    assert "ROC AUC" in metrics(at)

    # Explain: one row per explanation shown, not one per rerun.
    explained = rows("explain")
    at = open_page("explain", at)
    assert any("Raises it" in t or "Lowers it" in t for t in texts(at.info))
    shown = rows("explain")  # the record, and the sample overview when it is fast
    assert shown in (explained + 1, explained + 2)
    healthy(at.run())
    assert rows("explain") == shown
    healthy(widget(at.number_input, "Record number").set_value(3).run())
    assert rows("explain") == shown + 1
    assert audit_frame(action="explain").iloc[0]["detail"] == "rows=1, kind=tabular"


# -- other tasks -------------------------------------------------------------------------------


def test_regression_page_shows_errors_with_intervals(shared_models):
    _, regression = shared_models
    at = evaluate(regression.record.id)
    assert not texts(at.error)
    shown = metrics(at)
    for label in ("MAE", "RMSE", "Bias"):
        assert deltas(at)[label].startswith("95% CI "), label
    assert float(shown["MAE"]) > 0 and float(shown["RMSE"]) >= float(shown["MAE"])
    charts = figures(at)
    assert "held-out test split" in charts["evaluate_regression"]["layout"]["title"]["text"]
    assert charts["evaluate_residuals"]["data"][0]["mode"] == "markers"
    assert "Operating threshold" not in [t.label for t in at.tabs]
    assert at.download_button(key="evaluate_card_html")


def test_multiclass_page_and_an_image_model(isolated_workspace, downloads):
    from dlcore.data import Dataset, infer_schema
    from dlcore.data.synthetic import make_cohort, make_quadrant_images
    from dlcore.models.spec import ModelSpec
    from dlcore.training.pipeline import train_and_register

    at = open_page("evaluate")  # no model yet: said so
    assert any("There is no model yet" in t for t in texts(at.info))

    frame = make_cohort(500, seed=4, task="multiclass")
    dataset = Dataset("synthetic grades", frame, infer_schema(frame, "outcome"), source="synthetic")
    spec = ModelSpec(hidden_units=[16], epochs=3, batch_size=32, seed=1)
    multiclass = train_and_register(dataset, spec, name="tiny grades").record

    at = evaluate(multiclass.id)
    assert not texts(at.error)
    table = at.dataframe[0].value
    assert sorted(table["class"]) == ["high", "low", "medium"]
    assert all("(" in v and "–" in v for v in table["ROC AUC (95% CI)"])
    curves = figures(at)["evaluate_multiclass"]["data"]
    assert len(curves) == 4  # chance and one curve per class
    assert deltas(at)["Accuracy"].startswith("95% CI ")
    assert at.radio(key=f"evaluate_recalibration_{multiclass.id}").options == [
        "None (the network's own output)",
        "Temperature scaling",
    ]
    assert "<!DOCTYPE html>" in downloads(at.download_button(key="evaluate_card_html")).decode()

    # An image model: its test split, then an external ZIP of class folders (and one without).
    images, _ = make_quadrant_images(160, size=16, seed=2)
    images.name = "quadrants"
    cnn = ModelSpec(
        architecture="cnn",
        conv_filters=[4],
        hidden_units=[8],
        epochs=2,
        batch_size=16,
        seed=1,
        early_stopping_patience=0,
    )
    image_model = train_and_register(images, cnn, name="tiny quadrants").record
    at = evaluate(image_model.id)
    assert not texts(at.error)
    assert "ROC AUC" in metrics(at)
    assert "Subgroups" not in [t.label for t in at.tabs]

    from PIL import Image

    archive = io.BytesIO()
    external, _ = make_quadrant_images(40, size=16, seed=9)
    with zipfile.ZipFile(archive, "w") as bundle:
        for i, (image, label) in enumerate(zip(external.images, external.labels, strict=True)):
            buffer = io.BytesIO()
            Image.fromarray(image[:, :, 0]).save(buffer, format="PNG")
            bundle.writestr(f"{external.classes[label]}/{i}.png", buffer.getvalue())
    healthy(at.radio(key="evaluate_source").set_value("An external cohort (upload)").run())
    uploader = at.file_uploader(key=f"evaluate_upload_{image_model.id}")
    healthy(uploader.set_value(("external.zip", archive.getvalue(), "application/zip")).run())
    assert not texts(at.error)
    assert any("External validation" in t and "40 records" in t for t in texts(at.markdown))

    single = io.BytesIO()
    Image.fromarray(external.images[0][:, :, 0]).save(single, format="PNG")
    uploader = at.file_uploader(key=f"evaluate_upload_{image_model.id}")
    healthy(uploader.set_value(("one.png", single.getvalue(), "image/png")).run())
    assert any("no classes" in e for e in texts(at.error)), texts(at.error)
