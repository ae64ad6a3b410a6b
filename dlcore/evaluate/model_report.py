"""Evaluate a registered model on its test split or an external cohort; recalibration and operating points."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlcore.errors import SchemaMismatchError, UserError
from dlcore.models.tabular import run_model
from dlcore.predict import survival_horizons

logger = logging.getLogger(__name__)


@dataclass
class EvaluationData:
    """Outcomes and model outputs for the records a model is judged on.

    ``y`` is 0/1 (binary), class index (multiclass) or the value (regression); ``output`` the raw
    model output (n, outputs) and ``probabilities`` the recalibrated one; ``records`` the raw
    records (tables only, for subgroups); ``source`` says which data this is.
    """

    y: np.ndarray
    output: np.ndarray
    probabilities: np.ndarray
    records: Any
    source: str
    external: bool
    cohort_shift: Any = None  # external tables: CohortShiftReport against the training data


def evaluation_data(
    loaded: Any, records: Any = None, *, source: str | None = None
) -> EvaluationData:
    """The model's held-out test split (default), or an external cohort with the same schema.

    For an external table, the outcome column must be present; its values are encoded with the
    model's classes. Raises NotFoundError when the model's dataset is no longer in the workspace
    and SchemaMismatchError when external records do not fit the model.
    """
    from dlcore.data.catalog import load_dataset
    from dlcore.data.dataset import encode_target
    from dlcore.data.schema import Schema
    from dlcore.predict import check_records

    layout = loaded.layout
    if records is None:
        dataset_id = loaded.card.get("dataset", {}).get("id")
        split = loaded.split()
        if not dataset_id or split is None:
            raise UserError(
                "This model has no stored test split (it was uploaded, or trained outside a saved dataset).",
                expected="a model trained in this app on a saved dataset",
                fix="evaluate it on an external cohort file with the model's columns and outcome",
            )
        dataset = load_dataset(dataset_id)
        test = np.asarray(split["test"], dtype=np.int64)
        if loaded.kind == "image":
            labels = dataset.labels[test]
            y = (
                labels
                if layout.task == "multiclass"
                else (labels == layout.classes.index(layout.positive_class)).astype(int)
            )
            inputs, frame = layout.inputs(dataset.images[test]), None
        else:
            row_index = np.asarray(split["row_index"])[test]
            frame = dataset.frame.loc[row_index]
            schema = Schema.from_dict(loaded.card["schema"])
            y, _ = encode_target(frame, schema)
            features, _ = check_records(layout, frame)
            inputs = layout.inputs(features)
        label = source or f"held-out test split of '{dataset.name}' ({len(test)} records)"
        external = False
    else:
        if loaded.kind == "image" and not hasattr(records, "images"):
            raise UserError(
                "An external image cohort must be images with their classes.",
                expected="a ZIP with one folder per class (or an .npz with labels)",
                fix="upload a ZIP of class folders",
            )
        if hasattr(records, "images"):
            if records.labels is None or not len(records.images):
                raise SchemaMismatchError(
                    "The images have no classes: they are not inside class folders.",
                    expected="a ZIP with one folder per class (named as the model's classes: "
                    + ", ".join(layout.classes)
                    + ")",
                    fix="put each image in the folder of its class and upload the ZIP",
                )
            mapped = np.array(
                [
                    layout.classes.index(records.classes[v])
                    if records.classes[v] in layout.classes
                    else -1
                    for v in records.labels
                ]
            )
            if (mapped < 0).any():
                unknown = sorted(
                    {
                        records.classes[v]
                        for v, m in zip(records.labels, mapped, strict=True)
                        if m < 0
                    }
                )
                raise SchemaMismatchError(
                    f"The cohort has classes the model does not know: {', '.join(unknown)}.",
                    expected="classes " + ", ".join(layout.classes),
                    fix="name the class folders as the model's classes",
                )
            y = (
                mapped
                if layout.task == "multiclass"
                else (mapped == layout.classes.index(layout.positive_class)).astype(int)
            )
            inputs, frame = layout.inputs(records.images), None
        else:
            schema = Schema.from_dict(loaded.card["schema"]) if "schema" in loaded.card else None
            target = layout.target or (schema.target if schema else None)
            if target is None or target not in records.columns:
                raise SchemaMismatchError(
                    f"The cohort has no outcome column '{target}'.",
                    expected=f"the model's columns and the outcome '{target}'",
                    fix=f"add the '{target}' column with each patient's outcome",
                )
            labelled = records[records[target].notna()]
            if layout.task in ("binary", "multiclass") or (
                layout.task == "survival" and layout.classes
            ):
                # Encoding maps any value that is not the positive class to "negative": a cohort
                # coded differently ('M'/'B', 'Malignant'; a survival event as 1/2 instead of
                # 0/1) would be scored silently wrong.
                from dlcore.data.schema import target_labels

                unknown = sorted(
                    set(target_labels(labelled[target]).dropna()) - set(map(str, layout.classes))
                )
                if unknown:
                    raise SchemaMismatchError(
                        f"The outcome column '{target}' has values the model does not know: "
                        + ", ".join(unknown[:5])
                        + ("…" if len(unknown) > 5 else "")
                        + ".",
                        expected=f"the model's classes {', '.join(map(str, layout.classes))}",
                        fix=f"recode '{target}' to the model's classes",
                    )
            schema = schema or Schema(
                columns=[],
                target=target,
                task=layout.task,
                classes=layout.classes,
                positive_class=layout.positive_class,
            )
            y, present = encode_target(labelled, schema)
            if not present.all():  # survival: records without a follow-up time cannot be scored
                labelled, y = labelled[present], y[present]
            if layout.task == "survival" and (y[:, 0] <= 0).any():
                time_column = schema.time_column or "time"
                raise SchemaMismatchError(
                    f"The follow-up time '{time_column}' is zero or negative in "
                    f"{int((y[:, 0] <= 0).sum())} record(s) of the cohort.",
                    expected="a positive time from the start of follow-up for every record",
                    fix=f"correct '{time_column}' or leave those records out",
                )
            if len(labelled) == 0:
                raise SchemaMismatchError(
                    "No record of the cohort has a complete outcome.",
                    expected="records with the outcome"
                    + (" and the follow-up time" if layout.task == "survival" else ""),
                    fix="fill in the outcome columns",
                )
            features, _ = check_records(layout, labelled)
            usable = np.ones(len(features), dtype=bool)
            for info in getattr(layout, "molecule_features", []):
                usable &= features[info.name].to_numpy() != ""  # unreadable SMILES: left out
            if not usable.all():
                logger.warning("%d record(s) without a usable molecule left out", (~usable).sum())
                features, labelled, y = features[usable], labelled[usable], y[usable]
            inputs, frame = layout.inputs(features), labelled
        label = source or "external cohort"
        external = True
    output = run_model(loaded.model, inputs)
    probabilities = (
        loaded.recalibrator.apply(output) if layout.task in ("binary", "multiclass") else output
    )
    return EvaluationData(
        np.asarray(y),
        output,
        np.asarray(probabilities).reshape(output.shape),
        frame,
        label,
        external,
        _cohort_shift(loaded, records) if external else None,
    )


def _cohort_shift(loaded: Any, records: Any) -> Any:
    """The external cohort against the training data (dlcore.evaluate.cohort_shift), for tables."""
    import pandas as pd

    from dlcore.evaluate.cohort_shift import shift_for_model

    if not isinstance(records, pd.DataFrame):
        return None

    return shift_for_model(loaded, records)


def clinical_report(
    loaded: Any,
    data: EvaluationData,
    *,
    threshold: float | None = None,
    resamples: int = 1000,
    decision_range: tuple[float, float] = (0.01, 0.6),
) -> Any:
    """The clinical report for the task: binary (CIs, calibration, threshold, decision curve),
    multiclass (one-vs-rest AUCs with CIs) or regression (errors with CIs)."""
    from dlcore.evaluate.clinical import (
        evaluate_binary_clinical,
        evaluate_multiclass_clinical,
        evaluate_regression_clinical,
    )

    layout = loaded.layout
    if layout.task == "binary":
        negative = next((c for c in layout.classes if c != layout.positive_class), "other")
        return evaluate_binary_clinical(
            data.y,
            data.probabilities[:, 0],
            threshold=loaded.threshold if threshold is None else threshold,
            source=data.source,
            positive_class=str(layout.positive_class),
            negative_class=str(negative),
            calibrated=loaded.recalibrator.describe(),
            resamples=resamples,
            decision_range=decision_range,
        )
    if layout.task == "multiclass":
        return evaluate_multiclass_clinical(
            data.y, data.probabilities, layout.classes, source=data.source, resamples=resamples
        )
    if layout.task == "survival":
        from dlcore.evaluate.survival import evaluate_survival
        from dlcore.models.survival import BaselineHazard

        reference = _training_outcomes(loaded)
        reference = (
            data.y if reference is None else reference
        )  # censoring weights from the cohort itself
        return evaluate_survival(
            data.y[:, 0],
            data.y[:, 1],
            data.output[:, 0],
            baseline=BaselineHazard.from_dict(layout.baseline),
            train_time=reference[:, 0],
            train_event=reference[:, 1],
            source=data.source,
            resamples=min(resamples, 500),
            horizons=survival_horizons(layout),
        )
    return evaluate_regression_clinical(
        data.y, data.output[:, 0], source=data.source, resamples=resamples
    )


def _training_outcomes(loaded: Any) -> np.ndarray | None:
    """The encoded outcomes of the model's training part (survival: time and event), if stored."""
    split = loaded.split()
    dataset_id = loaded.card.get("dataset", {}).get("id")
    if split is None or not dataset_id or "schema" not in loaded.card:
        return None
    from dlcore.data.catalog import load_dataset
    from dlcore.data.dataset import encode_target
    from dlcore.data.schema import Schema

    try:
        dataset = load_dataset(dataset_id)
    except UserError:
        return None
    rows = np.asarray(split["row_index"])[np.asarray(split["train"], dtype=np.int64)]
    y, _ = encode_target(dataset.frame.loc[rows], Schema.from_dict(loaded.card["schema"]))
    return y


class RecalibrationRefused(UserError):
    """A recalibration that would make the held-out probabilities worse (higher Brier score)."""


def fit_model_recalibration(loaded: Any, method: str, *, allow_worse: bool = False) -> Any:
    """Fit recalibration on the model's validation split and save it in its card; returns it.

    The recalibration is judged on the held-out test split before it is saved: when it raises
    the Brier score there it is refused (RecalibrationRefused, naming both scores) unless
    ``allow_worse``. The saved recalibrator carries both scores, so its description shows them.
    Raises UserError when the validation split lacks a class.
    """
    from dlcore.evaluate.calibration import brier_score, fit_recalibration
    from dlcore.registry import update_card

    split = loaded.split()
    if split is None or not loaded.card.get("dataset", {}).get("id"):
        raise UserError(
            "This model has no stored validation split to fit recalibration on.",
            expected="a model trained in this app on a saved dataset",
            fix="retrain the model in this app",
        )
    from dlcore.data.catalog import load_dataset

    dataset = load_dataset(loaded.card["dataset"]["id"])
    validation = np.asarray(split["validation"], dtype=np.int64)
    layout = loaded.layout
    if loaded.kind == "image":
        labels = dataset.labels[validation]
        inputs = layout.inputs(dataset.images[validation])
    else:
        from dlcore.data.dataset import encode_target
        from dlcore.data.schema import Schema
        from dlcore.predict import check_records

        frame = dataset.frame.loc[np.asarray(split["row_index"])[validation]]
        labels, _ = encode_target(frame, Schema.from_dict(loaded.card["schema"]))
        inputs = layout.inputs(check_records(layout, frame)[0])
    output = run_model(loaded.model, inputs)
    if layout.task == "binary" and loaded.kind == "image":
        labels = (labels == layout.classes.index(layout.positive_class)).astype(int)
    recalibrator = fit_recalibration(labels, output, method, fitted_on="validation split")
    if method != "none":
        try:
            held_out = evaluation_data(loaded)
        except UserError:
            held_out = None  # no stored test split: nothing to judge it on
        if held_out is not None and len(held_out.y):
            raw = held_out.output
            before = brier_score(held_out.y, raw)
            after = brier_score(held_out.y, np.asarray(recalibrator.apply(raw)).reshape(raw.shape))
            recalibrator.held_out_brier_before = before
            recalibrator.held_out_brier_after = after
            if after > before and not allow_worse:
                raise RecalibrationRefused(
                    f"{method.capitalize()} recalibration was not saved: it makes the held-out "
                    f"test split's probabilities worse (Brier score {before:.3f} before, "
                    f"{after:.3f} after; lower is better).",
                    expected="a recalibration that lowers (or keeps) the held-out Brier score",
                    fix="keep the network's own probabilities, or try the other method",
                )
    loaded.card = update_card(loaded.id, {"calibration": recalibrator.to_dict()})
    return recalibrator


def set_operating_point(
    loaded: Any,
    threshold: float,
    *,
    preset: str,
    value: float | None,
    source: str,
    metrics: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Save the chosen decision threshold (and how it was chosen) in the model card."""
    from dlcore.registry import update_card
    from dlcore.store import utcnow

    point = {
        "threshold": float(threshold),
        "preset": preset,
        "value": value,
        "set_on": source,
        "calibrated": loaded.recalibrator.method != "none",
        "metrics": metrics or {},
        "set_at": utcnow().isoformat(timespec="seconds") + "Z",
    }
    loaded.card = update_card(loaded.id, {"operating_point": point})
    return point
