"""Treatment task: checks on the arms, the TARNet through the one training path, benefit per
patient, SHAP on the benefit, and the evaluation of benefit on simulated trials with a known effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlcore.data.dataset import Dataset
from dlcore.data.schema import infer_schema
from dlcore.data.synthetic import make_trial
from dlcore.data.treatment import (
    MIN_ARM_RECORDS,
    check_treatment,
    overall_effect,
    set_treatment_column,
)
from dlcore.errors import UserError
from dlcore.evaluate.uplift import evaluate_uplift
from dlcore.models.spec import ModelSpec

FAST = ModelSpec(
    hidden_units=[32, 32],
    epochs=12,
    batch_size=128,
    early_stopping_patience=4,
    dropout=0.1,
    learning_rate=3e-3,
)


def trial_dataset(frame: pd.DataFrame, treatment: str = "arm") -> Dataset:
    schema = infer_schema(frame, target="event")
    schema.positive_class = "yes"
    set_treatment_column(schema, frame, treatment)
    return Dataset("simulated trial", frame, schema, source="test")


@pytest.fixture(scope="module")
def trained():
    """A TARNet trained through the pipeline on 5,000 simulated trial patients, and the truth."""
    from apptools import switched_workspace

    from dlcore.training.pipeline import train_and_register

    frame, truth = make_trial(5000, seed=1)
    dataset = trial_dataset(frame)
    events = []
    with switched_workspace():
        outcome = train_and_register(dataset, FAST, on_event=events.append)
        from dlcore.registry import load_model

        loaded = load_model(outcome.record.id)
        yield outcome, loaded, frame, truth, events


def test_check_finds_randomised_arms_and_balance():
    frame, _ = make_trial(1000, seed=3)
    dataset = trial_dataset(frame)
    check = check_treatment(frame, dataset.schema)
    assert check.arms == ["control", "treated"]
    assert sum(check.counts.values()) == 1000
    assert check.looks_randomised and check.warnings == []
    assert 0.4 < check.propensity_auc < 0.6
    assert check.max_smd < 0.15


def test_observational_data_warns_of_confounding():
    frame, _ = make_trial(1000, seed=3, randomised=False)
    check = check_treatment(frame, trial_dataset(frame).schema)
    assert not check.looks_randomised
    assert check.propensity_auc > 0.6
    assert "confounded" in check.warnings[0]
    assert check.balance[0].name == "age"


def test_one_arm_is_refused():
    frame, _ = make_trial(200, seed=0)
    frame["arm"] = "treated"
    with pytest.raises(UserError, match="only one arm, 'treated'"):
        check_treatment(frame, trial_dataset(frame).schema)


def test_small_arm_is_refused_with_its_count():
    frame, _ = make_trial(300, seed=0)
    treated = np.flatnonzero(frame["arm"] == "treated")
    frame.loc[treated[MIN_ARM_RECORDS - 5 :], "arm"] = "control"
    with pytest.raises(UserError, match=f"'treated' has {MIN_ARM_RECORDS - 5} record"):
        check_treatment(frame, trial_dataset(frame).schema)


def test_outcome_missing_in_one_arm_is_refused_with_counts():
    frame, _ = make_trial(300, seed=0)
    frame["event"] = frame["event"].astype(object)
    treated = frame["arm"] == "treated"
    frame.loc[treated, "event"] = None
    n_treated, n_control = int(treated.sum()), int((~treated).sum())
    with pytest.raises(UserError) as err:
        check_treatment(frame, trial_dataset(frame).schema)
    text = str(err.value)
    assert f"'treated': outcome recorded for 0 of {n_treated}" in text
    assert f"'control': outcome recorded for {n_control} of {n_control}" in text


def test_treatment_that_is_also_a_feature_is_excluded_with_reason():
    frame, _ = make_trial(300, seed=0)
    schema = infer_schema(frame, target="event")
    assert "arm" in schema.feature_names
    schema.treatment_column = "arm"  # set without set_treatment_column: still a feature
    check = check_treatment(frame, schema)
    assert "arm" not in schema.feature_names
    assert "treatment arm" in schema.excluded["arm"]
    assert "left out" in check.notes[0]


def test_overall_effect_ci_covers_the_truth():
    frame, truth = make_trial(4000, seed=5, effect="constant")
    y = (frame["event"] == "yes").to_numpy(float)
    effect = overall_effect(y, (frame["arm"] == "treated").to_numpy(int))
    assert effect.low < float(truth.mean()) < effect.high
    assert effect.low > 0  # a real reduction, detected


def test_no_effect_qini_ci_covers_zero():
    frame, _ = make_trial(2000, seed=7, effect="none")
    y = (frame["event"] == "yes").to_numpy(float)
    treated = (frame["arm"] == "treated").to_numpy(int)
    # a ranking by a real prognostic covariate: still no benefit to find
    report = evaluate_uplift(y, treated, frame["crp"].to_numpy(), bootstrap=200, seed=0)
    assert report.qini_low < 0 < report.qini_high


def test_known_effect_qini_ci_excludes_zero():
    frame, truth = make_trial(2000, seed=7)
    y = (frame["event"] == "yes").to_numpy(float)
    treated = (frame["arm"] == "treated").to_numpy(int)
    report = evaluate_uplift(y, treated, truth, bootstrap=200, seed=0)
    assert report.qini_low > 0
    assert len(report.groups) == 5
    # calibration for benefit: observed differences rise with the predicted ones
    assert report.groups[-1].observed > report.groups[0].observed
    # treating only those with benefit > 0 beats treating all and treating none
    best = np.nanmin(report.policy_rate)
    assert best < min(report.treat_all_rate, report.treat_none_rate)


def test_network_benefit_correlates_with_truth(trained):
    from dlcore.models.treatment import arm_risks

    outcome, _loaded, _frame, truth, events = trained
    result = outcome.result
    risks = arm_risks(result.model, result.layout.inputs(result.data.features), 2)
    predicted = risks[:, 0] - risks[:, 1]
    assert np.corrcoef(predicted, truth[result.data.row_index])[0, 1] >= 0.8
    assert {e.kind for e in events} >= {"start", "epoch", "end"}
    assert outcome.report.headline()  # the factual outcome is judged too
    section = outcome.summary["treatment"]
    assert section["uplift"]["qini_low"] > 0
    assert (
        section["overall_effect"]["low"] < float(truth.mean()) < section["overall_effect"]["high"]
    )


def test_saved_model_reloads_and_gives_benefit(trained):
    from dlcore.evaluate.treatment import predict_benefit
    from dlcore.models.treatment import arm_risks

    outcome, loaded, frame, _truth, _ = trained
    assert loaded.card["task"] == "treatment"
    assert loaded.card["treatment"]["arms"] == ["control", "treated"]
    records = frame.drop(columns=["event", "arm"]).iloc[:20]
    result = outcome.result
    same = arm_risks(result.model, result.layout.inputs(result.data.features.iloc[:20]), 2)
    again = arm_risks(loaded.model, loaded.layout.inputs(result.data.features.iloc[:20]), 2)
    np.testing.assert_allclose(same, again, atol=1e-6)
    table = predict_benefit(loaded.model, loaded.layout, loaded.card, records, draws=30)
    t = table.table
    np.testing.assert_allclose(
        t["benefit_pp"], 100 * (t["risk_control"] - t["risk_treated"]), atol=1e-4
    )
    assert (t["benefit_low_pp"] <= t["benefit_high_pp"]).all()
    assert (t["benefit_high_pp"] - t["benefit_low_pp"]).mean() > 0.1
    helped = t.index[t["benefit_low_pp"] > 0]
    assert len(helped)
    i = list(t.index).index(helped[0])
    sentence = table.sentence(i)
    assert "lower the risk of event" in sentence and "model's estimate" in sentence
    assert np.isfinite(t.loc[helped[0], "nnt"])


def test_shap_on_benefit_is_additive_and_points_at_the_modifier(trained):
    from dlcore.evaluate.treatment import explain_benefit

    _outcome, loaded, frame, _truth, _ = trained
    records = frame.drop(columns=["event", "arm"]).iloc[:8]
    explanation = explain_benefit(loaded.model, loaded.layout, loaded.background(), records)
    assert explanation.additivity_error < 1e-3
    importance = explanation.importance()
    assert importance.iloc[0, 0] == "crp" or importance.index[0] == "crp"


def test_card_and_figures_show_the_benefit_evaluation(trained):
    from dlcore.evaluate.uplift import UpliftReport
    from dlcore.plots.uplift import plot_benefit_calibration, plot_policy, plot_qini
    from dlcore.report.card import model_card_markdown

    _, loaded, _, _, _ = trained
    text = model_card_markdown(loaded.card)
    assert "## Treatment effect (who benefits)" in text
    assert "Qini area" in text and "T-learner" in text
    assert text.count("| quintile") == 1 and "| 5 |" in text
    section = loaded.card["treatment"]
    report = UpliftReport.from_dict(section["uplift"])
    baseline = UpliftReport.from_dict(section["baselines"]["t_learner"])
    qini = plot_qini(report, baseline)
    assert len(qini.data) == 3 and len(qini.data[0].x) == len(report.fractions)
    assert len(plot_benefit_calibration(report).data[0].x) == 5
    policy = plot_policy(report)
    assert min(policy.data[0].y) <= 100 * min(report.treat_all_rate, report.treat_none_rate)


def test_demo_trial_loads_offline_as_a_treatment_task():
    from dlcore.data.demo import DEMOS, load_demo

    assert "indo_rct" in DEMOS
    dataset = load_demo("indo_rct")
    assert len(dataset.frame) == 602
    check = check_treatment(dataset.frame, dataset.schema)
    assert check.arms == ["placebo", "indomethacin"]
    assert check.counts == {"placebo": 307, "indomethacin": 295}
    assert check.events == {"placebo": 52, "indomethacin": 27}
    y = (dataset.frame["pancreatitis"] == "yes").to_numpy(float)
    effect = overall_effect(y, (dataset.frame["treatment"] == "indomethacin").to_numpy(int))
    assert (
        round(100 * effect.rate_treated, 1) == 9.2 and round(100 * effect.rate_control, 1) == 16.9
    )
    assert effect.low > 0
    assert "treatment" not in dataset.schema.feature_names


def test_dragonnet_head_trains_saves_and_reloads(tmp_path):
    from dlcore.models.keras_runtime import import_keras
    from dlcore.models.layers import TreatmentLoss  # noqa: F401  (registered for loading)
    from dlcore.models.treatment import arm_risks
    from dlcore.training.treatment import train_treatment

    frame, _ = make_trial(800, seed=9)
    spec = ModelSpec(hidden_units=[8], epochs=2, batch_size=64, propensity_weight=1.0)
    result = train_treatment(trial_dataset(frame), spec)
    inputs = result.layout.inputs(result.data.features.iloc[:16])
    out = np.asarray(result.model({k: v for k, v in inputs.items()}, training=False))
    assert out.shape == (16, 4)  # two risk heads, then two propensities
    np.testing.assert_allclose(out[:, 2:].sum(axis=1), 1.0, atol=1e-5)
    path = tmp_path / "dragonnet.keras"
    result.model.save(path)
    keras = import_keras()
    again = keras.saving.load_model(path, safe_mode=True, compile=False)
    np.testing.assert_allclose(arm_risks(again, inputs, 2), out[:, :2], atol=1e-6)
    with pytest.raises(UserError, match="propensity_weight"):
        train_treatment(trial_dataset(frame), ModelSpec(propensity_weight=-1.0))
