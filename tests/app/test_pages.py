"""Every page with Streamlit's AppTest: empty workspace, with models, the main flow and bad input.

AppTest runs app.py in this process against the session workspace (tests/conftest.py); the app's
boot saves the demo datasets there. Training started from the Train page runs in a real worker
process. Pages swallow unexpected errors into a short apology (ui.common.guard), so every check
also asserts that no apology was shown.
"""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import zipfile

import pytest
from apptools import button, healthy, metrics, new_app, open_page, texts, widget
from apptools import figures as plotly_figures
from streamlit.testing.v1 import AppTest

PAGES = ["home", "data", "train", "models", "predict", "explain"]
MODEL_KEY = "current_model_id"


# -- helpers -----------------------------------------------------------------------------------


def submit(at: AppTest, label: str = "Predict"):
    found = [b for b in at.button if b.label == label]
    assert found, f"no button '{label}' among {[b.label for b in at.button]}"
    return found[0]


def select_model(at: AppTest, model_id: str) -> AppTest:
    healthy(widget(at.selectbox, "Model").set_value(model_id).run())
    assert widget(at.selectbox, "Model").value == model_id
    return at


def percent(text: str) -> float:
    assert text.endswith("%"), text
    return float(text.rstrip("%"))


# -- every page renders ------------------------------------------------------------------------


def test_pages_render_with_an_empty_workspace(isolated_workspace):
    from dlcore.registry import list_models

    assert list_models() == []
    at = new_app()
    healthy(at.run())
    assert metrics(at)["Models"] == "0"
    from dlcore.data.demo import DEMOS

    assert metrics(at)["Datasets"] == str(len(DEMOS))  # the demo datasets, saved at boot
    assert "Use demo data" in [b.label for b in at.button]

    open_page("data", at)
    assert any("Choose a saved dataset" in t for t in texts(at.info))
    open_page("train", at)
    assert any("Breast cancer" in o for o in widget(at.selectbox, "Dataset").options)
    assert "Start training" in [b.label for b in at.button]
    assert "No training jobs yet." in texts(at.caption)
    open_page("models", at)
    assert any("No models yet" in t for t in texts(at.info))
    for page in ("predict", "explain"):
        open_page(page, at)
        assert any("There is no model yet" in t for t in texts(at.info)), page
    open_page("home", at)
    assert metrics(at)["Models"] == "0"


def test_pages_render_with_models(tiny_binary, tiny_regression):
    binary, regression = tiny_binary.record, tiny_regression.record
    at = new_app()
    healthy(at.run())
    assert int(metrics(at)["Models"]) >= 2

    from dlcore.data.catalog import list_datasets

    open_page("data", at)
    for entry in list_datasets():
        healthy(widget(at.selectbox, "A saved dataset").set_value(entry.id).run())
        assert texts(at.subheader)[0] == entry.name
        assert metrics(at)["Records"] == f"{entry.rows:,}"

    open_page("train", at)
    for entry in [d for d in list_datasets() if d.target]:
        healthy(widget(at.selectbox, "Dataset").set_value(entry.id).run())
        assert "Start training" in [b.label for b in at.button], entry.name
        assert int(metrics(at)["Parameters to learn"].replace(",", "")) > 0

    open_page("models", at)
    for record in (binary, regression):
        select_model(at, record.id)
        assert any(record.name in t for t in texts(at.markdown)), record.name
        figures = plotly_figures(at)
        assert "model_loss" in figures
        assert len(figures["model_loss"]["data"][0]["y"]) == 2  # two epochs of training loss
    assert "loss" in json.dumps(plotly_figures(at)["model_loss"]["layout"]).lower()

    open_page("predict", at)
    for record in (binary, regression):
        select_model(at, record.id)
        assert "Predict" in [b.label for b in at.button]
        assert not texts(at.error)

    # Explain, with the default record source (a record of a dataset), in both orders: the
    # dataset offered must be one with the model's columns even when the model's own training
    # table is not saved in the workspace (these fixtures train on unsaved demo tables).
    open_page("explain", at)
    for record in (regression, binary, regression):
        select_model(at, record.id)
        assert not texts(at.error), (record.name, texts(at.error)[:1])
        assert any(("Raises it" in t or "Lowers it" in t) for t in texts(at.info)), record.name
        assert plotly_figures(at)["waterfall"]["data"][0]["type"] == "waterfall"
    target = tiny_regression.result.layout.target
    assert texts(at.info)[0].startswith(f"Predicted {target}: ")  # a value, not a probability

    open_page("home", at)


def test_every_model_pick_sticks(tiny_binary, tiny_regression):
    """Choosing models one after another (no other interaction in between) shows each choice."""
    ids = [tiny_binary.record.id, tiny_regression.record.id]
    for page in ("predict", "models", "explain"):
        at = open_page(page)
        for model_id in [*ids, *ids]:
            select_model(at, model_id)
            assert at.session_state[MODEL_KEY] == model_id, page


# -- the main flow -----------------------------------------------------------------------------


def test_main_flow_demo_data_train_predict_explain():
    from dlcore.training.jobs import list_jobs, wait_for_job

    at = new_app()
    healthy(at.run())
    healthy(button(at, "Use demo data").click().run())
    assert [t.value for t in at.title] == ["Data"]
    assert "Breast cancer" in " ".join(texts(at.subheader))
    assert widget(at.selectbox, "Target").value == "diagnosis"
    assert widget(at.selectbox, "Positive class").value == "malignant"

    open_page("train", at)
    assert "Breast cancer" in widget(at.selectbox, "Dataset").format_func(
        widget(at.selectbox, "Dataset").value
    )
    healthy(widget(at.number_input, "Epochs").set_value(2).run())
    before = {j.id for j in list_jobs(limit=100)}
    healthy(button(at, "Start training").click().run())
    new = [j for j in list_jobs(limit=100) if j.id not in before]
    assert len(new) == 1
    assert new[0].params["spec"]["epochs"] == 2
    assert new[0].params["task"] == "binary"

    job = wait_for_job(new[0].id, timeout_s=90)
    assert job.status == "succeeded", job.error
    healthy(at.run())  # run_every does not tick in AppTest: run again
    finished = [t for t in texts(at.success) if t.startswith("Finished")]
    assert finished and "2 epochs" in finished[0]
    shown = metrics(at)
    assert 0.0 <= float(shown["ROC AUC"]) <= 1.0
    assert f"{job.result['metrics']['roc_auc']:.3g}" == shown["ROC AUC"]

    open_page("predict", at)
    select_model(at, job.model_id)
    healthy(submit(at, "Predict").click().run())
    shown = metrics(at)
    probability = percent(shown["Probability of malignant"])
    assert 0.0 <= probability <= 100.0
    decision = next(v for k, v in shown.items() if k.startswith("Decision at threshold"))
    assert decision in ("malignant", "benign")
    assert at.session_state["patient_record"]["model_id"] == job.model_id

    open_page("explain", at)
    assert at.selectbox[0].value == job.model_id
    assert widget(at.radio, "Which record").value == "The patient from Predict"
    summary = [t for t in texts(at.info) if "Raises it" in t or "Lowers it" in t]
    assert summary and "Predicted probability of malignant" in summary[0]
    # The explanation is of the same patient: its probability matches the Predict page's.
    assert f"{probability:.0f}%" in summary[0]
    waterfall = plotly_figures(at)["waterfall"]
    assert waterfall["data"][0]["type"] == "waterfall"
    assert len(waterfall["data"][0]["y"]) >= 2


def test_regression_model_predicts_from_the_form(tiny_regression):
    record = tiny_regression.record
    target = tiny_regression.result.layout.target
    at = open_page("predict")
    select_model(at, record.id)
    healthy(submit(at, "Predict").click().run())
    shown = float(metrics(at)[f"Predicted {target}"])
    assert not any(k.startswith("Probability") for k in metrics(at))

    # It is the model's output for the form's default values (numbers at the training median,
    # categories at the first one seen).
    import pandas as pd

    from dlcore.predict import predict
    from dlcore.registry import load_model

    loaded = load_model(record.id)
    defaults = {
        f.name: float(min(max(f.median, f.min), f.max)) if f.kind == "numeric" else f.categories[0]
        for f in loaded.layout.features
    }
    expected = predict(loaded.model, loaded.layout, pd.DataFrame([defaults])).table.iloc[0, 0]
    assert shown == pytest.approx(float(expected), rel=1e-3)


# -- bad input ---------------------------------------------------------------------------------


def test_data_page_refuses_bad_files_and_keeps_working():
    at = open_page("data")
    uploader = at.file_uploader(key="data_upload")
    healthy(uploader.set_value(("records.json", b'{"age": [61, 72]}', "application/json")).run())
    errors = texts(at.error)
    assert any("records.json" in e and "Expected" in e for e in errors), errors
    healthy(at.run())  # the refused file is still in the uploader: its error stays
    assert texts(at.error) == errors

    healthy(at.file_uploader(key="data_upload").set_value(("empty.csv", b"", "text/csv")).run())
    errors = texts(at.error)
    assert any("empty" in e and "Expected" in e for e in errors), errors

    healthy(at.run())  # the page still runs
    good = b"age,sex,outcome\n61,F,yes\n72,M,no\n55,F,no\n48,M,yes\n"
    healthy(at.file_uploader(key="data_upload").set_value(("cohort.csv", good, "text/csv")).run())
    # Named by kind and date, never by the file's name (a file name can name a patient).
    assert [t.split(" ")[0] for t in texts(at.subheader)] == ["table"]
    assert not texts(at.error)
    assert metrics(at)["Records"] == "4"


def test_predict_batch_upload_missing_columns_names_them(tiny_binary):
    record = tiny_binary.record
    at = open_page("predict")
    select_model(at, record.id)
    uploader = at.file_uploader(key=f"batch_{record.id}")
    csv = b"mean radius,mean texture\n14.1,20.2\n12.0,18.5\n"
    healthy(uploader.set_value(("two_columns.csv", csv, "text/csv")).run())
    errors = texts(at.error)
    assert errors, "a file without the model's columns must be refused"
    needed = errors[0].split("needs:", 1)[1].split(".", 1)[0]
    missing = [name.strip() for name in needed.split(",")]
    assert "lack 28 column(s)" in errors[0]
    assert "mean perimeter" in missing
    assert "mean radius" not in missing and "mean texture" not in missing

    # A file with the model's columns is scored, one prediction per row.
    from dlcore.data import load_demo

    frame = load_demo("breast_cancer").frame.head(5)
    data = frame.to_csv(index=False).encode()
    healthy(
        at.file_uploader(key=f"batch_{record.id}").set_value(("five.csv", data, "text/csv")).run()
    )
    assert "5 predictions." in texts(at.success)
    # with each record's spread over 30 runs with dropout, and one sentence for the batch
    shown = at.dataframe[0].value
    assert {"runs_low_80", "runs_high_80", "runs_agree"} <= set(shown.columns)
    assert (shown["runs_low_80"] <= shown["runs_high_80"]).all()
    assert shown["runs_low_80"].between(0, 1).all() and shown["runs_high_80"].between(0, 1).all()
    assert set(shown["runs_agree"]) <= {"yes", "no"}
    agree = int((shown["runs_agree"] == "yes").sum())
    assert any(f"the runs agree for {agree} of 5 records" in c for c in texts(at.caption))


def test_models_page_refuses_a_pickle():
    at = open_page("models")
    blob = pickle.dumps({"weights": [1, 2, 3]})
    healthy(
        at.file_uploader(key="upload_model")
        .set_value(("model.pkl", blob, "application/octet-stream"))
        .run()
    )
    healthy(button(at, "Add to the registry").click().run())
    errors = texts(at.error)
    assert any("model.pkl" in e and "pickle" in e for e in errors), errors
    assert not texts(at.success)


def test_models_upload_rename_and_delete(tiny_binary):
    from dlcore.registry import export_bundle, get_card, list_models

    with zipfile.ZipFile(io.BytesIO(export_bundle(tiny_binary.record.id))) as bundle:
        names = bundle.namelist()
        model_bytes = bundle.read(next(n for n in names if n.endswith("model.keras")))
        card_bytes = bundle.read(next(n for n in names if n.endswith("card.json")))

    at = open_page("models")
    at.file_uploader(key="upload_model").set_value(
        ("copy.keras", model_bytes, "application/octet-stream")
    )
    at.file_uploader(key="upload_card").set_value(("card.json", card_bytes, "application/json"))
    at.text_input(key="upload_name").input("model to manage")
    healthy(at.run())
    healthy(button(at, "Add to the registry").click().run())
    assert any("Added 'model to manage'" in t for t in texts(at.success)), texts(at.error)
    model_id = at.session_state[MODEL_KEY]
    assert model_id in {m.id for m in list_models()}
    assert widget(at.selectbox, "Model").value == model_id

    # Rename: an empty name is refused with a message, a real one is saved.
    healthy(at.text_input(key=f"rename_{model_id}").input("   ").run())
    healthy(button(at, "Save name").click().run())
    assert any("name" in e and "Expected" in e for e in texts(at.error)), texts(at.error)
    assert get_card(model_id)["name"] == "model to manage"
    healthy(at.text_input(key=f"rename_{model_id}").input("managed model").run())
    healthy(button(at, "Save name").click().run())
    assert get_card(model_id)["name"] == "managed model"
    assert widget(at.selectbox, "Model").value == model_id

    # Delete needs the confirmation.
    assert button(at, "Delete model").disabled
    healthy(at.checkbox(key=f"confirm_{model_id}").check().run())
    assert not button(at, "Delete model").disabled
    healthy(button(at, "Delete model").click().run())
    assert model_id not in {m.id for m in list_models()}
    assert at.session_state[MODEL_KEY] != model_id  # the page moved on to another model
    healthy(at.run())


def test_train_page_shows_a_dead_worker_as_failed():
    """A worker killed while the app runs (out of memory, say) shows as failed with the reason."""
    from dlcore.fsutil import new_id
    from dlcore.store import JobRow, get_store, utcnow
    from dlcore.training.jobs import cancel_job, get_job

    exited = subprocess.Popen(["true"])
    exited.wait()
    job_id = new_id("j")
    with get_store().session() as session:
        session.add(
            JobRow(
                id=job_id,
                kind="train",
                title="worker died",
                status="running",
                params={"task": "binary"},
                pid=exited.pid,
                started=utcnow(),
            )
        )
        session.commit()
    try:
        at = new_app()
        healthy(at.run())
        at.session_state["watched_job_id"] = job_id
        open_page("train", at)
        assert get_job(job_id).status == "failed"
        assert any(
            "Training failed" in e and "stopped unexpectedly" in e for e in texts(at.error)
        ), texts(at.error)
    finally:
        cancel_job(job_id)  # never leave a 'running' row that would hold the only training slot


def test_an_unexpected_error_is_logged_where_it_happened_without_its_message(caplog):
    import logging

    from ui.common import guard

    cell = "Jane Doe, born " + "1950-02-03"  # a value from the data, not from the code
    with caplog.at_level(logging.ERROR, logger="dashboard"), guard("Scoring"):
        raise ValueError(f"could not convert {cell!r} to float")
    assert "ValueError" in caplog.text and "test_pages.py" in caplog.text
    assert "Jane Doe" not in caplog.text and "1950" not in caplog.text
