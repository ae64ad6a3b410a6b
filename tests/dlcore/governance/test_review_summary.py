"""The review summary reads as the page does (issue 14 #14): no kappa of 0.00 without a caveat
when the model gave every case the same class; case numbers 1-based in the summary and the CSV,
the dataset row labelled plainly."""

from __future__ import annotations

import io
import math

import pandas as pd

from dlcore.fsutil import write_csv
from dlcore.governance.review import (
    SAME_CLASS_NOTE,
    create_review_session,
    record_decision,
    review_cases,
    review_summary,
)


def test_kappa_is_withheld_and_explained_when_the_model_gave_one_class(tiny_binary, breast_cancer):
    from dlcore.data.catalog import ensure_saved

    dataset_id = ensure_saved(breast_cancer)
    model_id = tiny_binary.record.id
    wide = create_review_session("wide", model_id, dataset_id, list(range(60)), created_by="t")
    cases = review_cases(wide)
    majority = cases["prediction"].mode().iloc[0]
    rows = [int(r) for r in cases.loc[cases["prediction"] == majority, "record_index"][:6]]
    assert len(rows) == 6
    session_id = create_review_session("one class", model_id, dataset_id, rows, created_by="t")
    cases = review_cases(session_id)
    assert cases["prediction"].nunique() == 1
    other = next(c for c in ("benign", "malignant") if c != majority)
    for i, case in enumerate(cases.itertuples()):
        agree = i % 2 == 0
        record_decision(
            session_id,
            case.case_id,
            "dr.one",
            agree=agree,
            label=None if agree else other,
            confidence=3,
        )
    summary = review_summary(session_id)
    kappa = summary.per_reviewer.set_index("reviewer").loc["dr.one", "kappa (model vs reviewer)"]
    assert math.isnan(kappa)  # not 0.00
    assert len(summary.notes) == 1 and summary.notes[0].startswith(SAME_CLASS_NOTE)
    assert "dr.one" in summary.notes[0]

    # Case numbers 1-based, as the page shows them; the dataset row plainly labelled.
    assert list(summary.decisions["case"]) == [1, 2, 3, 4, 5, 6]
    assert list(summary.decisions["dataset row (from 0)"]) == rows
    assert list(summary.disagreements["case"]) == [2, 4, 6]
    exported = pd.read_csv(io.BytesIO(write_csv(summary.decisions)))
    assert list(exported["case"]) == [1, 2, 3, 4, 5, 6]
    assert "position" not in exported.columns


def test_kappa_stays_when_the_model_gave_both_classes(tiny_binary, breast_cancer):
    from dlcore.data.catalog import ensure_saved

    dataset_id = ensure_saved(breast_cancer)
    wide = create_review_session(
        "both", tiny_binary.record.id, dataset_id, list(range(60)), created_by="t"
    )
    cases = review_cases(wide)
    assert cases["prediction"].nunique() == 2
    for case in cases.head(20).itertuples():
        record_decision(wide, case.case_id, "dr.two", agree=True, confidence=4)
    summary = review_summary(wide)
    if review_cases(wide).head(20)["prediction"].nunique() == 2:
        assert summary.notes == []
        kappa = summary.per_reviewer.iloc[0]["kappa (model vs reviewer)"]
        assert kappa == 1.0
