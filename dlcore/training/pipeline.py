"""Train, evaluate on the held-out split and register: the one pipeline behind the page, CLI and jobs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dlcore.data.dataset import Dataset
from dlcore.evaluate.metrics import Report, evaluate
from dlcore.governance.accounts import Account, acting
from dlcore.models.spec import ModelSpec
from dlcore.models.tabular import run_model
from dlcore.predict import survival_horizons
from dlcore.registry import BACKGROUND_ROWS, IMAGE_BACKGROUND, ModelRecord, register
from dlcore.training.fit import EventHandler, StopCheck, TrainResult, train
from dlcore.training.honest import (
    calibrate_on_validation,
    honest_summary,
    split_baselines,
    split_output,
    split_outputs,
)


@dataclass
class TrainOutcome:
    """What a training run produced: the registered model (None when cancelled) and its report."""

    record: ModelRecord | None
    result: TrainResult
    report: Report | None
    recalibration: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None


def evaluate_split(
    result: TrainResult, recalibrator: Any = None, outputs: dict[str, np.ndarray] | None = None
) -> Report:
    """Evaluate a trained model on its test split (the Youden threshold chosen on validation),
    with the probabilities recalibrated by ``recalibrator`` when given. ``outputs``: the raw
    outputs on the validation and test splits when computed already (``split_outputs``)."""
    layout, data, split = result.layout, result.data, result.split

    def output(part: str) -> np.ndarray:
        known = (outputs or {}).get(part)
        raw = split_output(result, getattr(split, part)) if known is None else known
        if recalibrator is None or layout.task not in ("binary", "multiclass"):
            return raw
        return np.asarray(recalibrator.apply(raw)).reshape(raw.shape)

    if layout.task == "survival":
        from dlcore.evaluate.survival import evaluate_survival
        from dlcore.models.survival import BaselineHazard, breslow_baseline

        train_y = data.y[split.train]
        if layout.baseline is None:  # fitted on the training part, kept in the model's layout
            layout.baseline = breslow_baseline(
                train_y[:, 0], train_y[:, 1], output("train")[:, 0]
            ).to_dict()
        test_y = data.y[split.test]
        return evaluate_survival(
            test_y[:, 0],
            test_y[:, 1],
            output("test")[:, 0],
            baseline=BaselineHazard.from_dict(layout.baseline),
            train_time=train_y[:, 0],
            train_event=train_y[:, 1],
            horizons=survival_horizons(layout),
        )
    return evaluate(
        layout.task,
        data.y[split.test],
        output("test"),
        classes=layout.classes,
        positive_class=layout.positive_class,
        # the validation split chooses the binary operating threshold (nothing else reads it)
        validation=(data.y[split.validation], output("validation"))
        if layout.task == "binary"
        else None,
    )


def train_and_register(
    dataset: Dataset,
    spec: ModelSpec,
    *,
    name: str | None = None,
    on_event: EventHandler | None = None,
    should_stop: StopCheck | None = None,
    intended_use: str | None = None,
    actor: Account | None = None,
    cv_folds: int = 0,
    cv_repeats: int = 2,
) -> TrainOutcome:
    """Train on ``dataset``, evaluate on the test split and register the model with its card.

    A cancelled run registers nothing. Raises UserError for data or settings that cannot be
    trained on, PermissionDeniedError when ``actor`` may not train, and ConfigError for a
    workspace it cannot write — both before training starts. With ``cv_folds`` ≥ 2 (tables
    only), repeated stratified k-fold cross-validation runs first and its estimate goes into the
    card beside the test split's (``dlcore.training.cv``); more folds than the smallest class
    has records is a UserError.
    """
    from dlcore.data.catalog import ensure_saved
    from dlcore.registry import check_workspace_writable

    actor = acting(actor, "train")
    check_workspace_writable()

    cross_validation = None
    treatment = getattr(getattr(dataset, "schema", None), "treatment_column", None)
    if cv_folds and dataset.kind != "images" and not treatment:
        from dlcore.training.cv import cross_validate

        cross_validation = cross_validate(
            dataset, spec, folds=cv_folds, repeats=cv_repeats, should_stop=should_stop
        )
    if treatment:
        # a trial: one outcome head per arm (TARNet), evaluated for benefit (dlcore.training.treatment)
        from dlcore.training.treatment import register_treatment, train_treatment

        result = train_treatment(dataset, spec, on_event=on_event, should_stop=should_stop)
        if result.cancelled:
            return TrainOutcome(None, result, None)
        ensure_saved(dataset)
        record, report, section = register_treatment(
            dataset, result, spec, name=name, intended_use=intended_use, actor=actor
        )
        return TrainOutcome(record, result, report, None, {"treatment": section})
    result = train(dataset, spec, on_event=on_event, should_stop=should_stop)
    if result.cancelled:
        return TrainOutcome(None, result, None)
    from dlcore.data.tables import release_free_memory

    large = dataset.kind != "images" and len(result.data.y) >= 100_000
    if large:
        # Keras' traced training and validation steps are not run again (it traces them anew if
        # they are): 11 MB at 1,000,000 rows, held through evaluation (issue 15).
        for traced in ("train_function", "test_function", "predict_function"):
            if getattr(result.model, traced, None) is not None:
                setattr(result.model, traced, None)
        import gc

        # Keras' datasets, callbacks and iterators that only a reference cycle still holds
        gc.collect()
        release_free_memory()  # training's freed transients, before evaluation adds its own
    # The baselines first, at training's memory level: fitted after evaluation, on top of what
    # its steps left, they were the run's peak (1,000,000 rows, issue 15).
    baselines = split_baselines(result)
    if large:
        release_free_memory()
    ensure_saved(dataset)  # the card points at the data: its test split can be evaluated later
    if large:
        release_free_memory()  # the Parquet writer's
    # the validation and test splits through the network once, for all three steps below
    outputs = split_outputs(result)
    recalibrator, decision = calibrate_on_validation(result, outputs)
    report = evaluate_split(result, recalibrator, outputs)
    if large:
        release_free_memory()  # evaluation's curves and copies, before the bootstrap intervals
    summary = honest_summary(
        result, recalibrator, fitted=baselines, test_output=outputs.pop("test")
    )
    del outputs
    if cross_validation is not None:
        summary["cross_validation"] = {
            **cross_validation.to_dict(),
            "sentence": cross_validation.sentence(),
        }
    if dataset.kind == "images":
        card, background, test_predictions = _image_card(dataset, result, spec, name)
    else:
        card, background, test_predictions = (
            _table_card(dataset, result, spec, name),
            _table_background(result, spec),
            None,
        )
    card.update(
        {
            "layout": result.layout.to_dict(),
            "spec": spec.to_dict(),
            "split": {
                "seed": result.split.seed,
                "stratified": result.split.stratified,
                "group": result.split.group,
                "n_groups": result.split.n_groups,
                "sizes": result.split.sizes(),
                "method": result.split.method,
            },
            "history": result.history,
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "stopped_early": result.stopped_early,
            "main_metric": result.main_metric,
            "timings": result.timings,
            "recalibration": decision.to_dict(),
            **{k: v for k, v in summary.items() if k != "baselines_s"},
        }
    )
    if "baselines_s" in summary:
        card["timings"] = {**result.timings, "baselines_s": summary["baselines_s"]}
    if recalibrator.method != "none":
        card["calibration"] = recalibrator.to_dict()
    if result.prior_correction is not None:
        card["prior_correction"] = result.prior_correction
    if intended_use:
        card["intended_use"] = intended_use
    split = result.split.to_dict(arrays=True)  # written as JSON lists one array at a time
    split["row_index"] = result.data.row_index
    molecules = _molecule_card(result)
    if molecules is not None:
        card["molecules"] = molecules
    record = register(
        result.model,
        card,
        background=background,
        evaluation=report,
        split=split,
        test_predictions=test_predictions,
        actor=actor,
        training_molecules=_training_molecules(result),
    )
    return TrainOutcome(record, result, report, decision.to_dict(), summary)


def _molecule_card(result: TrainResult) -> dict[str, Any] | None:
    """For molecule models: the featuriser per column, the split used, the rows left out and
    the applicability-domain threshold (the card says how the molecules were read)."""
    infos = getattr(result.layout, "molecule_features", [])
    if not infos:
        return None
    from dlcore.data.molecules import DOMAIN_THRESHOLD

    split = result.split
    if split.method == "scaffold":
        split_text = f"scaffold split (Bemis–Murcko): {split.n_groups} scaffolds, none in two parts"
    else:
        split_text = "random split (near-identical molecules may sit on both sides)"
    return {
        "columns": {info.name: info.molecule for info in infos},
        "split": split_text,
        "notes": result.data.notes,
        "domain_threshold": DOMAIN_THRESHOLD,
    }


def _training_molecules(result: TrainResult) -> dict[str, np.ndarray] | None:
    infos = getattr(result.layout, "molecule_features", [])
    if not infos:
        return None
    from dlcore.data.molecules import MoleculeSettings, pack_training

    info = infos[0]
    smiles = [str(s) for s in result.data.features[info.name].iloc[result.split.train]]
    return pack_training(smiles, MoleculeSettings.from_dict(info.molecule))


def _table_background(result: TrainResult, spec: ModelSpec) -> Any:
    """BACKGROUND_ROWS training records for SHAP: the rows DataFrame.sample would draw from the
    training part, taken without copying the whole training part first (issue 15)."""
    train = result.split.train
    size = min(BACKGROUND_ROWS, len(train))
    chosen = np.random.RandomState(spec.seed).choice(len(train), size=size, replace=False)
    return result.data.features.iloc[train[chosen]]


def _table_card(
    dataset: Dataset, result: TrainResult, spec: ModelSpec, name: str | None
) -> dict[str, Any]:
    schema = dataset.schema
    return {
        "name": name or f"{dataset.name} — {schema.task} network",
        "kind": "tabular",
        "dataset": {
            "id": dataset.id,
            "name": dataset.name,
            "source": dataset.source,
            "fingerprint": dataset.fingerprint(),
            "rows": len(dataset.frame),
            "labelled_rows": len(result.data.y),
            "target": schema.target,
            "task": schema.task,
            "classes": schema.classes,
            "positive_class": schema.positive_class,
            "excluded_columns": {c.name: c.reason for c in schema.columns if c.role == "excluded"},
            "leakage_excluded": schema.leakage_excluded,
            "leakage_included": schema.leakage_included,
            "group_column": schema.group_column,
        },
        "schema": schema.to_dict(),
        "schema_fingerprint": schema.fingerprint(),
    }


def _image_card(
    dataset: Any, result: TrainResult, spec: ModelSpec, name: str | None
) -> tuple[dict[str, Any], np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(spec.seed)
    train_part = result.split.train
    chosen = rng.choice(train_part, size=min(IMAGE_BACKGROUND, len(train_part)), replace=False)
    background = dataset.images[np.sort(chosen)]
    test = result.split.test
    output = run_model(result.model, result.layout.inputs(dataset.images[test]))
    card = {
        "name": name or f"{dataset.name} — {spec.architecture.upper()} image classifier",
        "kind": "image",
        "dataset": {
            "id": dataset.id,
            "name": dataset.name,
            "source": dataset.source,
            "fingerprint": dataset.fingerprint(),
            "rows": len(dataset.images),
            "labelled_rows": len(result.data.y),
            "target": "class",
            "task": dataset.task,
            "classes": dataset.classes,
            "positive_class": dataset.positive_class,
            "class_counts": dataset.class_counts(),
            "image_shape": list(dataset.image_shape),
        },
    }
    predictions = {"index": test, "labels": dataset.labels[test], "output": output}
    return card, background, predictions
