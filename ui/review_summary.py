"""The Review page's agreement summary: agreement and Cohen's kappa (model against each reviewer,
between reviewers), the disagreements with their notes, and every decision as CSV."""

from __future__ import annotations

import streamlit as st

from dlcore.fsutil import write_csv
from dlcore.governance.review import list_review_sessions, review_summary
from dlcore.report.wording import percent_text
from ui.auth import log


def summary_section() -> None:
    """Agreement and Cohen's kappa (model vs reviewers, between reviewers), the disagreements
    with their notes, and every decision as CSV."""
    sessions = list_review_sessions(include_closed=True)
    if not sessions:
        st.caption("No review sessions yet.")
        return
    labels = {s.id: f"{s.name} ({'closed' if s.closed else 'open'})" for s in sessions}
    session_id = st.selectbox(
        "Session", list(labels), format_func=labels.__getitem__, key="review_summary_session"
    )
    summary = review_summary(session_id)
    decisions = summary.decisions
    if decisions.empty:
        st.info("No decisions yet in this session.", icon=":material/info:")
        return
    m = st.columns(4)
    m[0].metric("Decisions", f"{len(decisions):,}")
    m[1].metric("Reviewers", decisions["reviewer"].nunique())
    m[2].metric("Agreement with the model", f"{decisions['agree'].astype(bool).mean():.0%}")
    m[3].metric("Disagreements", len(summary.disagreements))
    share = st.column_config.NumberColumn(format="percent")
    kappa = st.column_config.NumberColumn(
        format="%.2f",
        help="Cohen's kappa: agreement beyond chance (1 perfect, 0 chance, below 0 worse than chance).",
    )
    st.markdown("**The model against each reviewer**")
    for note in summary.notes:
        st.warning(note[:1].upper() + note[1:] + ".", icon=":material/warning:")
    st.dataframe(
        summary.per_reviewer,
        hide_index=True,
        column_config={
            "agreement with model": share,
            "kappa (model vs reviewer)": kappa,
            "mean confidence": st.column_config.NumberColumn(format="%.1f"),
        },
    )
    st.markdown("**Between reviewers**")
    if summary.between_reviewers.empty:
        st.caption("Only one reviewer so far.")
    else:
        st.dataframe(
            summary.between_reviewers,
            hide_index=True,
            column_config={"agreement": share, "kappa": kappa},
        )
    st.markdown("**Disagreements, with the reviewers' notes**")
    if summary.disagreements.empty:
        st.caption("None: every reviewer agreed with the model.")
    else:
        shown = summary.disagreements.assign(
            probability=summary.disagreements["probability"].map(percent_text)
        )
        st.dataframe(shown, hide_index=True)
    st.download_button(
        "Download all decisions (CSV)",
        write_csv(decisions),  # spreadsheet formulas in notes and labels neutralised
        file_name=f"review-{session_id}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click=log,
        args=("export",),
        kwargs={
            "object_type": "review_session",
            "object_id": session_id,
            "detail": {"format": "csv"},
        },
    )
