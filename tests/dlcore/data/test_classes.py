"""The positive class by meaning, names for numbered classes, and 'Probability of <name>'."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlcore.data import infer_schema
from dlcore.data.classes import apply_class_names, parse_class_names, positive_by_meaning
from dlcore.data.schema import set_positive_class
from dlcore.errors import UserError
from dlcore.models.layouts import ImageLayout, TabularLayout, outcome_label


@pytest.mark.parametrize(
    ("classes", "positive"),
    [
        (["0", "1"], "1"),
        (["no", "yes"], "yes"),
        (["benign", "malignant"], "malignant"),
        (["COVID", "other"], "COVID"),  # alphabetical order would pick 'other'
        (["normal", "pneumonia"], "pneumonia"),
        (["alive", "dead"], "dead"),
        (["survived", "died"], "died"),
        (["Non-COVID", "COVID"], "COVID"),
        (["covid_negative", "covid_positive"], "covid_positive"),
        (["False", "True"], "True"),
    ],
)
def test_positive_class_by_meaning(classes, positive):
    assert positive_by_meaning(classes, {classes[0]: 5, classes[1]: 50}) == positive
    assert positive_by_meaning(classes[::-1], {classes[0]: 50, classes[1]: 5}) == positive


def test_without_meaning_the_minority_class():
    assert positive_by_meaning(["A", "B"], {"A": 30, "B": 70}) == "A"
    assert positive_by_meaning(["low", "high"], {"low": 90, "high": 10}) == "high"
    assert positive_by_meaning(["1", "2"], {"1": 160, "2": 140}) == "2"  # 1/2 codes say nothing


def test_schema_positive_class_is_shown_and_changeable():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"x": rng.normal(size=80), "result": rng.choice(["normal", "abnormal"], 80, p=[0.3, 0.7])}
    )
    schema = infer_schema(frame, "result")
    assert schema.positive_class == "abnormal"  # by meaning, although it is the majority
    set_positive_class(schema, "NORMAL")
    assert schema.positive_class == "normal"
    with pytest.raises(UserError):
        set_positive_class(schema, "maybe")


def test_npz_classes_can_be_named():
    from dlcore.data.images import ImageDataset

    labels = np.array([0] * 10 + [1] * 30)
    dataset = ImageDataset(
        "mnist", np.zeros((40, 4, 4, 1), np.uint8), labels, ["0", "1"], ["x"] * 40
    )
    assert dataset.classes == ["0", "1"]
    apply_class_names(dataset, "0=malignant,1=benign")
    assert dataset.classes == ["malignant", "benign"]
    assert dataset.positive_class == "malignant"  # BreastMNIST's 0, not '1' (benign)
    assert parse_class_names(["a", "b"]) == {0: "a", 1: "b"}
    with pytest.raises(UserError):
        parse_class_names("0:malignant")
    with pytest.raises(UserError):
        apply_class_names(dataset, "5=other")


def test_probability_of_a_name_never_of_1():
    layout = TabularLayout([], "binary", ["0", "1"], "1", target="DEATH_EVENT")
    assert layout.output_names == ["P(DEATH_EVENT)"]
    named = TabularLayout([], "binary", ["benign", "malignant"], "malignant", target="diagnosis")
    assert named.output_names == ["P(malignant)"]
    assert outcome_label("yes", "stroke") == "stroke"
    image = ImageLayout(28, 28, 1, "binary", ["malignant", "benign"], "malignant")
    assert image.output_names == ["P(malignant)"]
    unnamed = ImageLayout(28, 28, 1, "binary", ["0", "1"], "1")
    assert unnamed.output_names == ["P(class 1)"]


def test_card_names_the_positive_class():
    from dlcore.report.card import model_card_markdown

    coded = model_card_markdown({"dataset": {"positive_class": "1", "target": "DEATH_EVENT"}})
    assert "positive class DEATH_EVENT (coded 1)" in coded
    named = model_card_markdown({"dataset": {"positive_class": "malignant", "target": "diagnosis"}})
    assert "positive class malignant" in named
