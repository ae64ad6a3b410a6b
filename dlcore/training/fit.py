"""The one training path: split, build, fit with Keras callbacks that emit progress events.

The page (through a job), the command line, the benchmarks and the tests all train through
``train``. Progress leaves through the ``on_event`` callback; nothing here knows about Streamlit.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dlcore.data.dataset import Dataset, encode_target, feature_frame, model_kind
from dlcore.data.schema import MOLECULE, check_features
from dlcore.errors import UserError
from dlcore.models.common import MAIN_METRIC
from dlcore.models.keras_runtime import import_keras, set_seed
from dlcore.models.layouts import TabularLayout, make_layout
from dlcore.models.spec import ModelSpec, check_spec
from dlcore.models.tabular import build_tabular_model
from dlcore.models.tabular import merge_tabular_members as merge_members

logger = logging.getLogger(__name__)

MIN_TRAIN_ROWS = 20
IMAGE_WARMUP_EPOCHS = 3


@dataclass
class ProgressEvent:
    """What training reports as it goes: 'start', 'batch' (throttled), 'epoch' and 'end'."""

    kind: str
    epoch: int = 0
    epochs: int = 0
    batch: int = 0
    batches: int = 0
    logs: dict[str, float] = field(default_factory=dict)
    elapsed_s: float = 0.0
    eta_s: float | None = None
    fraction: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


EventHandler = Callable[[ProgressEvent], None]
StopCheck = Callable[[], bool]


@dataclass
class Split:
    """Row positions (into the labelled records) of the train, validation and test parts."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    seed: int
    stratified: bool
    group: str | None = None  # what kept each patient in one part ('patient_id', 'DICOM series')
    n_groups: int = 0
    method: str = "random"  # random | grouped | scaffold (molecules: Bemis–Murcko scaffolds)

    def to_dict(self, *, arrays: bool = False) -> dict[str, Any]:
        """The split as JSON-ready lists (``arrays``: the position arrays themselves, for
        ``dlcore.fsutil.write_json`` to write one at a time — no million-int lists, issue 15)."""

        def out(part: np.ndarray) -> Any:
            return part if arrays else part.tolist()

        return {
            "train": out(self.train),
            "validation": out(self.validation),
            "test": out(self.test),
            "seed": self.seed,
            "stratified": self.stratified,
            "group": self.group,
            "n_groups": self.n_groups,
            "method": self.method,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Split:
        return cls(
            np.asarray(data["train"], dtype=np.int64),
            np.asarray(data["validation"], dtype=np.int64),
            np.asarray(data["test"], dtype=np.int64),
            int(data["seed"]),
            bool(data["stratified"]),
            data.get("group"),
            int(data.get("n_groups", 0)),
            str(data.get("method") or ("grouped" if data.get("group") else "random")),
        )

    def sizes(self) -> dict[str, int]:
        return {
            "train": len(self.train),
            "validation": len(self.validation),
            "test": len(self.test),
        }


@dataclass
class PreparedData:
    """Labelled records ready for a model: typed features, encoded target, and their row labels."""

    features: pd.DataFrame
    y: np.ndarray
    row_index: np.ndarray
    kinds: dict[str, str]
    groups: np.ndarray | None = None  # per record: the patient (or series) it belongs to
    group_name: str | None = None  # what the groups are, when not the schema's group column
    notes: list[str] = field(default_factory=list)  # e.g. molecules left out, row by row


@dataclass
class TrainResult:
    """A trained model with its layout, split, per-epoch history, best epoch and timings."""

    model: Any
    layout: TabularLayout
    spec: ModelSpec
    split: Split
    data: PreparedData
    history: dict[str, list[float]]
    best_epoch: int
    epochs_run: int
    stopped_early: bool
    cancelled: bool
    timings: dict[str, float]
    main_metric: str
    prior_correction: dict[str, Any] | None = None
    treatment: dict[str, Any] | None = None  # treatment task: arms, check, each record's arm


def prepare_data(dataset: Dataset) -> PreparedData:
    """Typed features and encoded target of the records that have a target value.

    Raises UserError when the schema has no target or no features, or values do not fit.
    """
    schema = dataset.schema
    check_features(schema)
    y, present = encode_target(dataset.frame, schema)
    # every record labelled (the usual case): the frame itself, not a copy of it (issue 15)
    labelled = dataset.frame if present.all() else dataset.frame.loc[present]
    y = y[present]
    kinds = {c.name: model_kind(c, labelled[c.name]) for c in schema.features}
    molecules = [name for name, kind in kinds.items() if kind == MOLECULE]
    notes: list[str] = []
    if molecules:
        labelled, keep, notes = _standardise_molecules(labelled, molecules)
        y = y[keep]
    features = feature_frame(labelled, schema, kinds).reset_index(drop=True)
    groups, group_name = None, None
    if schema.group_column and schema.group_column in labelled.columns:
        groups = group_keys(labelled[schema.group_column])
    elif molecules:
        from dlcore.data.molecules import SCAFFOLD_GROUP, scaffolds

        groups, group_name = scaffolds(features[molecules[0]].tolist()), SCAFFOLD_GROUP
    return PreparedData(features, y, row_labels(labelled.index), kinds, groups, group_name, notes)


def row_labels(index: pd.Index) -> np.ndarray:
    """The labelled records' row labels as an array: int32 for integers within int32's range —
    the same numbers in half the memory of int64 (1,000,000 records: 4 MB kept through training
    and evaluation, issue 15) — else the index's own values."""
    if isinstance(index, pd.RangeIndex):
        low, high = (index.min(), index.max()) if len(index) else (0, 0)
        if low >= -(2**31) and high < 2**31:
            return np.arange(index.start, index.stop, index.step, dtype=np.int32)
        return index.to_numpy()
    values = index.to_numpy()
    small = values.dtype.kind in "iu" and len(values) > 0
    if small and values.min() >= -(2**31) and values.max() < 2**31:
        return values.astype(np.int32)
    return values


def _standardise_molecules(
    labelled: pd.DataFrame, columns: list[str]
) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """Standardised SMILES in the molecule columns; rows without a usable molecule left out,
    each with its row and reason in the notes (logged as counts only)."""
    from dlcore.data.molecules import check_molecules

    out = labelled.copy()
    keep = np.ones(len(out), dtype=bool)
    notes = []
    for column in columns:
        parsed = check_molecules(out, column)
        out[column] = pd.Series(parsed.smiles, index=out.index, dtype=object)
        keep &= parsed.ok
        notes.append(parsed.summary(column))
        notes.extend(
            f"row {p.to_dict()['row']} ({column}): {p.reason}" for p in parsed.problems[:50]
        )
    if not keep.all():
        logger.warning("%d record(s) without a usable molecule left out", int((~keep).sum()))
    return out.loc[keep], keep, notes


def group_keys(values: Any) -> np.ndarray:
    """Group labels as text; a missing value is a group of its own (its row stands alone)."""
    series = pd.Series(values).reset_index(drop=True)
    text = series.astype("object").map(lambda v: None if pd.isna(v) else str(v))
    return np.array(
        [t if t is not None else f"\x00row{i}" for i, t in enumerate(text)], dtype=object
    )


def split_records(
    y: np.ndarray,
    task: str,
    spec: ModelSpec,
    groups: np.ndarray | None = None,
    group_name: str | None = None,
    method: str = "grouped",
) -> Split:
    """A seeded train/validation/test split, stratified by class for classification tasks.

    With ``groups`` (one label per record: the patient, the DICOM series) that repeat, whole groups
    go to one part — no patient is in two parts — stratified by each group's outcome (any event
    for binary and survival, the most common class for several classes); ``group_name`` says what
    they are, for the card. Raises UserError when there are too few records (or too few of a
    class, or too few groups) to split.
    """
    from sklearn.model_selection import train_test_split

    if groups is not None and method == "scaffold":
        return _split_scaffolds(y, task, spec, groups.astype(str), group_name or "scaffold")
    if groups is not None and len(np.unique(groups.astype(str))) < len(groups):
        return _split_groups(y, task, spec, groups.astype(str), group_name or "group")
    n = len(y)
    n_test = max(1, round(n * spec.test_fraction))
    n_val = max(1, round(n * spec.validation_fraction))
    if n - n_test - n_val < MIN_TRAIN_ROWS:
        raise UserError(
            f"Only {n} labelled records: after the validation and test parts, {n - n_test - n_val} "
            "are left to train on.",
            expected=f"at least {MIN_TRAIN_ROWS} training records",
            fix="use more records, or smaller validation and test fractions",
        )
    # int32 positions (a split of 1,000,000 records: 4 MB less, kept through evaluation, issue 15)
    positions = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)
    stratify = None
    stratified = False
    if task == "survival":
        y = y[:, 1]  # stratify by whether the event happened
        task = "binary"
    if task != "regression":
        _, counts = np.unique(y, return_counts=True)
        if counts.min() >= 3:
            stratify, stratified = y, True
        else:
            logger.warning("a class has fewer than 3 records; the split is not stratified")
    rest, test = train_test_split(
        positions, test_size=n_test, random_state=spec.seed, stratify=stratify
    )
    train, val = train_test_split(
        rest,
        test_size=n_val,
        random_state=spec.seed + 1,
        stratify=None if stratify is None else y[rest],
    )
    if task != "regression":
        for part, name in ((train, "training"), (val, "validation")):
            if len(np.unique(y[part])) < len(np.unique(y)):
                raise UserError(
                    f"The {name} part lacks a class: a class has only {int(np.bincount(y.astype(int)).min())} record(s).",
                    expected="several records of every class",
                    fix="collect more records of the rare class, or merge it with another",
                )
    return Split(np.sort(train), np.sort(val), np.sort(test), spec.seed, stratified)


def _split_scaffolds(
    y: np.ndarray, task: str, spec: ModelSpec, groups: np.ndarray, name: str
) -> Split:
    """A balanced scaffold split (as Chemprop's): scaffolds larger than half the test part go to
    training, the rest in a seeded random order fill training, validation, then test — so no
    scaffold is in two parts and the held-out molecules are new chemotypes."""
    codes, inverse = np.unique(groups, return_inverse=True)
    sizes = np.bincount(inverse)
    n = len(y)
    n_test = max(1, round(n * spec.test_fraction))
    n_val = max(1, round(n * spec.validation_fraction))
    n_train = n - n_test - n_val
    big = [g for g in np.argsort(-sizes, kind="stable") if sizes[g] > min(n_val, n_test) / 2]
    taken = set(big)
    small = [g for g in np.random.default_rng(spec.seed).permutation(len(codes)) if g not in taken]
    parts: list[list[int]] = [[], [], []]
    counts = [0, 0, 0]
    for g in [*big, *small]:
        if counts[0] + sizes[g] <= n_train or not parts[0]:
            k = 0
        elif counts[1] + sizes[g] <= n_val or not parts[1]:
            k = 1
        else:
            k = 2
        parts[k].append(g)
        counts[k] += sizes[g]
    rows_of = [np.flatnonzero(np.isin(inverse, part)) for part in parts]
    if len(rows_of[0]) < MIN_TRAIN_ROWS or not len(rows_of[2]):
        raise UserError(
            f"Only {len(codes)} distinct scaffolds: too few for a scaffold split.",
            expected=f"at least {MIN_TRAIN_ROWS} training molecules and a test part",
            fix="use more molecules, or a random split (molecule_split 'random')",
        )
    if task != "regression":
        labels = y[:, 1] if task == "survival" else y
        if len(np.unique(labels[rows_of[0]])) < len(np.unique(labels)):
            raise UserError(
                "The training part lacks a class once each scaffold is kept in one part.",
                expected="several molecules of every class among the common scaffolds",
                fix="collect more molecules of the rare class, or use a random split",
            )
    logger.info("scaffold split: %d scaffolds, %d/%d/%d molecules", len(codes), *map(len, rows_of))
    return Split(*rows_of, spec.seed, False, name, len(codes), "scaffold")


def _split_groups(
    y: np.ndarray, task: str, spec: ModelSpec, groups: np.ndarray, name: str
) -> Split:
    """split_records for records grouped by patient: whole groups per part (see split_records)."""
    from sklearn.model_selection import train_test_split

    codes, inverse = np.unique(groups, return_inverse=True)
    n_groups = len(codes)
    n_test = max(1, round(n_groups * spec.test_fraction))
    n_val = max(1, round(n_groups * spec.validation_fraction))
    if n_groups - n_test - n_val < 3:
        raise UserError(
            f"Only {n_groups} distinct values of '{name}': too few to keep each in one part.",
            expected="enough patients (groups) for train, validation and test",
            fix="use more patients, or turn grouping off if the rows are truly independent",
        )
    labels = y[:, 1] if task == "survival" else y
    group_label = None
    stratified = False
    if task != "regression":
        frame = pd.DataFrame({"g": inverse, "y": labels})
        if task in ("binary", "survival"):
            group_label = frame.groupby("g")["y"].max().to_numpy()
        else:
            group_label = frame.groupby("g")["y"].agg(lambda v: v.mode().iloc[0]).to_numpy()
        _, counts = np.unique(group_label, return_counts=True)
        stratified = bool(counts.min() >= 3)
        if not stratified:
            logger.warning("a class has fewer than 3 groups; the grouped split is not stratified")
    parts = _stratified_group_parts(labels, inverse, spec) if stratified else None
    if parts is None:
        ids = np.arange(n_groups)
        rest, test = train_test_split(
            ids,
            test_size=n_test,
            random_state=spec.seed,
            stratify=group_label if stratified else None,
        )
        train, val = train_test_split(
            rest,
            test_size=n_val,
            random_state=spec.seed + 1,
            stratify=group_label[rest] if stratified else None,
        )
        parts = [np.flatnonzero(np.isin(inverse, part)) for part in (train, val, test)]
    if len(parts[0]) < MIN_TRAIN_ROWS:
        raise UserError(
            f"Only {len(parts[0])} records are left to train on after keeping each '{name}' in one part.",
            expected=f"at least {MIN_TRAIN_ROWS} training records",
            fix="use more records, or smaller validation and test fractions",
        )
    if task != "regression":
        for part, label in ((parts[0], "training"), (parts[1], "validation")):
            if len(np.unique(labels[part])) < len(np.unique(labels)):
                raise UserError(
                    f"The {label} part lacks a class once each '{name}' is kept in one part.",
                    expected="several patients with every class",
                    fix="collect more patients of the rare class, or merge it with another",
                )
    logger.info("grouped split: %d groups, %d/%d/%d records", n_groups, *map(len, parts))
    return Split(*parts, spec.seed, stratified, name, n_groups, "grouped")


def _stratified_group_parts(
    labels: np.ndarray, groups: np.ndarray, spec: ModelSpec
) -> list[np.ndarray] | None:
    """Train, validation and test positions with whole groups per part and each part's class mix
    close to the whole (scikit-learn's StratifiedGroupKFold: one fold for test, then one of the
    rest for validation); None when the classes are too small for it."""
    import warnings

    from sklearn.model_selection import StratifiedGroupKFold

    k_test = max(2, round(1 / spec.test_fraction))
    k_val = max(2, round((1 - spec.test_fraction) / spec.validation_fraction))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a class with fewer groups than folds
        try:
            outer = StratifiedGroupKFold(k_test, shuffle=True, random_state=spec.seed)
            rest, test = next(outer.split(labels, labels, groups))
            inner = StratifiedGroupKFold(k_val, shuffle=True, random_state=spec.seed + 1)
            train, val = next(inner.split(rest, labels[rest], groups[rest]))
        except ValueError:
            return None
    return [np.sort(rest[train]), np.sort(rest[val]), np.sort(test)]


def sample_weights(y: np.ndarray, task: str, spec: ModelSpec) -> np.ndarray | None:
    """Per-record weights that balance the classes ('balanced'), or None."""
    if task in ("regression", "survival") or spec.class_weighting == "none":
        return None
    classes, counts = np.unique(y, return_counts=True)
    weight = {c: len(y) / (len(classes) * k) for c, k in zip(classes, counts, strict=True)}
    return np.array([weight[v] for v in y], dtype=np.float32)


def prior_shift(y: np.ndarray, weights: np.ndarray, n_classes: int) -> np.ndarray:
    """Per-class log-odds shifts that undo class weighting: log(π_k / q_k), where π_k is the
    training prevalence and q_k the weighted one the network learnt. For one sigmoid output the
    single shift is the difference between the positive and the negative class's."""
    y = np.asarray(y).astype(int).ravel()
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    weighted = np.bincount(y, weights=weights, minlength=n_classes).astype(np.float64)
    prevalence = counts / counts.sum()
    learnt = weighted / weighted.sum()
    with np.errstate(divide="ignore"):
        shift = np.log(np.clip(prevalence, 1e-12, None)) - np.log(np.clip(learnt, 1e-12, None))
    return shift


OUTPUT_DENSE = ("probability", "probabilities", "logits")


def _output_dense(model: Any) -> Any:
    """The last Dense layer before the model's sigmoid or softmax (nested models searched)."""
    found = None
    for layer in getattr(model, "layers", []):
        if hasattr(layer, "layers"):
            inner = _output_dense(layer)
            found = inner if inner is not None else found
        elif type(layer).__name__ == "Dense" and layer.name in OUTPUT_DENSE:
            found = layer
    return found


def correct_class_weighting(
    model: Any, y_train: np.ndarray, weights: np.ndarray, task: str, n_classes: int
) -> dict[str, Any] | None:
    """Shift the output layer's bias so that a class-weighted network gives risks at the training
    prevalence (a prior-shift correction saved inside the model, so every consumer sees it).

    Returns what was done (for the model card), or None when there is nothing to correct.
    """
    if task not in ("binary", "multiclass"):
        return None
    dense = _output_dense(model)
    if dense is None:
        logger.warning("no output layer found: class weighting left uncorrected")
        return None
    shift = prior_shift(y_train, weights, n_classes)
    kernel, bias = dense.get_weights()
    delta = np.array([shift[1] - shift[0]]) if task == "binary" else shift - shift.mean()
    dense.set_weights([kernel, (bias + delta).astype(bias.dtype)])
    return {
        "method": "prior shift",
        "log_odds_shift": [float(v) for v in delta],
        "training_prevalence": [
            float(v)
            for v in np.bincount(np.asarray(y_train).astype(int), minlength=n_classes)
            / len(y_train)
        ],
    }


def member_events(on_event: EventHandler | None, member: int, members: int) -> EventHandler | None:
    """Progress of one ensemble member as a share of the whole run (one 'start' only)."""
    if on_event is None or members <= 1:
        return on_event

    def handler(event: ProgressEvent) -> None:
        if event.kind == "start" and member > 0:
            return
        event.fraction = (member + event.fraction) / members
        if event.eta_s is not None and event.fraction > 0:
            event.eta_s = event.elapsed_s * (members - member - 1) + event.eta_s
        on_event(event)

    return handler


def train_ensemble(
    first: Any,
    spec: ModelSpec,
    layout: Any,
    data: PreparedData,
    split: Split,
    prepared: tuple[Any, np.ndarray, np.ndarray | None],
    members: int,
    *,
    on_event: EventHandler | None,
    should_stop: StopCheck | None,
    batch_interval_s: float,
    validation_weighted: bool,
) -> tuple[Any, bool]:
    """Train members 2..``members`` (seeds spec.seed + 1, + 2, ...) on the same split as
    ``first``, each with its own early stopping, and merge all into one network (see
    ``merge_members``). Returns (the merged model, whether training was cancelled)."""
    import copy

    from dlcore.models.image import build_image_model, merge_image_members
    from dlcore.models.layouts import ImageLayout

    keras = import_keras()
    inputs, targets, weights = prepared
    images = isinstance(layout, ImageLayout)
    train_features = None if images else data.features.iloc[split.train]
    trained = [first]
    for member in range(1, members):
        member_spec = copy.deepcopy(spec)
        member_spec.seed = spec.seed + member
        set_seed(member_spec.seed)
        if images:
            model = build_image_model(
                member_spec, layout, math.ceil(len(split.train) / spec.batch_size)
            )
        else:
            model = build_tabular_model(member_spec, layout, train_features, data.y[split.train])
        train_ds = make_tf_dataset(
            inputs,
            targets,
            weights,
            batch_size=spec.batch_size,
            shuffle_seed=member_spec.seed,
            positions=split.train,
        )
        val_ds = make_tf_dataset(
            inputs,
            targets,
            weights if validation_weighted else None,
            batch_size=4096,
            positions=split.validation,
        )
        progress = progress_callback(
            member_events(on_event, member, members),
            should_stop,
            batches_per_epoch=math.ceil(len(split.train) / spec.batch_size),
            batch_interval_s=batch_interval_s,
        )
        callbacks = [progress]
        if spec.early_stopping_patience > 0:
            callbacks.insert(
                0,
                keras.callbacks.EarlyStopping(
                    monitor="val_loss",
                    patience=spec.early_stopping_patience,
                    restore_best_weights=True,
                    start_from_epoch=IMAGE_WARMUP_EPOCHS if images else 0,
                ),
            )
        model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=spec.epochs,
            callbacks=callbacks,
            verbose=0,
            shuffle=False,
        )
        if progress.cancelled:
            return first, True
        trained.append(model)
    if images:  # the members (and, with spec.test_time_flip, their mirror images) averaged
        return merge_image_members(trained, spec, layout), False
    return merge_members(trained, spec, layout, train_features, data.y[split.train]), False


def training_targets(y: np.ndarray, layout: TabularLayout) -> np.ndarray:
    """The target as the loss expects it: one-hot for categorical cross-entropy, (n, 1) otherwise."""
    if layout.task == "multiclass":
        return np.eye(len(layout.classes), dtype=np.float32)[y.astype(int)]
    if layout.task == "survival":
        return y.astype(np.float32).reshape(-1, 2)  # follow-up time and event, for the Cox loss
    # float32 already (binary and regression targets): the same array, not a copy (issue 15)
    return np.asarray(y, dtype=np.float32).reshape(-1, 1)


def make_tf_dataset(
    inputs: dict[str, np.ndarray] | np.ndarray,
    targets: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    batch_size: int,
    shuffle_seed: int | None = None,
    positions: np.ndarray | None = None,
) -> Any:
    """A batched ``tf.data.Dataset`` of (inputs, targets[, weights]) at rows ``positions`` (all
    rows when None), in a new seeded order each epoch when ``shuffle_seed`` is given.

    Each batch is gathered from the arrays when it is needed (a generator over index batches):
    no copy of the records is made and no per-record tensors are buffered — a shuffle buffer of
    one tensor per value cost ~20x the data (issue 15). Epoch k's order is the permutation seeded
    with (shuffle_seed, k): the same run gives the same batches.
    """
    import itertools

    import tensorflow as tf

    positions = np.arange(len(targets)) if positions is None else np.asarray(positions)
    n = len(positions)
    parts: tuple[Any, ...] = (inputs, targets) if weights is None else (inputs, targets, weights)
    epochs = itertools.count()

    def spec_of(array: np.ndarray) -> Any:
        if array.dtype.kind in "OUS":
            return tf.TensorSpec((None, *array.shape[1:]), tf.string)
        # float64 views of the features are cast batch by batch: the network takes float32
        kind = tf.float32 if array.dtype == np.float64 else tf.as_dtype(array.dtype)
        return tf.TensorSpec((None, *array.shape[1:]), kind)

    def batch_of(values: Any, part: np.ndarray) -> Any:
        if isinstance(values, dict):
            return {k: batch_of(v, part) for k, v in values.items()}
        chosen = values[part]
        return chosen.astype(np.float32) if chosen.dtype == np.float64 else chosen

    def batches() -> Any:
        order = positions
        if shuffle_seed is not None:
            rng = np.random.default_rng([abs(int(shuffle_seed)), next(epochs)])
            order = positions[rng.permutation(n)]
        for start in range(0, n, batch_size):
            part = order[start : start + batch_size]
            yield tuple(batch_of(values, part) for values in parts)

    signature = tuple(
        {k: spec_of(v) for k, v in values.items()} if isinstance(values, dict) else spec_of(values)
        for values in parts
    )
    data = tf.data.Dataset.from_generator(batches, output_signature=signature)
    data = data.apply(tf.data.experimental.assert_cardinality(math.ceil(n / batch_size)))
    return data.prefetch(tf.data.AUTOTUNE)


# No time-left estimate before this many epochs are timed, then a smoothed one (issue 14 #8).
ETA_AFTER_EPOCHS = 2
ETA_SMOOTHING = 0.3


def progress_callback(
    on_event: EventHandler | None,
    should_stop: StopCheck | None,
    *,
    batches_per_epoch: int,
    batch_interval_s: float = 0.5,
) -> Any:
    """A Keras callback that emits ProgressEvents and stops training when ``should_stop()`` is true.

    Batch events are throttled to one per ``batch_interval_s``; reading the clock is all a batch
    costs otherwise, so the callback does not slow training measurably (bench/train_overhead.py).
    """
    keras = import_keras()

    class _Progress(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.started = 0.0
            self.last_emit = 0.0
            self.epochs = 0
            self.epoch = 0
            self.cancelled = False
            self.epoch_started = 0.0
            self.epochs_timed = 0
            self.epoch_s: float | None = None  # smoothed seconds per epoch
            self.fraction = 0.0

        def _eta(self, left_in_epoch: float) -> float | None:
            """Seconds left at most (all epochs run), once ETA_AFTER_EPOCHS epochs were timed;
            None before (the first epochs pay for tracing and warm-up and mislead)."""
            if self.epoch_s is None or self.epochs_timed < ETA_AFTER_EPOCHS:
                return None
            return self.epoch_s * (max(self.epochs - self.epoch, 0) + left_in_epoch)

        def _emit(self, event: ProgressEvent) -> None:
            if on_event is not None:
                on_event(event)

        def _stop_requested(self) -> bool:
            if should_stop is not None and should_stop():
                self.cancelled = True
                self.model.stop_training = True
                return True
            return False

        def on_train_begin(self, logs: dict | None = None) -> None:
            self.started = self.last_emit = time.perf_counter()
            self.epochs = int(self.params.get("epochs") or 0)
            self._emit(ProgressEvent("start", 0, self.epochs, 0, batches_per_epoch))

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.epoch = epoch + 1
            self.epoch_started = time.perf_counter()

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            now = time.perf_counter()
            if now - self.last_emit < batch_interval_s:
                return
            self.last_emit = now
            if self._stop_requested():
                return
            done = (self.epoch - 1 + (batch + 1) / batches_per_epoch) / max(self.epochs, 1)
            self.fraction = done
            elapsed = now - self.started
            self._emit(
                ProgressEvent(
                    "batch",
                    self.epoch,
                    self.epochs,
                    batch + 1,
                    batches_per_epoch,
                    {k: float(v) for k, v in (logs or {}).items()},
                    elapsed,
                    self._eta(1 - (batch + 1) / batches_per_epoch),
                    done,
                )
            )

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            now = time.perf_counter()
            elapsed = now - self.started
            done = (epoch + 1) / max(self.epochs, 1)
            self.fraction = done
            took = now - self.epoch_started
            if self.epochs_timed:  # the first epoch pays for tracing: it is not a sample
                self.epoch_s = (
                    took
                    if self.epoch_s is None
                    else ETA_SMOOTHING * took + (1 - ETA_SMOOTHING) * self.epoch_s
                )
            self.epochs_timed += 1
            self._emit(
                ProgressEvent(
                    "epoch",
                    epoch + 1,
                    self.epochs,
                    batches_per_epoch,
                    batches_per_epoch,
                    {k: float(v) for k, v in (logs or {}).items()},
                    elapsed,
                    self._eta(0.0),
                    done,
                )
            )
            self.last_emit = time.perf_counter()
            self._stop_requested()

    return _Progress()


def rows(values: Any, part: np.ndarray) -> Any:
    """The given rows of model inputs or features: a dict of arrays, an array or a frame."""
    if isinstance(values, dict):
        return {k: v[part] for k, v in values.items()}
    if isinstance(values, pd.DataFrame):
        return values.iloc[part]
    return values[part]


def _prepare_table(
    dataset: Dataset, spec: ModelSpec, split: Split | None
) -> tuple[PreparedData, Split, Any, Any]:
    data = prepare_data(dataset)
    scaffold = data.group_name is not None  # molecules without a patient column
    if split is None and scaffold and spec.molecule_split == "random":
        split = split_records(data.y, dataset.schema.task or "", spec)
    split = split or split_records(
        data.y,
        dataset.schema.task or "",
        spec,
        data.groups,
        data.group_name or dataset.schema.group_column,
        "scaffold" if scaffold else "grouped",
    )
    train_features = _training_rows(data.features, split.train)
    layout = make_layout(dataset.schema, train_features, data.kinds, spec.molecule_settings)
    set_seed(spec.seed)
    model = build_tabular_model(spec, layout, train_features, data.y[split.train])
    return data, split, layout, model


def _training_rows(features: pd.DataFrame, positions: np.ndarray) -> pd.DataFrame:
    """The training rows of the typed features for fitting preprocessing statistics, numeric
    columns as float32 (the values the model sees; half the memory of float64 views' copies)."""
    return pd.DataFrame(
        {
            name: np.asarray(values.to_numpy()[positions], dtype=np.float32)
            if values.dtype.kind == "f"
            else values.iloc[positions].to_numpy()
            for name, values in features.items()
        },
        copy=False,
    )


def _prepare_images(
    dataset: Any, spec: ModelSpec, split: Split | None
) -> tuple[PreparedData, Split, Any, Any]:
    from dlcore.models.image import build_image_model
    from dlcore.models.layouts import ImageLayout

    if dataset.labels is None or len(dataset.classes) < 2:
        found = (
            f"only one class, '{dataset.classes[0]}'"
            if dataset.labels is not None and len(dataset.classes) == 1
            else "no classes"
        )
        raise UserError(
            f"The images of '{dataset.name}' have {found}.",
            expected="images in at least two class folders (or an .npz with labels)",
            fix="put each class's images in its own folder inside the ZIP",
        )
    y = dataset.labels.astype(np.float32 if dataset.task == "binary" else np.int64)
    if dataset.task == "binary":
        y = (
            dataset.labels == dataset.classes.index(dataset.positive_class or dataset.classes[1])
        ).astype(np.float32)
    data = PreparedData(dataset.images, y, np.arange(len(y)), {})
    if (
        split is None
        and dataset.predefined_split
        and {"train", "validation", "test"} <= set(dataset.predefined_split)
    ):
        parts = dataset.predefined_split
        split = Split(
            np.sort(parts["train"]),
            np.sort(parts["validation"]),
            np.sort(parts["test"]),
            spec.seed,
            False,
        )
    groups = getattr(dataset, "groups", None)
    split = split or split_records(
        dataset.labels,
        dataset.task,
        spec,
        None if groups is None else group_keys(groups),
        getattr(dataset, "group_name", None),
    )
    height, width, channels = dataset.image_shape
    layout = ImageLayout(
        height, width, channels, dataset.task, list(dataset.classes), dataset.positive_class
    )
    model = build_image_model(spec, layout, math.ceil(len(split.train) / spec.batch_size))
    return data, split, layout, model


def train(
    dataset: Dataset | Any,
    spec: ModelSpec,
    *,
    on_event: EventHandler | None = None,
    should_stop: StopCheck | None = None,
    batch_interval_s: float = 0.5,
    split: Split | None = None,
) -> TrainResult:
    """Train a tabular network on ``dataset`` as ``spec`` says.

    Splits the labelled records (seeded, stratified), fits preprocessing on the training part,
    trains with early stopping that restores the best weights, and emits ProgressEvents through
    ``on_event``. ``should_stop`` is polled during training; when it returns True training stops
    at once and the result says ``cancelled``. ``split`` replaces the seeded split (positions into
    the labelled records; cross-validation passes its own, with an empty test part). Raises UserError for data or settings that cannot
    be trained on.
    """
    if getattr(getattr(dataset, "schema", None), "treatment_column", None):
        raise UserError(
            "This table has a treatment column: it trains a treatment-effect network.",
            expected="dlcore.training.treatment.train_treatment for a treatment task",
            fix="train through dlcore.training.pipeline.train_and_register (it picks the network)",
        )
    keras = import_keras()
    task = dataset.task or ""
    check_spec(spec, task)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if dataset.kind == "images":
        data, split, layout, model = _prepare_images(dataset, spec, split)
    else:
        data, split, layout, model = _prepare_table(dataset, spec, split)
    timings["prepare_s"] = time.perf_counter() - t0

    inputs = layout.inputs(data.features, views=True)  # cast to float32 batch by batch
    targets = training_targets(data.y, layout)
    weights = sample_weights(data.y, task, spec)

    train_ds = make_tf_dataset(
        inputs,
        targets,
        weights,
        batch_size=spec.batch_size,
        shuffle_seed=spec.seed,
        positions=split.train,
    )
    # Validation records carry the same class weights as training ones, so that early stopping
    # watches the loss being minimised (unweighted, it can rise while discrimination improves).
    val_ds = make_tf_dataset(inputs, targets, weights, batch_size=4096, positions=split.validation)
    batches = math.ceil(len(split.train) / spec.batch_size)
    members = spec.ensemble
    progress = progress_callback(
        member_events(on_event, 0, members),
        should_stop,
        batches_per_epoch=batches,
        batch_interval_s=batch_interval_s,
    )
    callbacks = [progress]
    stopper = None
    if spec.early_stopping_patience > 0:
        stopper = keras.callbacks.EarlyStopping(
            monitor="val_loss",
            patience=spec.early_stopping_patience,
            restore_best_weights=True,
            # CNNs' batch-normalisation statistics settle over the first epochs; judging the
            # validation loss before then can keep the weights of epoch 1.
            start_from_epoch=IMAGE_WARMUP_EPOCHS if dataset.kind == "images" else 0,
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
    val_loss = history.get("val_loss", [])
    best_epoch = int(np.nanargmin(val_loss)) + 1 if val_loss else epochs_run
    if stopper is None and val_loss:
        best_epoch = epochs_run  # without early stopping the last weights are kept
    elif stopper is not None and stopper.best_weights is not None:
        best_epoch = int(stopper.best_epoch) + 1  # the epoch whose weights were restored
    cancelled = bool(progress.cancelled)
    if members > 1 and not cancelled:
        model, cancelled = train_ensemble(
            model,
            spec,
            layout,
            data,
            split,
            (inputs, targets, weights),
            members,
            on_event=on_event,
            should_stop=should_stop,
            batch_interval_s=batch_interval_s,
            validation_weighted=weights is not None,
        )
        timings["fit_s"] = time.perf_counter() - t1
        timings["ensemble_members"] = float(members)
    elif dataset.kind == "images" and spec.test_time_flip and not cancelled:
        from dlcore.models.image import merge_image_members

        model = merge_image_members([model], spec, layout)
    correction = None
    if weights is not None and not cancelled:
        n_classes = len(layout.classes) if task == "multiclass" else 2
        correction = correct_class_weighting(
            model, data.y[split.train], weights[split.train], task, n_classes
        )
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
                # a cancelled run is not done: it reports how far it got
                fraction=float(progress.fraction) if cancelled else 1.0,
            )
        )
    logger.info(
        "trained %s model: %d epochs (best %d) in %.1f s%s",
        task,
        epochs_run,
        best_epoch,
        timings["fit_s"],
        " (cancelled)" if cancelled else "",
    )
    return TrainResult(
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
        main_metric=MAIN_METRIC[task],
        prior_correction=correction,
    )
