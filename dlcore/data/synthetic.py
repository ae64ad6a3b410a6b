"""Synthetic patient cohorts with a known outcome model, for tests and examples."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def make_cohort(n: int = 400, seed: int = 0, *, task: str = "binary") -> pd.DataFrame:
    """A synthetic cohort: identifiers, numeric and categorical features, missing values, outcome.

    The outcome depends on age, systolic blood pressure, smoking and sex through a known logistic
    (binary), softmax (multiclass, three risk grades) or linear (regression, 'length_of_stay') model;
    'noise' is unrelated. 'patient_id', 'name' and 'email' are identifier-like.
    """
    rng = np.random.default_rng(seed)
    age = rng.normal(60, 12, n).round(0)
    sbp = rng.normal(135, 18, n).round(0)
    cholesterol = rng.normal(5.2, 1.0, n).round(2)
    sex = rng.choice(["female", "male"], n)
    smoking = rng.choice(["never", "former", "current"], n, p=[0.5, 0.3, 0.2])
    noise = rng.normal(0, 1, n)
    linear = (
        0.06 * (age - 60)
        + 0.04 * (sbp - 135)
        + np.select([smoking == "current", smoking == "former"], [1.2, 0.4], 0.0)
        + 0.5 * (sex == "male")
        - 0.6
    )
    cholesterol_missing = rng.random(n) < 0.1
    frame = pd.DataFrame(
        {
            "patient_id": [f"P{100000 + i}" for i in range(n)],
            "name": [f"Patient {i}" for i in range(n)],
            "email": [f"patient{i}@example.org" for i in range(n)],
            "age": age,
            "systolic_bp": sbp,
            "cholesterol": np.where(cholesterol_missing, np.nan, cholesterol),
            "sex": sex,
            "smoking": smoking,
            "noise": noise,
        }
    )
    if task == "binary":
        frame["outcome"] = (rng.random(n) < 1 / (1 + np.exp(-linear))).astype(int)
    elif task == "multiclass":
        scores = np.stack([np.zeros(n), linear, 2 * linear - 1.0], axis=1)
        probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
        grade = np.array([rng.choice(3, p=p) for p in probs])
        frame["outcome"] = np.array(["low", "medium", "high"])[grade]
    elif task == "regression":
        frame["length_of_stay"] = (4 + 1.5 * linear + rng.normal(0, 0.8, n)).round(1)
    else:
        raise ValueError(f"unknown task {task!r}")
    return frame


def make_risk_cohort(
    n: int = 5000, seed: int = 0, *, intercept: float = -2.0, classes: int = 2
) -> pd.DataFrame:
    """A cohort whose true risk of the outcome is known for every patient (column 'true_risk';
    for ``classes`` > 2, 'true_risk_<k>' per class): a check that predicted probabilities are risks.

    The outcome ('event', or 'grade' 0..classes-1) follows a logistic (softmax) model of four
    numeric features and one categorical one; ``intercept`` −2 gives a prevalence near 17%, so that
    any shift of the probabilities towards balanced classes shows.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, 4))
    group = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    linear = (
        intercept
        + 0.9 * x[:, 0]
        - 0.6 * x[:, 1]
        + 0.4 * x[:, 2] * x[:, 0]
        + np.select([group == "b", group == "c"], [0.5, -0.4], 0.0)
    )
    frame = pd.DataFrame(
        {
            "age_z": x[:, 0].round(3),
            "marker_a": x[:, 1].round(3),
            "marker_b": x[:, 2].round(3),
            "unrelated": x[:, 3].round(3),
            "group": group,
        }
    )
    if classes == 2:
        risk = 1 / (1 + np.exp(-linear))
        frame["event"] = (rng.random(n) < risk).astype(int)
        frame["true_risk"] = risk
        return frame
    scores = np.stack([np.zeros(n)] + [k * linear / 2 + k for k in range(1, classes)], axis=1)
    probs = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    draws = rng.random(n)[:, None] > np.cumsum(probs, axis=1)
    frame["grade"] = draws.sum(axis=1).clip(0, classes - 1)
    for k in range(classes):
        frame[f"true_risk_{k}"] = probs[:, k]
    return frame


QUADRANTS = ("top-left", "top-right", "bottom-left", "bottom-right")


def make_quadrant_images(n: int = 400, size: int = 32, seed: int = 0) -> tuple[Any, np.ndarray]:
    """Noisy grayscale images; class 'square' holds a bright square in one random quadrant.

    Returns (ImageDataset with classes ['none', 'square'], quadrant index per image, -1 for 'none').
    A known answer for image explanations: the evidence for 'square' lies in its quadrant.
    """
    from dlcore.data.images import ImageDataset

    rng = np.random.default_rng(seed)
    images = rng.normal(60, 20, size=(n, size, size)).clip(0, 255)
    labels = rng.integers(0, 2, size=n)
    quadrants = np.where(labels == 1, rng.integers(0, 4, size=n), -1)
    half, side = size // 2, size // 4
    for i, quadrant in enumerate(quadrants):
        if quadrant < 0:
            continue
        top = (0 if quadrant < 2 else half) + rng.integers(1, half - side)
        left = (0 if quadrant % 2 == 0 else half) + rng.integers(1, half - side)
        images[i, top : top + side, left : left + side] = rng.uniform(200, 255)
    dataset = ImageDataset(
        name="Synthetic bright squares",
        images=images.astype(np.uint8)[:, :, :, None],
        labels=labels.astype(np.int64),
        classes=["none", "square"],
        file_names=[f"image-{i}" for i in range(n)],
        source="synthetic:squares",
        positive_class="square",
    )
    return dataset, quadrants


def make_trial(
    n: int = 2000, seed: int = 0, *, effect: str = "heterogeneous", randomised: bool = True
) -> tuple[pd.DataFrame, np.ndarray]:
    """A simulated two-arm trial with a known treatment effect, and each patient's true benefit.

    Columns: 'age', 'crp' (a marker that drives the benefit), 'egfr', 'sex', 'noise', 'arm'
    ('control' or 'treated', 1:1 at random unless ``randomised`` is False, when older patients are
    treated more often) and 'event' ('yes'/'no'). ``effect`` is 'heterogeneous' (treatment lowers
    the risk most in patients with a high crp, harms a little at low crp), 'constant' (one
    log-odds shift for all) or 'none'. Returns the table and the true benefit per patient:
    risk without treatment minus risk with it (positive = treatment helps).
    """
    rng = np.random.default_rng(seed)
    age = rng.normal(62, 10, n).round(0)
    crp = rng.normal(0, 1, n)
    egfr = rng.normal(75, 15, n).round(0)
    sex = rng.choice(["female", "male"], n)
    noise = rng.normal(0, 1, n)
    base = -1.0 + 0.04 * (age - 62) + 0.6 * crp - 0.02 * (egfr - 75) + 0.3 * (sex == "male")
    if effect == "heterogeneous":
        shift = 0.2 - 1.2 * crp
    elif effect == "constant":
        shift = np.full(n, -0.7)
    else:
        shift = np.zeros(n)
    if randomised:
        treated = rng.random(n) < 0.5
    else:
        treated = rng.random(n) < 1 / (1 + np.exp(-0.12 * (age - 62)))
    risk0 = 1 / (1 + np.exp(-base))
    risk1 = 1 / (1 + np.exp(-(base + shift)))
    event = rng.random(n) < np.where(treated, risk1, risk0)
    frame = pd.DataFrame(
        {
            "age": age,
            "crp": crp.round(3),
            "egfr": egfr,
            "sex": sex,
            "noise": noise.round(3),
            "arm": np.where(treated, "treated", "control"),
            "event": np.where(event, "yes", "no"),
        }
    )
    return frame, risk0 - risk1
