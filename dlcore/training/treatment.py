"""Training a treatment-effect network through the one training path.

``dlcore.training.fit.train`` hands a dataset whose schema names a ``treatment_column`` here:
the same preparation, split, progress callback, early stopping and cancel as every other
network; ``dlcore.training.pipeline.train_and_register`` hands it to ``register_treatment``, which
evaluates the benefit on the held-out trial records and registers the model with its card.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np

from dlcore.data.dataset import Dataset
from dlcore.data.treatment import check_treatment, overall_effect
from dlcore.errors import UserError
from dlcore.models.keras_runtime import import_keras, set_seed
from dlcore.models.layouts import make_layout
from dlcore.models.spec import ModelSpec, check_spec
from dlcore.models.treatment import arm_risks, build_treatment_model, treatment_targets
from dlcore.training.fit import (
    EventHandler,
    ProgressEvent,
    Split,
    StopCheck,
    TrainResult,
    make_tf_dataset,
    prepare_data,
    progress_callback,
    rows,
    split_records,
)

logger = logging.getLogger(__name__)

TREATMENT_TASK = "treatment"


def arm_index(dataset: Dataset, row_index: np.ndarray, arms: list[str]) -> np.ndarray:
    """The arm index (position in ``arms``) of each labelled record; -1 when the arm is missing."""
    from dlcore.data.treatment import arm_labels

    labels = arm_labels(dataset.frame.loc[row_index, dataset.schema.treatment_column])
    lookup = {a: i for i, a in enumerate(arms)}
    return np.array([lookup.get(v, -1) if v is not None else -1 for v in labels], dtype=np.int64)


def train_treatment(
    dataset: Dataset,
    spec: ModelSpec,
    *,
    on_event: EventHandler | None = None,
    should_stop: StopCheck | None = None,
    batch_interval_s: float = 0.5,
    split: Split | None = None,
) -> TrainResult:
    """Train a TARNet (DragonNet with ``spec.propensity_weight`` > 0) on a trial's records.

    Checks the arms first (``check_treatment``: raises UserError for one arm, small arms, an
    outcome missing in an arm); the split is stratified by arm and outcome. The result's layout
    has task 'treatment' and ``result.treatment`` the arms, the check and each record's arm.
    """
    keras = import_keras()
    check_spec(spec, "binary")
    weight = spec.propensity_weight
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 10:
        raise UserError(
            f"propensity_weight is {weight!r}.",
            expected="a number from 0 (no propensity head) to 10 (1 is DragonNet's)",
            fix="set propensity_weight between 0 and 10",
        )
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    check = check_treatment(dataset.frame, dataset.schema, seed=spec.seed)
    data = prepare_data(dataset)
    arm = arm_index(dataset, data.row_index, check.arms)
    keep = arm >= 0
    if not keep.all():
        logger.info("%d labelled record(s) without an arm left out", int((~keep).sum()))
        data.features = data.features.iloc[np.flatnonzero(keep)].reset_index(drop=True)
        data.y, data.row_index, arm = data.y[keep], data.row_index[keep], arm[keep]
    arms = len(check.arms)
    strata = arm * 2 + data.y.astype(np.int64)
    split = split or split_records(strata, "multiclass", spec)
    train_features = data.features.iloc[split.train]
    layout = make_layout(dataset.schema, train_features, data.kinds)
    layout.task = TREATMENT_TASK
    set_seed(spec.seed)
    model = build_treatment_model(spec, layout, train_features, data.y[split.train], arms)
    timings["prepare_s"] = time.perf_counter() - t0

    inputs = layout.inputs(data.features)
    targets = treatment_targets(data.y, arm)
    train_ds = make_tf_dataset(
        rows(inputs, split.train),
        targets[split.train],
        batch_size=spec.batch_size,
        shuffle_seed=spec.seed,
    )
    val_ds = make_tf_dataset(
        rows(inputs, split.validation), targets[split.validation], batch_size=4096
    )
    batches = math.ceil(len(split.train) / spec.batch_size)
    progress = progress_callback(
        on_event, should_stop, batches_per_epoch=batches, batch_interval_s=batch_interval_s
    )
    callbacks: list[Any] = [progress]
    stopper = None
    if spec.early_stopping_patience > 0:
        stopper = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=spec.early_stopping_patience, restore_best_weights=True
        )
        callbacks.insert(0, stopper)
    t1 = time.perf_counter()
    fit = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=spec.epochs,
        callbacks=callbacks,
        verbose=0,
        shuffle=False,
    )
    timings["fit_s"] = time.perf_counter() - t1
    history = {k: [float(v) for v in values] for k, values in fit.history.items()}
    epochs_run = len(history.get("loss", []))
    best_epoch = epochs_run
    if stopper is not None and stopper.best_weights is not None:
        best_epoch = int(stopper.best_epoch) + 1
    cancelled = bool(progress.cancelled)
    timings["per_epoch_s"] = timings["fit_s"] / max(epochs_run, 1)
    timings["total_s"] = time.perf_counter() - t0
    if on_event is not None:
        on_event(
            ProgressEvent(
                "end",
                epochs_run,
                spec.epochs,
                logs={"best_epoch": best_epoch, "cancelled": float(cancelled)},
                elapsed_s=timings["fit_s"],
                eta_s=None if cancelled else 0.0,
                fraction=float(progress.fraction) if cancelled else 1.0,
            )
        )
    logger.info("trained treatment model: %d epochs (best %d)", epochs_run, best_epoch)
    result = TrainResult(
        model=model,
        layout=layout,
        spec=spec,
        split=split,
        data=data,
        history=history,
        best_epoch=best_epoch,
        epochs_run=epochs_run,
        stopped_early=bool(stopper is not None and stopper.stopped_epoch > 0),
        cancelled=cancelled,
        timings=timings,
        main_metric="loss",
    )
    result.treatment = {"arms": check.arms, "arm": arm, "check": check}
    return result


def t_learner(
    features_train: Any,
    y_train: np.ndarray,
    arm_train: np.ndarray,
    kinds: dict[str, str],
    seed: int = 0,
) -> Any:
    """A T-learner: one scikit-learn HistGradientBoostingClassifier per arm (arm 0 and 1); returns
    a function from typed features to (n, 2) risks. Fitted and run on one thread, as the
    baselines are: beside TensorFlow's threads OpenMP's contention made the two fits on indo_rct
    take 12-15 s instead of under 2 s on a busy 2-core machine."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    x = _gbm_matrix(features_train, kinds)
    models = []
    for a in (0, 1):
        m = HistGradientBoostingClassifier(
            max_iter=200,
            learning_rate=0.05,
            max_leaf_nodes=15,
            min_samples_leaf=20,
            categorical_features="from_dtype",
            random_state=seed,
        )
        with threadpool_limits(1):
            m.fit(x[arm_train == a], y_train[arm_train == a])
        models.append(m)

    def predict(features: Any) -> np.ndarray:
        xs = _gbm_matrix(features, kinds, like=x)
        with threadpool_limits(1):
            return np.stack([m.predict_proba(xs)[:, 1] for m in models], axis=1)

    return predict


def _gbm_matrix(features: Any, kinds: dict[str, str], like: Any = None) -> Any:
    import pandas as pd

    out = pd.DataFrame(index=features.index)
    for name, kind in kinds.items():
        if kind == "numeric":
            out[name] = features[name].astype(float)
        else:
            cats = (
                like[name].cat.categories
                if like is not None
                else sorted(set(map(str, features[name])))
            )
            out[name] = pd.Categorical([str(v) for v in features[name]], categories=cats)
    return out


def register_treatment(
    dataset: Dataset,
    result: TrainResult,
    spec: ModelSpec,
    *,
    name: str | None = None,
    intended_use: str | None = None,
    actor: Any = None,
) -> tuple[Any, Any, dict[str, Any]]:
    """Evaluate a trained treatment network on its test split and register it with its card.

    Returns (record, factual Report, the card's 'treatment' section). The Report judges the risk
    of the arm each test patient received (AUC, calibration); the treatment section holds the
    check, the trial's overall effect, Qini/uplift with CIs, calibration for benefit, the
    treat-if-benefit curve, and the same for the T-learner baseline.
    """
    from dlcore.evaluate.metrics import evaluate
    from dlcore.evaluate.uplift import evaluate_uplift
    from dlcore.registry import BACKGROUND_ROWS, register

    info = result.treatment
    arms, arm, check = info["arms"], info["arm"], info["check"]
    if len(arms) != 2:
        raise UserError(
            f"The benefit evaluation covers two arms; this trial has {len(arms)}.",
            expected="a control arm and one treated arm",
            fix="keep the records of two arms",
        )
    data, split, layout = result.data, result.split, result.layout
    inputs = layout.inputs(data.features)
    risks = arm_risks(result.model, inputs, len(arms))
    test = split.test
    factual = risks[np.arange(len(arm)), arm].reshape(-1, 1)
    report = evaluate(
        "binary",
        data.y[test],
        factual[test],
        classes=["no event", "event"],
        positive_class="event",
        validation=(data.y[split.validation], factual[split.validation]),
    )
    treated_test = (arm[test] == 1).astype(int)
    benefit = risks[:, 0] - risks[:, 1]
    uplift = evaluate_uplift(data.y[test], treated_test, benefit[test], seed=spec.seed)
    fit_part = np.concatenate([split.train, split.validation])
    learner = t_learner(
        data.features.iloc[fit_part], data.y[fit_part], arm[fit_part], data.kinds, spec.seed
    )
    t_risks = learner(data.features.iloc[test])
    t_uplift = evaluate_uplift(
        data.y[test], treated_test, t_risks[:, 0] - t_risks[:, 1], seed=spec.seed
    )
    overall = overall_effect(data.y, arm, arms[0], arms[1])
    section = {
        "column": dataset.schema.treatment_column,
        "arms": arms,
        "control": arms[0],
        "treated": arms[1],
        "propensity_head": spec.propensity_weight > 0,
        "check": check.to_dict(),
        "overall_effect": overall.to_dict(),
        "overall_effect_test": overall_effect(
            data.y[test], treated_test, arms[0], arms[1]
        ).to_dict(),
        "uplift": uplift.to_dict(),
        "baselines": {"t_learner": t_uplift.to_dict()},
        "mean_predicted_benefit_test": float(benefit[test].mean()),
    }
    schema = dataset.schema
    card: dict[str, Any] = {
        "name": name or f"{dataset.name} — treatment-effect network",
        "kind": "tabular",
        "dataset": {
            "id": dataset.id,
            "name": dataset.name,
            "source": dataset.source,
            "fingerprint": dataset.fingerprint(),
            "rows": len(dataset.frame),
            "labelled_rows": len(data.y),
            "target": schema.target,
            "task": TREATMENT_TASK,
            "classes": schema.classes,
            "positive_class": schema.positive_class,
            "treatment_column": schema.treatment_column,
            "excluded_columns": schema.excluded,
            "leakage_excluded": schema.leakage_excluded,
            "leakage_included": schema.leakage_included,
            "group_column": schema.group_column,
        },
        "schema": schema.to_dict(),
        "schema_fingerprint": schema.fingerprint(),
    }
    card.update(
        {
            "layout": layout.to_dict(),
            "spec": spec.to_dict(),
            "split": {
                "seed": split.seed,
                "stratified": split.stratified,
                "group": split.group,
                "n_groups": split.n_groups,
                "sizes": split.sizes(),
                "method": split.method,
            },
            "history": result.history,
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "stopped_early": result.stopped_early,
            "main_metric": result.main_metric,
            "timings": result.timings,
            "treatment": section,
        }
    )
    if intended_use:
        card["intended_use"] = intended_use
    train_rows = data.features.iloc[split.train]
    background = train_rows.sample(min(BACKGROUND_ROWS, len(train_rows)), random_state=spec.seed)
    split_dict = split.to_dict()
    split_dict["row_index"] = data.row_index.tolist()
    split_dict["arm"] = arm.tolist()
    record = register(
        result.model,
        card,
        background=background,
        evaluation=report,
        split=split_dict,
        actor=actor,
    )
    return record, report, section
