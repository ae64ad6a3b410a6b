"""Survival in the app with Streamlit's AppTest: the Data page sets a time-to-event outcome (and
refuses bad choices), Predict gives a relative risk, survival probabilities and the curve, Explain
summarises the risk in log-risk units, Evaluate reports the C-index with its interval, the
time-dependent AUC, the Brier score and Kaplan–Meier curves, on the test split or an external
cohort (which must have the time and event columns).

The GBSG2 model is trained once for the module in a workspace of its own, so that the other test
files' workspace keeps only their models.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from apptools import (
    button,
    deltas,
    figures,
    healthy,
    metrics,
    open_page,
    switched_workspace,
    texts,
    widget,
)
from streamlit.testing.v1 import AppTest

RECORD_KEY = "patient_record"


# -- helpers -----------------------------------------------------------------------------------


def with_model(page: str, model_id: str) -> AppTest:
    at = open_page(page)
    healthy(widget(at.selectbox, "Model").set_value(model_id).run())
    assert widget(at.selectbox, "Model").value == model_id
    return at


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


@pytest.fixture(scope="module")
def gbsg2():
    """A workspace of its own with the GBSG2 demo saved and a small Cox network trained on it:
    (dataset, TrainOutcome)."""
    from dlcore.data import load_demo
    from dlcore.data.catalog import ensure_saved
    from dlcore.models.spec import default_spec
    from dlcore.training.pipeline import train_and_register

    with switched_workspace("dlcore-survival-"):
        dataset = load_demo("gbsg2")
        ensure_saved(dataset)
        spec = default_spec("survival", len(dataset.frame))
        spec.epochs = 10
        outcome = train_and_register(dataset, spec, name="gbsg2 app test")
        yield dataset, outcome


# -- Data ------------------------------------------------------------------------------------------


def test_data_page_sets_a_survival_task_and_refuses_bad_columns(gbsg2):
    from dlcore.data.catalog import load_dataset

    dataset, _ = gbsg2
    frame = dataset.frame
    at = open_page("data")
    healthy(
        at.file_uploader(key="data_upload")
        .set_value(("gbsg2.csv", csv_bytes(frame), "text/csv"))
        .run()
    )
    assert "survival" in widget(at.selectbox, "Task").options
    healthy(widget(at.selectbox, "Task").set_value("survival").run())
    assert widget(at.selectbox, "Event column").label == "Event column (did the event happen?)"
    # The follow-up time is guessed from its name (and positive numbers); unset, it is asked for.
    assert widget(at.selectbox, "Follow-up time column").value == "time"
    healthy(widget(at.selectbox, "Follow-up time column").select_index(0).run())  # "— none"
    assert widget(at.selectbox, "Follow-up time column").value is None
    assert any(
        "Choose the event column and the follow-up time column" in t for t in texts(at.caption)
    )
    healthy(widget(at.selectbox, "Event column").set_value("event").run())
    healthy(widget(at.selectbox, "Follow-up time column").set_value("time").run())
    assert not texts(at.error)

    schema = at.session_state["data_draft"]["schema"]
    assert (schema.task, schema.time_column, schema.target) == ("survival", "time", "event")
    event_value = widget(at.selectbox, "Event value")
    assert event_value.options == ["censored", "recurrence or death"]
    assert event_value.value == schema.positive_class == "recurrence or death"
    columns = at.data_editor[0].value["column"].tolist()
    assert "time" not in columns and "event" not in columns
    assert sorted(columns) == sorted(c for c in frame.columns if c not in ("time", "event"))
    assert not any(t.startswith("Target: the outcome") for t in [s.label for s in at.selectbox])
    # The quality report reads the event as the class balance.
    balance = figures(at)["class_balance"]["data"][0]
    counts = dict(zip(balance["x"], balance["y"], strict=True))
    assert counts == frame["event"].value_counts().to_dict()
    assert metrics(at)["Features"] == str(len(schema.features)) == str(len(columns))

    # The same column twice, then a time that is not a number: said so, nothing changes.
    healthy(widget(at.selectbox, "Follow-up time column").set_value("event").run())
    assert any("'event' was chosen as both the time and the event" in e for e in texts(at.error))
    healthy(widget(at.selectbox, "Follow-up time column").set_value("horTh").run())
    errors = texts(at.error)
    assert len(errors) == 1 and "Time column 'horTh' does not hold numbers" in errors[0], errors
    schema = at.session_state["data_draft"]["schema"]
    assert (schema.time_column, schema.target) == ("time", "event")

    # The event value can be changed; saving keeps the survival outcome.
    healthy(widget(at.selectbox, "Follow-up time column").set_value("time").run())
    assert not texts(at.error)
    healthy(widget(at.text_input, "Dataset name").input("gbsg2 upload").run())
    healthy(widget(at.button, "Save dataset").click().run())
    saved = load_dataset(at.session_state["current_dataset_id"])
    assert (saved.schema.task, saved.schema.time_column, saved.schema.target) == (
        "survival",
        "time",
        "event",
    )
    assert saved.schema.positive_class == "recurrence or death"

    # Back to an ordinary task: the time column is no longer an outcome.
    healthy(widget(at.selectbox, "Task").set_value("binary").run())
    schema = at.session_state["data_draft"]["schema"]
    assert (schema.task, schema.time_column, schema.target) == ("binary", None, "event")
    assert "time" in at.data_editor[0].value["column"].tolist()


# -- Predict and Explain ---------------------------------------------------------------------------


def test_predict_gives_relative_risk_survival_probabilities_and_curve(gbsg2):
    from dlcore.explain.tabular import TabularExplainer
    from dlcore.predict import predict, reference_log_risk, survival_horizons
    from dlcore.registry import load_model

    _, outcome = gbsg2
    model_id = outcome.record.id
    at = with_model("predict", model_id)
    assert any("Survival model with" in t and "recurrence or death" in t for t in texts(at.caption))
    healthy(button(at, "Predict").click().run())
    shown = metrics(at)

    loaded = load_model(model_id)
    record = pd.DataFrame([at.session_state[RECORD_KEY]["record"]])
    table = predict(loaded.model, loaded.layout, record).table
    eta = float(table["log_risk"].iloc[0])
    reference = reference_log_risk(loaded.model, loaded.layout, loaded.background())
    relative = math.exp(eta - reference)
    assert shown["Relative risk vs average"] == f"{relative:.2f}×"
    # The average is the same reference patient the explanations start from.
    explainer = TabularExplainer(loaded.model, loaded.layout, loaded.background())
    assert float(explainer.explain(record).base_values[0]) == pytest.approx(reference, abs=1e-4)

    horizons = survival_horizons(loaded.layout)
    assert len(horizons) == 3
    labels = [k for k in shown if k.startswith("Survival at ")]
    assert labels == [f"Survival at {h:,.0f}" for h in horizons]
    values = [float(shown[k].rstrip("%")) / 100 for k in labels]
    expected = [float(table[f"survival_at_{h:g}"].iloc[0]) for h in horizons]
    assert values == pytest.approx(expected, abs=5e-4)
    assert values[0] > values[1] > values[2] and 0 < values[2] < 1
    median = float(table["median_survival"].iloc[0])
    assert shown["Median predicted survival"] == (
        f"{median:,.0f}" if math.isfinite(median) else "not reached"
    )

    chart = figures(at)["survival_curve"]
    patient, average = chart["data"][0], chart["data"][1]
    assert (patient["name"], average["name"]) == ("This patient", "Average reference patient")
    s_patient, s_average = np.asarray(patient["y"]), np.asarray(average["y"])
    assert s_patient[0] == 1.0 and np.all(np.diff(s_patient) <= 1e-12)
    # Proportional hazards: log S(t | patient) / log S(t | average) is the relative risk.
    inside = (s_average < 1) & (s_average > 0)
    np.testing.assert_allclose(
        np.log(s_patient[inside]) / np.log(s_average[inside]), relative, rtol=1e-6
    )
    assert chart["layout"]["xaxis"]["title"]["text"] == "time"

    # Explain: the same patient, the risk in plain language and a waterfall in log-risk units.
    at = open_page("explain", at)
    assert widget(at.radio, "Which record").value == "The patient from Predict"
    summary = next(t for t in texts(at.info) if t.startswith("Predicted risk:"))
    assert summary.startswith(
        f"Predicted risk: {relative:.2f} times the average reference patient's"
    )
    waterfall = figures(at)["waterfall"]
    assert waterfall["layout"]["title"]["text"].startswith(
        "Why this risk: log-risk from the average"
    )
    assert waterfall["layout"]["xaxis"]["title"]["text"] == "log-risk"
    total = waterfall["data"][0]["y"][-1]
    assert total == f"prediction: {eta:.3g}" and "%" not in total
    assert any("log-risk units" in t for t in texts(at.caption))


def test_batch_predictions_for_survival(gbsg2):
    from dlcore.predict import predict, reference_log_risk
    from dlcore.registry import load_model

    dataset, outcome = gbsg2
    model_id = outcome.record.id
    records = dataset.frame.sample(25, random_state=3).reset_index(drop=True)
    at = with_model("predict", model_id)
    healthy(
        at.file_uploader(key=f"batch_{model_id}")
        .set_value(("batch.csv", csv_bytes(records), "text/csv"))
        .run()
    )
    assert any("25 predictions" in t for t in texts(at.success))
    shown = at.dataframe[0].value
    loaded = load_model(model_id)
    table = predict(loaded.model, loaded.layout, records).table
    reference = reference_log_risk(loaded.model, loaded.layout, loaded.background())
    # the file carries 4 decimals (issue 14 #21) and names the model that made it
    np.testing.assert_allclose(shown["log_risk"], table["log_risk"], rtol=0, atol=5.01e-5)
    np.testing.assert_allclose(
        shown["relative_risk_vs_average"],
        np.exp(table["log_risk"] - reference),
        rtol=2e-4,
        atol=5.01e-5,
    )
    assert set(shown["model_id"]) == {model_id}
    horizons = [c for c in shown.columns if c.startswith("survival_at_")]
    assert len(horizons) == 3
    assert widget(at.get("download_button"), "Download predictions (CSV)")
    assert not any(t.startswith("Probability:") for t in texts(at.caption))


# -- Evaluate --------------------------------------------------------------------------------------


def test_evaluate_reports_c_index_auc_brier_and_kaplan_meier(gbsg2, downloads):
    from dlcore.evaluate.model_report import clinical_report, evaluation_data
    from dlcore.registry import load_model

    _, outcome = gbsg2
    model_id = outcome.record.id
    at = with_model("evaluate", model_id)
    assert not texts(at.error)
    assert not [i for i in texts(at.info) if "not covered" in i or "Evaluate covers" in i]
    shown = metrics(at)

    loaded = load_model(model_id)
    data = evaluation_data(loaded)
    report = clinical_report(loaded, data)
    c = report.c_index
    assert shown["C-index"] == f"{c.value:.3f}"
    assert deltas(at)["C-index"] == f"95% CI {c.low:.3f}–{c.high:.3f}"
    assert c.low < c.value < c.high and 0.55 < c.value < 0.85
    assert c.value == pytest.approx(outcome.report.c_index.value)
    auc = {k: v for k, v in shown.items() if k.startswith("AUC at ")}
    assert list(auc) == [f"AUC at {t:,.0f}" for t in report.auc_times] and len(auc) == 3
    assert [float(v) for v in auc.values()] == pytest.approx(report.auc, abs=5e-4)
    assert shown["Integrated Brier score"] == f"{report.integrated_brier:.3f}"
    events = int(data.y[:, 1].sum())
    assert any(
        "Internal: held-out test split" in t and f"{events:,} with" in t for t in texts(at.markdown)
    )

    curves = figures(at)["evaluate_kaplan_meier"]["data"]
    assert len(curves) == 6
    observed = [t for t in curves if t["line"].get("dash") != "dash"]
    predicted = [t for t in curves if t["line"].get("dash") == "dash"]
    assert [t["name"].split(":")[0] for t in observed] == ["low risk", "medium risk", "high risk"]
    assert len(predicted) == 3
    for trace, group in zip(observed, report.risk_groups, strict=True):
        assert trace["y"] == pytest.approx(group.survival)
        assert f"{group.n} patients, {group.events} events" in trace["name"]
    # Risk tertiles: the high-risk third has the worse observed survival at the last common time.
    at_end = min(observed[0]["x"][-1], observed[2]["x"][-1])
    low = observed[0]["y"][np.searchsorted(observed[0]["x"], at_end, side="right") - 1]
    high = observed[2]["y"][np.searchsorted(observed[2]["x"], at_end, side="right") - 1]
    assert high < low

    card = downloads(at.download_button(key="evaluate_card_markdown")).decode()
    assert f"| C-index (Harrell) | {c.value:.3f} ({c.low:.3f}–{c.high:.3f}) |" in card
    assert f"| integrated Brier score | {report.integrated_brier:.3f} |" in card
    assert "## Calibration over time" in card and "| high risk |" in card
    assert "threshold" not in card.lower()  # no decision threshold for a time-to-event model
    html = downloads(at.download_button(key="evaluate_card_html")).decode()
    assert "<!DOCTYPE html>" in html and "Kaplan" in html


def test_external_cohort_needs_time_and_event(gbsg2):
    from dlcore.evaluate.model_report import clinical_report, evaluation_data
    from dlcore.registry import load_model

    dataset, outcome = gbsg2
    model_id = outcome.record.id
    cohort = dataset.frame.sample(200, random_state=11).reset_index(drop=True)
    at = with_model("evaluate", model_id)
    healthy(at.radio(key="evaluate_source").set_value("An external cohort (upload)").run())
    uploader = at.file_uploader(key=f"evaluate_upload_{model_id}")
    assert "'time'" in uploader.label and "'event'" in uploader.label

    def upload(name: str, frame: pd.DataFrame) -> None:
        widget_ = at.file_uploader(key=f"evaluate_upload_{model_id}")
        healthy(widget_.set_value((name, csv_bytes(frame), "text/csv")).run())

    upload("no-time.csv", cohort.drop(columns=["time"]))
    errors = texts(at.error)
    assert errors and "time column 'time'" in errors[0], errors
    assert "C-index" not in metrics(at)
    upload("no-event.csv", cohort.drop(columns=["event"]))
    errors = texts(at.error)
    assert errors and "'event'" in errors[0], errors

    upload("cohort.csv", cohort)
    assert not texts(at.error)
    assert any("External validation" in t and "200 records" in t for t in texts(at.markdown))
    loaded = load_model(model_id)
    report = clinical_report(loaded, evaluation_data(loaded, cohort))
    assert metrics(at)["C-index"] == f"{report.c_index.value:.3f}"
    assert deltas(at)["C-index"] == f"95% CI {report.c_index.low:.3f}–{report.c_index.high:.3f}"
    assert "evaluate_kaplan_meier" in figures(at)


def test_models_page_shows_the_survival_evaluation(gbsg2):
    _, outcome = gbsg2
    model_id = outcome.record.id
    at = open_page("models")
    healthy(widget(at.selectbox, "Model").set_value(model_id).run())
    shown = metrics(at)
    report = outcome.report
    assert shown["C-index"] == f"{report.c_index.value:.3g}"
    assert shown["Integrated Brier score"] == f"{report.integrated_brier:.3g}"
    curves = figures(at)["report_0"]["data"]
    assert [t["name"].split(":")[0] for t in curves[::2]] == [
        "low risk",
        "medium risk",
        "high risk",
    ]


def test_a_coded_event_is_named_by_its_column():
    from types import SimpleNamespace

    from ui.common import event_text

    assert event_text(SimpleNamespace(positive_class="1", target="cens")) == "the event (cens = 1)"
    assert event_text(SimpleNamespace(positive_class="death", target="status")) == "death"
    assert event_text(SimpleNamespace(positive_class=None, target="status")) == "the event"
