"""The Learn page: every tab renders from dlcore's computations; the survey's example runs as a job."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def learn_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("pages/learn.py").run()
    assert not at.exception, at.exception
    return at


def test_learn_page_tabs_show_computed_values():
    at = learn_page()
    assert [t.value for t in at.title] == ["Learn"]
    # the chain rule and GradientTape agree, shown as a success message with the difference
    agreement = [s.value for s in at.success if "agree to" in s.value]
    assert agreement and float(agreement[0].split("agree to ")[1].rstrip(".")) < 1e-10
    # the forward-pass table holds the three hidden neurons' numbers
    frames = [d.value for d in at.dataframe]
    hidden = next(f for f in frames if "neuron" in f.columns)
    assert list(hidden["neuron"]) == ["h1", "h2", "h3"]
    assert (hidden["a = relu(z)"] >= 0).all()
    assert len(at.get("plotly_chart")) >= 4  # activations, derivatives, losses, optimizer paths


def test_a_too_large_learning_rate_is_flagged():
    at = learn_page()
    at.select_slider(key="surface_rate").set_value(0.3).run()
    assert not at.exception
    assert any("diverged" in w.value for w in at.warning)


def test_the_survey_example_runs_as_a_job(isolated_workspace):
    from dlcore.teach.reference_example import SEED_NAME
    from dlcore.training.jobs import list_jobs, wait_for_job

    at = learn_page()
    next(b for b in at.button if b.label == "Run the example").click().run()
    assert not at.exception
    job = next(j for j in list_jobs(limit=20) if j.params.get("name") == SEED_NAME)
    assert (
        job.params["spec"]["hidden_units"] == [512, 256]
        and job.params["spec"]["optimizer"] == "sgd"
    )
    finished = wait_for_job(job.id, timeout_s=120)
    assert finished.status == "succeeded", finished.error
    assert finished.result["epochs_run"] == 10
    assert finished.result["metrics"]["accuracy"] > 0.5
