"""The Evaluate page says how an external cohort differs from the training data."""

from __future__ import annotations

import numpy as np
from apptools import healthy, open_page, snapshot_cards, texts, widget


def test_external_cohort_shift_is_shown(tiny_binary, breast_cancer):
    model_id = tiny_binary.record.id
    restore = snapshot_cards(model_id)
    try:
        at = open_page("evaluate")
        healthy(widget(at.selectbox, "Model").set_value(model_id).run())
        healthy(at.radio(key="evaluate_source").set_value("An external cohort (upload)").run())
        cohort = breast_cancer.frame.sample(150, random_state=2).copy()
        cohort["mean radius"] = 0.0  # not measured at this hospital
        cohort.loc[cohort.index[:140], "mean texture"] = np.nan
        uploader = at.file_uploader(key=f"evaluate_upload_{model_id}")
        data = cohort.to_csv(index=False).encode()
        healthy(uploader.set_value(("other_hospital.csv", data, "text/csv")).run())
        warnings = [t for t in texts(at.warning) if t.startswith("Against the training data")]
        assert warnings and "'mean radius'" in warnings[0], texts(at.warning)
        assert any("differ from the training data" in e.label for e in at.expander)
    finally:
        restore()


def test_a_small_external_cohort_is_reported_as_too_few_to_judge(tiny_binary, breast_cancer):
    """9 records (train and evaluate share one rule): shown with the label, not refused."""
    model_id = tiny_binary.record.id
    restore = snapshot_cards(model_id)
    try:
        at = open_page("evaluate")
        healthy(widget(at.selectbox, "Model").set_value(model_id).run())
        healthy(at.radio(key="evaluate_source").set_value("An external cohort (upload)").run())
        frame = breast_cancer.frame
        small = frame.groupby("diagnosis").head(5).head(9)  # 5 of one class, 4 of the other
        uploader = at.file_uploader(key=f"evaluate_upload_{model_id}")
        data = small.to_csv(index=False).encode()
        healthy(uploader.set_value(("small.csv", data, "text/csv")).run())
        assert not texts(at.error), texts(at.error)
        labelled = [w for w in texts(at.warning) if w.startswith("Too few cases to judge")]
        assert labelled and "9 records" in labelled[0], texts(at.warning)
    finally:
        restore()
