"""Streamlit blocks for treatment-effect models: benefit per patient (Predict) and the evaluation
of benefit (Evaluate). Layout only: the numbers come from dlcore.evaluate.treatment / uplift."""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from dlcore.evaluate.treatment import explain_benefit, predict_benefit
from dlcore.evaluate.uplift import UpliftReport
from dlcore.plots.uplift import plot_benefit_calibration, plot_policy, plot_qini
from ui.common import guard
from ui.forms import patient_form

BENEFIT_KEY = "treatment_benefit"


def treatment_predict(loaded: Any, model_id: str) -> None:
    """One patient's benefit: risk with and without treatment, the difference with its interval,
    the number needed to treat, a sentence, and SHAP on the benefit."""
    section = loaded.card.get("treatment", {})
    st.caption(
        f"Treatment-effect model with {len(loaded.layout.features)} inputs: it estimates the risk "
        f"with '{section.get('treated')}' and with '{section.get('control')}', and the difference."
    )
    form = patient_form(loaded.layout, key=f"benefit_form_{model_id}", button="Estimate benefit")
    if form.submitted and not form.problems:
        with guard("Estimating the benefit"):
            st.session_state[BENEFIT_KEY] = {
                "model_id": model_id,
                "record": form.record,
                "result": predict_benefit(loaded.model, loaded.layout, loaded.card, form.record),
            }
    stored = st.session_state.get(BENEFIT_KEY)
    if not stored or stored.get("model_id") != model_id:
        return
    result = stored["result"]
    row = result.table.iloc[0]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(f"Risk with {result.treated}", f"{100 * row['risk_treated']:.1f}%")
    c2.metric(f"Risk with {result.control}", f"{100 * row['risk_control']:.1f}%")
    c3.metric(
        "Benefit (risk reduction)",
        f"{row['benefit_pp']:.1f} pp",
        help=f"95% interval {row['benefit_low_pp']:.1f} to {row['benefit_high_pp']:.1f} "
        "percentage points (Monte-Carlo dropout draws of the network)",
    )
    nnt = row["nnt"]
    c4.metric(
        "Number needed to treat", f"{nnt:.0f}" if math.isfinite(nnt) else "no benefit estimated"
    )
    st.info(result.sentence(0), icon=":material/medication:")
    if st.button("Explain the benefit (SHAP)", key=f"benefit_explain_{model_id}"):
        with guard("Explaining the benefit"):
            explanation = explain_benefit(
                loaded.model, loaded.layout, loaded.background(), stored["record"]
            )
            parts = explanation.contributions(0)
            st.plotly_chart(_contribution_bars(parts), key="benefit_shap")
            st.caption(
                "What makes this patient's predicted benefit larger (right) or smaller (left) "
                "than the average patient's in the training sample."
            )


def _contribution_bars(parts: Any) -> Any:
    frame = parts.head(10)
    value_column = [c for c in frame.columns if c not in ("feature", "value")][-1]
    fig = go.Figure(
        go.Bar(
            x=[100 * float(v) for v in frame[value_column]][::-1],
            y=[str(f) for f in frame.iloc[:, 0]][::-1],
            orientation="h",
        )
    )
    fig.update_layout(
        title="Contributions to the predicted benefit (percentage points)",
        template="plotly_white",
    )
    return fig


def treatment_evaluate(loaded: Any) -> None:
    """The evaluation of benefit on the held-out trial records, from the model's card."""
    section = loaded.card.get("treatment") or {}
    check = section.get("check", {})
    st.subheader("Who benefits: evaluation of predicted benefit")
    st.write(check.get("sentence", ""))
    for warning in check.get("warnings", []):
        st.warning(warning)
    st.write(section.get("overall_effect", {}).get("sentence", ""))
    report = UpliftReport.from_dict(section["uplift"])
    baseline_dict = section.get("baselines", {}).get("t_learner")
    baseline = UpliftReport.from_dict(baseline_dict) if baseline_dict else None
    st.info(report.sentence(), icon=":material/insights:")
    st.plotly_chart(plot_qini(report, baseline), key="treatment_qini")
    st.plotly_chart(plot_benefit_calibration(report), key="treatment_benefit_calibration")
    st.plotly_chart(plot_policy(report), key="treatment_policy")
    for note in report.notes:
        st.caption(note)


def treatment_choice(schema: Any, frame: Any, token: str) -> Any:
    """Data page: the treatment (arm) column of a randomised trial, and the check of its arms
    (sizes, outcomes per arm, balance and propensity overlap). Returns the schema."""
    from dlcore.data.treatment import check_treatment, with_treatment

    choices = [None, *(c.name for c in schema.columns if c.role != "target")]
    column = st.selectbox(
        "Treatment column (a trial's arm: the model then estimates each patient's benefit)",
        choices,
        index=choices.index(schema.treatment_column) if schema.treatment_column in choices else 0,
        format_func=lambda c: "none: predict the outcome only" if c is None else c,
        key=f"treatment_{token}",
    )
    with guard("Setting the treatment column"):
        schema = with_treatment(schema, frame, column)
    if schema.treatment_column and schema.target:
        with guard("Checking the arms"):
            check = check_treatment(frame, schema)
            st.caption(check.sentence())
            for warning in check.warnings:
                st.warning(warning)
    return schema


def treatment_explain(loaded: Any, model_id: str) -> None:
    """Explain page for a treatment model: SHAP on one patient's predicted benefit (what makes
    it larger or smaller than the average patient's)."""
    st.caption(
        "Treatment-effect model: the explanation is of the predicted benefit (risk without "
        "treatment minus risk with it), in percentage points."
    )
    form = patient_form(loaded.layout, key=f"benefit_explain_form_{model_id}", button="Explain")
    if form.submitted and not form.problems:
        with guard("Explaining the benefit"):
            explanation = explain_benefit(
                loaded.model, loaded.layout, loaded.background(), form.record
            )
            st.plotly_chart(
                _contribution_bars(explanation.contributions(0)), key="benefit_shap_explain"
            )
