"""The Evaluate page on an external cohort: how it differs from the training data, and the
'too few cases' rule that training uses."""

from __future__ import annotations

import contextlib

import numpy as np
from apptools import healthy, open_page, snapshot_cards, texts, widget


@contextlib.contextmanager
def external_cohort(model_id: str, name: str, frame):
    """Evaluate with ``frame`` uploaded as the external cohort; the model's card restored after."""
    restore = snapshot_cards(model_id)
    try:
        at = open_page("evaluate")
        healthy(widget(at.selectbox, "Model").set_value(model_id).run())
        healthy(at.radio(key="evaluate_source").set_value("An external cohort (upload)").run())
        uploader = at.file_uploader(key=f"evaluate_upload_{model_id}")
        healthy(uploader.set_value((name, frame.to_csv(index=False).encode(), "text/csv")).run())
        yield at
    finally:
        restore()


def test_external_cohort_shift_is_shown(tiny_binary, breast_cancer):
    cohort = breast_cancer.frame.sample(150, random_state=2).copy()
    cohort["mean radius"] = 0.0  # not measured at this hospital
    cohort.loc[cohort.index[:140], "mean texture"] = np.nan
    with external_cohort(tiny_binary.record.id, "other_hospital.csv", cohort) as at:
        warnings = [t for t in texts(at.warning) if t.startswith("Against the training data")]
        assert warnings and "'mean radius'" in warnings[0], texts(at.warning)
        assert any("differ from the training data" in e.label for e in at.expander)


def test_a_small_external_cohort_is_reported_as_too_few_to_judge(tiny_binary, breast_cancer):
    """9 records (train and evaluate share one rule): shown with the label, not refused."""
    small = breast_cancer.frame.groupby("diagnosis").head(5).head(9)  # 5 of one class, 4 of other
    with external_cohort(tiny_binary.record.id, "small.csv", small) as at:
        assert not texts(at.error), texts(at.error)
        labelled = [w for w in texts(at.warning) if w.startswith("Too few cases to judge")]
        assert labelled and "9 records" in labelled[0], texts(at.warning)
