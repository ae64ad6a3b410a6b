"""The treatment task in the app with Streamlit's AppTest: a small benefit network trained on the
indo_rct demo trial; Predict gives the risk with and without indomethacin, the difference with
its interval, the number needed to treat, the sentence and SHAP on the benefit; Evaluate shows
the Qini curve beside the T-learner's, calibration for benefit and the policy curve."""

from __future__ import annotations

import pytest
from apptools import button, figures, healthy, metrics, open_page, switched_workspace, texts, widget


@pytest.fixture(scope="module")
def trial_model():
    from dlcore.data import load_demo
    from dlcore.data.catalog import ensure_saved
    from dlcore.models.spec import ModelSpec
    from dlcore.training.pipeline import train_and_register

    with switched_workspace("dlcore-treatment-"):
        dataset = load_demo("indo_rct")
        ensure_saved(dataset)
        spec = ModelSpec(hidden_units=[16], dropout=0.2, epochs=4, batch_size=64)
        outcome = train_and_register(dataset, spec, name="indo_rct app test")
        yield outcome


def with_model(page: str, model_id: str):
    at = open_page(page)
    healthy(widget(at.selectbox, "Model").set_value(model_id).run())
    return at


def test_predict_shows_the_benefit_and_explains_it(trial_model):
    at = with_model("predict", trial_model.record.id)
    healthy(button(at, "Estimate benefit").click().run())
    shown = metrics(at)
    assert shown["Risk with indomethacin"].endswith("%")
    assert shown["Risk with placebo"].endswith("%")
    assert shown["Benefit (risk reduction)"].endswith(" pp")
    treated = float(shown["Risk with indomethacin"].rstrip("%"))
    control = float(shown["Risk with placebo"].rstrip("%"))
    benefit = float(shown["Benefit (risk reduction)"].removesuffix(" pp"))
    assert benefit == pytest.approx(control - treated, abs=0.15)
    assert any("model's estimate" in t for t in texts(at.info))
    healthy(button(at, "Explain the benefit (SHAP)").click().run())
    assert "benefit_shap" in figures(at)


def test_evaluate_shows_qini_calibration_and_policy(trial_model):
    at = with_model("evaluate", trial_model.record.id)
    charts = figures(at)
    assert {"treatment_qini", "treatment_benefit_calibration", "treatment_policy"} <= set(charts)
    assert len(charts["treatment_qini"]["data"]) == 3  # network, T-learner, random
    assert any("Qini area" in t for t in texts(at.info))
    assert any("9.2%" in t and "16.9%" in t for t in texts(at.markdown))


@pytest.mark.parametrize("page", ["explain", "models", "train", "home"])
def test_other_pages_render_with_a_treatment_model(trial_model, page):
    if page in ("explain", "models"):
        with_model(page, trial_model.record.id)
    else:
        open_page(page)


def test_data_page_sets_the_treatment_and_checks_the_arms(trial_model):
    from dlcore.data.synthetic import make_trial

    frame, _ = make_trial(400, seed=2, randomised=False)
    at = open_page("data")
    healthy(
        at.file_uploader(key="data_upload")
        .set_value(("trial.csv", frame.to_csv(index=False).encode(), "text/csv"))
        .run()
    )
    healthy(widget(at.selectbox, "Target").set_value("event").run())
    healthy(widget(at.selectbox, "Treatment column").set_value("arm").run())
    assert any("Arms — control:" in t for t in texts(at.caption))
    assert any("confounded" in w for w in texts(at.warning))
    frame.loc[frame["arm"] == "treated", "arm"] = "control"
    at = open_page("data")
    healthy(
        at.file_uploader(key="data_upload")
        .set_value(("one_arm.csv", frame.to_csv(index=False).encode(), "text/csv"))
        .run()
    )
    healthy(widget(at.selectbox, "Target").set_value("event").run())
    healthy(widget(at.selectbox, "Treatment column").set_value("arm").run())
    assert any("only one arm, 'control'" in e for e in texts(at.error))


def test_explain_page_explains_the_benefit(trial_model):
    at = with_model("explain", trial_model.record.id)
    healthy(button(at, "Explain").click().run())
    chart = figures(at)["benefit_shap_explain"]
    assert "benefit" in chart["layout"]["title"]["text"]
    assert len(chart["data"][0]["y"]) == 10


def test_a_training_job_on_the_demo_trial_registers_a_treatment_model(trial_model):
    """The Train page's path: a job in a worker process, on the saved demo trial."""
    from dlcore.data.catalog import find_dataset_by_source
    from dlcore.models.spec import ModelSpec
    from dlcore.registry import get_card
    from dlcore.training.jobs import submit_training, wait_for_job

    entry = find_dataset_by_source("demo:indo_rct")
    job_id = submit_training(entry.id, ModelSpec(hidden_units=[8], epochs=2), name="job trial")
    job = wait_for_job(job_id, timeout_s=300)
    assert job.status == "succeeded", job.error
    card = get_card(job.model_id)
    assert card["task"] == "treatment"
    assert card["treatment"]["arms"] == ["placebo", "indomethacin"]
    assert len(card["history"]["loss"]) == 2  # the live curves' epochs
