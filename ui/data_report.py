"""The Data page's data-quality tab: the counts, the findings, the outcome's distribution,
missingness, one column's distribution and each column's association with the target."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dlcore.data import (
    frame_fingerprint,
)
from dlcore.data.schema import Schema
from dlcore.plots.data import (
    plot_category_counts,
    plot_class_balance,
    plot_histogram,
    plot_missingness,
)
from ui import cache


def show_quality_report(frame: pd.DataFrame, schema: Schema, token: str) -> None:
    """The data-quality report of ``frame`` under ``schema`` (cached by content and schema)."""
    report = cache.report(frame_fingerprint(frame), schema.to_dict(), frame)
    m = st.columns(5)
    m[0].metric("Records", f"{report.n_rows:,}")
    m[1].metric("Columns", report.n_columns)
    m[2].metric("Features", len(schema.features))
    m[3].metric("Duplicate records", report.duplicate_rows)
    cells = frame.size or 1
    m[4].metric("Missing cells", f"{frame.isna().to_numpy().sum() / cells:.1%}")
    for finding in report.findings:
        if finding.severity == "warning":
            st.warning(finding.message, icon=":material/warning:")
    infos = [f for f in report.findings if f.severity != "warning"]
    if infos:
        with st.expander(f"{len(infos)} note(s)"):
            for finding in infos:
                st.markdown(f"- {finding.message}")
    if not report.findings:
        st.success("No problems found.", icon=":material/check_circle:")
    g1, g2 = st.columns(2)
    with g1:
        if report.class_counts:
            st.plotly_chart(
                plot_class_balance(report.class_counts, report.positive_class),
                key="class_balance",
            )
        elif report.target and report.target in report.histograms:
            st.plotly_chart(
                plot_histogram(report.histograms[report.target], report.target),
                key="target_hist",
            )
        else:
            st.caption("Choose a target to see the outcome's distribution.")
    with g2:
        st.plotly_chart(plot_missingness(report.missing_share), key="missingness")
    plotted = [*report.histograms, *report.category_counts]
    if plotted:
        column = st.selectbox("Distribution of", plotted, key=f"dist_{token}")
        if column in report.histograms:
            st.plotly_chart(plot_histogram(report.histograms[column], column), key="distribution")
        else:
            st.plotly_chart(
                plot_category_counts(report.category_counts[column], column), key="distribution"
            )
    if report.association:
        with st.expander(
            f"How strongly each column alone relates to the target ({report.association_metric})"
        ):
            st.dataframe(
                pd.DataFrame(
                    sorted(report.association.items(), key=lambda kv: -kv[1]),
                    columns=["column", report.association_metric],
                ),
                hide_index=True,
            )


def delete_panel(dataset_id: str, kind: str, token: str) -> bool:
    """The 'Delete this dataset' expander, naming the models trained on it; True once deleted."""
    from dlcore.data.catalog import delete_dataset
    from dlcore.registry import list_models
    from ui.auth import log
    from ui.common import guard, plain

    with st.expander("Delete this dataset"):
        what = "images" if kind == "images" else "records"
        trained_on = [m for m in list_models() if m.dataset_id == dataset_id]
        if trained_on:
            st.warning(
                f"{len(trained_on)} model(s) were trained on it: "
                + ", ".join(f"'{plain(m.name)}'" for m in trained_on[:5])
                + ("…" if len(trained_on) > 5 else "")
                + f". Each keeps a sample of its training {what} (for explanations) and its "
                "test split; deleting the dataset does not remove those. Delete the models "
                "on the Models page to remove every copy.",
                icon=":material/warning:",
            )
        confirm = st.checkbox(
            f"Yes, delete its {what} from the workspace", key=f"confirm_delete_{token}"
        )
        if st.button("Delete dataset", disabled=not confirm, icon=":material/delete:"):
            with guard("Deleting the dataset"):
                delete_dataset(dataset_id)
                log("dataset_delete", object_type="dataset", object_id=dataset_id)
                return True
    return False
