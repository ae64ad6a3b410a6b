"""Predictions for records: schema checks with clear messages, then the model in batches."""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dlcore.data.dataset import MISSING_CATEGORY, category_text, to_number
from dlcore.data.schema import MOLECULE, NUMERIC
from dlcore.errors import SchemaMismatchError, UserError
from dlcore.models.layouts import TabularLayout, outcome_label, to_model_inputs
from dlcore.models.tabular import run_model

logger = logging.getLogger(__name__)


@dataclass
class PredictionResult:
    """Predictions for each record (same index as the input), the raw output, and notes."""

    table: pd.DataFrame
    output: np.ndarray
    notes: list[str] = field(default_factory=list)
    calibration: str = "not recalibrated (the network's own output)"


def check_records(layout: TabularLayout, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Check records against a model's inputs and type them; returns (features, notes).

    Missing columns raise SchemaMismatchError naming them (with close matches); a value that is
    not a number in a numeric column raises naming the column, row and value. Extra columns are
    ignored, unseen categories and out-of-range values are noted.
    """
    if len(frame) == 0:
        raise SchemaMismatchError(
            "The records table is empty.",
            expected="at least one record",
            fix="upload a table with records",
        )
    columns = [str(c) for c in frame.columns]
    missing = [f.name for f in layout.features if f.name not in columns]
    if missing:
        hints = []
        for name in missing:
            close = difflib.get_close_matches(name, columns, n=1, cutoff=0.75)
            lowered = {c.lower().strip(): c for c in columns}
            match = lowered.get(name.lower().strip()) or (close[0] if close else None)
            if match:
                hints.append(f"'{match}' → '{name}'")
        raise SchemaMismatchError(
            f"The records lack {len(missing)} column(s) the model needs: {', '.join(missing)}.",
            expected=f"all {len(layout.features)} input columns: " + ", ".join(layout.names),
            fix=("rename " + ", ".join(hints) + "; " if hints else "")
            + "add the missing columns (an empty column is allowed: its values count as missing)",
        )
    notes = []
    outcome = {layout.target, getattr(layout, "time_column", None)}
    ignored = [c for c in columns if c not in layout.names and c not in outcome]
    if ignored:
        shown = ", ".join(ignored[:8]) + (" …" if len(ignored) > 8 else "")
        notes.append(f"{len(ignored)} column(s) the model does not use were ignored: {shown}.")
    typed: dict[str, np.ndarray] = {}
    for info in layout.features:
        series = frame[info.name]
        if info.kind == MOLECULE:
            typed[info.name] = _check_molecules(info, series, notes)
        elif info.kind == NUMERIC:
            values = to_number(series, info.name).to_numpy(dtype=np.float64)
            n_missing = int(np.sum(~np.isfinite(values)))
            if n_missing:
                notes.append(
                    f"'{info.name}': {n_missing} missing value(s) filled with the training median"
                    + (f" ({info.median:g})." if info.median is not None else ".")
                )
            if info.min is not None and info.max is not None:
                finite = values[np.isfinite(values)]
                zeros = int(np.sum(finite == 0)) if info.min > 0 else 0
                if zeros:  # below a positive range, 0 is 'not measured', not an extrapolation
                    notes.append(
                        f"'{info.name}': {zeros} value(s) are 0, which training never had (its "
                        f"smallest was {info.min:g}): 0 most likely means 'not measured'. Blank "
                        "those cells so they count as missing."
                    )
                    finite = finite[finite != 0]
                outside = int(np.sum((finite < info.min) | (finite > info.max)))
                if outside:
                    notes.append(
                        f"'{info.name}': {outside} value(s) outside the training range "
                        f"{info.min:g}–{info.max:g}; predictions there are extrapolations."
                    )
            typed[info.name] = values.astype(np.float32)
        else:
            texts = np.array([category_text(v) for v in series], dtype=object)
            if info.categories:
                known = set(info.categories)
                unseen = sorted({t for t in texts if t not in known and t != MISSING_CATEGORY})
                if unseen:
                    notes.append(
                        f"'{info.name}': value(s) not seen in training, treated as unknown: "
                        + ", ".join(repr(u) for u in unseen[:5])
                        + f" (known: {', '.join(info.categories[:8])})."
                    )
            typed[info.name] = texts
    return pd.DataFrame(typed, index=frame.index), notes


def _check_molecules(info: Any, series: pd.Series, notes: list[str]) -> np.ndarray:
    """Standardised SMILES of a molecule column ('' where unusable, listed row by row in notes)."""
    from dlcore.data.molecules import MoleculeSettings, parse_smiles

    parsed = parse_smiles(
        series.tolist(), list(series.index), MoleculeSettings.from_dict(info.molecule)
    )
    if parsed.problems:
        notes.append(parsed.summary(info.name) + " Their predictions are left empty.")
    return np.array([s or "" for s in parsed.smiles], dtype=object)


def molecule_domain(
    layout: TabularLayout, features: pd.DataFrame, reference: dict[str, np.ndarray] | None
) -> Any:
    """The applicability domain of the first molecule input (dlcore.data.molecules.DomainCheck),
    or None when the model takes no molecules or kept no training molecules."""
    infos = getattr(layout, "molecule_features", [])
    if not infos or reference is None:
        return None
    from dlcore.data.molecules import MoleculeSettings, domain_check, unpack_training

    train_smiles, train_bits = unpack_training(reference)
    info = infos[0]
    return domain_check(
        [str(s) for s in features[info.name]],
        train_smiles,
        train_bits,
        MoleculeSettings.from_dict(info.molecule),
    )


def _blank_unusable(layout: Any, features: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Empty the prediction of every record whose molecule could not be read."""
    infos = getattr(layout, "molecule_features", [])
    if not infos:
        return table
    bad = np.zeros(len(features), dtype=bool)
    for info in infos:
        bad |= features[info.name].to_numpy() == ""
    if not bad.any():
        return table
    out = table.astype(object)
    out.loc[out.index[bad], :] = None
    return out


def prediction_table(
    layout: TabularLayout, output: np.ndarray, index: pd.Index, threshold: float = 0.5
) -> pd.DataFrame:
    """Readable prediction columns for the model's raw output."""
    target = getattr(layout, "target", None)  # image layouts have no target column
    if layout.task == "binary":
        probability = output[:, 0]
        negative = next((c for c in layout.classes if c != layout.positive_class), "other")
        return pd.DataFrame(
            {
                f"probability_{outcome_label(layout.positive_class, target)}": probability,
                "decision": np.where(probability >= threshold, layout.positive_class, negative),
                "threshold": threshold,
            },
            index=index,
        )
    if layout.task == "multiclass":
        table = pd.DataFrame(
            {f"probability_{c}": output[:, i] for i, c in enumerate(layout.classes)}, index=index
        )
        table["predicted"] = np.asarray(layout.classes, dtype=object)[output.argmax(axis=1)]
        return table
    if layout.task == "survival":
        return survival_table(layout, output[:, 0], index)
    return pd.DataFrame({f"predicted_{target or 'value'}": output[:, 0]}, index=index)


def survival_horizons(layout: Any) -> list[float]:
    """Times to report survival at: the quartiles of the training event times."""
    times = np.asarray((layout.baseline or {}).get("times", []), dtype=np.float64)
    if len(times) == 0:
        return []
    return [float(np.quantile(times, q)) for q in (0.25, 0.5, 0.75)]


def survival_table(layout: Any, eta: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """Log-risk, relative risk (against a log-risk of 0) and survival probabilities at the horizons."""
    from dlcore.models.survival import BaselineHazard

    table = pd.DataFrame({"log_risk": eta, "relative_risk": np.exp(eta)}, index=index)
    if layout.baseline:
        baseline = BaselineHazard.from_dict(layout.baseline)
        horizons = survival_horizons(layout)
        _, curves = baseline.survival(eta, np.asarray(horizons))
        for k, horizon in enumerate(horizons):
            table[f"survival_at_{horizon:g}"] = curves[:, k]
        table["median_survival"] = baseline.median_survival(eta)
    return table


def survival_curve(layout: Any, log_risk: float) -> tuple[np.ndarray, np.ndarray]:
    """A patient's predicted survival curve S(t | x) = exp(−H0(t)·e^η) for the log-risk η, from
    the model's Breslow baseline: (times from 0, survival from 1 at those times).

    Raises UserError when the model has no baseline hazard (not a survival model of this app).
    """
    from dlcore.models.survival import BaselineHazard

    if getattr(layout, "task", None) != "survival" or not getattr(layout, "baseline", None):
        raise UserError(
            "This model has no baseline hazard, so it cannot draw survival curves.",
            expected="a survival model trained in this app",
            fix="train a survival model on a dataset with a follow-up time and an event column",
        )
    times, curves = BaselineHazard.from_dict(layout.baseline).survival(np.array([float(log_risk)]))
    return np.concatenate([[0.0], times]), np.concatenate([[1.0], curves[0]])


def reference_log_risk(model: Any, layout: TabularLayout, background: pd.DataFrame) -> float:
    """The mean log-risk of the reference patients kept from training: the 'average patient'
    that a relative risk is against (the same reference as the SHAP explanations' base value).

    Raises UserError when there is no background, SchemaMismatchError when it does not fit.
    """
    if background is None or len(background) == 0:
        raise UserError(
            "The model kept no reference patients from training.",
            expected="a model trained in this app (its card folder holds a background sample)",
            fix="retrain the model in this app",
        )
    features, _ = check_records(layout, background)
    output = run_model(model, to_model_inputs(layout, features))
    return float(np.mean(np.asarray(output, dtype=np.float64)[:, 0]))


def relative_to_reference(table: pd.DataFrame, reference: float) -> pd.DataFrame:
    """A survival prediction table with ``relative_risk_vs_average`` (e^(η − reference), the
    hazard against the average reference patient's) inserted after ``relative_risk`` (which is
    against a log-risk of 0, the baseline hazard's own reference)."""
    out = table.copy()
    position = list(out.columns).index("relative_risk") + 1
    out.insert(
        position,
        "relative_risk_vs_average",
        np.exp(out["log_risk"].to_numpy(dtype=np.float64) - float(reference)),
    )
    return out


def predict(
    model: Any,
    layout: TabularLayout,
    frame: pd.DataFrame,
    *,
    threshold: float = 0.5,
    batch_size: int = 8192,
    recalibrator: Any = None,
    molecules: dict[str, np.ndarray] | None = None,
) -> PredictionResult:
    """Predict for every record of ``frame`` (raw values, as in the training table).

    For a molecule model, ``molecules`` (the registry's training molecules) adds each molecule's
    nearest training molecule, its Tanimoto similarity and whether it is in the domain; a SMILES
    that cannot be read gets an empty prediction and a note naming its row and reason.

    Returns the prediction table (probability and decision at ``threshold`` for binary models,
    class probabilities and the predicted class for multiclass, the value for regression).
    Raises SchemaMismatchError as ``check_records`` does.
    """
    features, notes = check_records(layout, frame)
    output = run_model(model, to_model_inputs(layout, features), batch_size=batch_size)
    shown, described = _recalibrated(layout, output, recalibrator)
    table = _blank_unusable(
        layout, features, prediction_table(layout, shown, frame.index, threshold)
    )
    domain = molecule_domain(layout, features, molecules)
    if domain is not None:
        table = pd.concat([table, domain.table(frame.index)], axis=1)
        if domain.note():
            notes.append(domain.note())
    logger.info("predicted %d record(s)", len(frame))
    return PredictionResult(table, output, notes, described)


def _recalibrated(layout: Any, output: np.ndarray, recalibrator: Any) -> tuple[np.ndarray, str]:
    """The probabilities to show (recalibrated when a recalibration was fitted) and what they are."""
    if recalibrator is None or layout.task == "regression" or recalibrator.method == "none":
        return output, "not recalibrated (the network's own output)"
    return np.asarray(recalibrator.apply(output)).reshape(output.shape), recalibrator.describe()


def predict_with_model(
    loaded: Any, data: pd.DataFrame | np.ndarray, names: list[str] | None = None
) -> PredictionResult:
    """Predict with a registered model (``dlcore.registry.LoadedModel``) as it is meant to be
    used: at its operating threshold, with its recalibration; records or images by its kind."""
    if loaded.kind == "image":
        return predict_images(
            loaded.model,
            loaded.layout,
            data,
            names,
            threshold=loaded.threshold,
            recalibrator=loaded.recalibrator,
        )
    return predict(
        loaded.model,
        loaded.layout,
        data,
        threshold=loaded.threshold,
        recalibrator=loaded.recalibrator,
        molecules=loaded.training_molecules() if hasattr(loaded, "training_molecules") else None,
    )


def predict_images(
    model: Any,
    layout: Any,
    images: np.ndarray,
    names: list[str] | None = None,
    *,
    threshold: float = 0.5,
    recalibrator: Any = None,
) -> PredictionResult:
    """Predict for images (n, H, W, C) already read at the model's size and channels.

    Returns a table with the file name, the class probabilities and the predicted class (for a
    binary model: the probability of the positive class and the decision at ``threshold``).
    Raises SchemaMismatchError when the images' shape is not the model's.
    """
    images = np.asarray(images)
    if images.ndim != 4 or tuple(images.shape[1:]) != tuple(layout.shape):
        raise SchemaMismatchError(
            f"The images have shape {tuple(images.shape[1:])}.",
            expected=f"{tuple(layout.shape)} (height, width, channels), as the model was trained",
            fix="read the images at the model's size and channels",
        )
    output = run_model(model, layout.inputs(images), batch_size=256)
    shown, described = _recalibrated(layout, output, recalibrator)
    index = pd.Index(
        names if names is not None else [f"image {i}" for i in range(len(images))], name="file"
    )
    table = prediction_table(layout, shown, index, threshold)
    table.index = index
    return PredictionResult(table.reset_index(), output, [], described)


def with_predictions(
    records: pd.DataFrame, predictions: pd.DataFrame
) -> tuple[pd.DataFrame, list[str]]:
    """The records with the prediction columns beside them, and a note when the records already
    had columns of those names (a predictions file scored again): those are replaced."""
    clashes = [c for c in predictions.columns if c in records.columns]
    notes = (
        [
            "The file already had prediction columns ("
            + ", ".join(map(str, clashes[:6]))
            + ("…" if len(clashes) > 6 else "")
            + "), probably from an earlier run: they are replaced by this model's."
        ]
        if clashes
        else []
    )
    kept = records.drop(columns=clashes).reset_index(drop=True)
    return pd.concat([kept, predictions.reset_index(drop=True)], axis=1), notes


def predictions_for_export(
    table: pd.DataFrame, model_id: str, model_version: int | None, *, digits: int = 4
) -> pd.DataFrame:
    """A predictions table as a file carries it: the model's id and version as the first columns
    (so a file says which model made it) and probabilities, survival and relative risks rounded
    to ``digits`` decimals (0.8731, not 0.87312937)."""
    out = table.copy()
    rounded = [
        c
        for c in out.columns
        if str(c).startswith(("probability_", "survival_at_", "relative_risk", "log_risk"))
    ]
    for column in rounded:
        # float64 first: a float32 0.738 is 0.73799998 however it is rounded
        out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64").round(digits)
    out.insert(0, "model_version", model_version)
    out.insert(0, "model_id", model_id)
    return out


@dataclass
class Uncertainty:
    """Per-record spread of a tabular model's prediction over Monte Carlo dropout samples.

    ``low``/``high`` bound the central 80% of the sampled predictions (probabilities of the
    positive class, or values for regression, recalibrated like the shown prediction); ``spread``
    is the standard deviation on the model's own scale (log-odds for a probability, the value
    otherwise), the measure that grows for records unlike the training data; ``agree`` says
    whether the samples agree closely enough to read the prediction as one number.
    """

    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    spread: np.ndarray
    agree: np.ndarray
    samples: int
    method: str = "Monte Carlo dropout"

    def sentence(self, i: int, percent: bool = True) -> str:
        """One sentence for record ``i``, e.g. 'Re-running the network 30 times with dropout
        gives 12%–19%: the runs agree.'"""

        def shown(v: float) -> str:
            return f"{v:.0%}" if percent else f"{v:.3g}"

        span = f"{shown(float(self.low[i]))}–{shown(float(self.high[i]))}"
        if bool(self.agree[i]):
            return (
                f"Re-running the network {self.samples} times with dropout gives {span} "
                "(80% of runs): the runs agree."
            )
        return (
            f"Re-running the network {self.samples} times with dropout gives {span} (80% of "
            "runs): the runs disagree — this record may be unlike the training data; read the "
            "prediction with caution."
        )

    def columns(self, index: Any = None) -> pd.DataFrame:
        """One row per record for a predictions table: the central 80% of the runs
        (``runs_low_80``, ``runs_high_80``, on the prediction's own scale) and ``runs_agree``
        ('yes' or 'no')."""
        return pd.DataFrame(
            {
                "runs_low_80": np.round(self.low, 4),
                "runs_high_80": np.round(self.high, 4),
                "runs_agree": np.where(self.agree, "yes", "no"),
            },
            index=index,
        )

    def summary(self) -> str:
        """One sentence for a batch, e.g. 'Re-running the network 30 times with dropout: the runs
        agree for 118 of 120 records; for 2 (runs_agree = no) …'."""
        n = len(self.agree)
        disagree = int(n - np.count_nonzero(self.agree))
        text = (
            f"Re-running the network {self.samples} times with dropout: the runs agree for "
            f"{n - disagree:,} of {n:,} records"
        )
        if disagree == 0:
            return text + " (runs_low_80 to runs_high_80 holds 80% of the runs)."
        return (
            f"{text}; for {disagree:,} (runs_agree = no) they disagree — those records may be "
            "unlike the training data: read their predictions with caution. runs_low_80 to "
            "runs_high_80 holds 80% of the runs."
        )


AGREE_LOGIT_SPREAD = 0.5  # log-odds: about ±12 points around a 50% risk


def prediction_uncertainty(
    model: Any,
    layout: TabularLayout,
    frame: pd.DataFrame,
    *,
    samples: int = 30,
    seed: int = 0,
    recalibrator: Any = None,
) -> Uncertainty | None:
    """The spread of a tabular binary or regression model's prediction for each record, from
    ``samples`` forward passes with dropout left on (Gal & Ghahramani 2016). Returns None when
    the model has no dropout (or batch normalisation, whose training mode would change the
    prediction), or its task is not binary or regression. Raises SchemaMismatchError as
    ``check_records`` does.
    """
    import tensorflow as tf

    kinds = {type(layer).__name__ for layer in _all_layers(model)}
    if "Dropout" not in kinds or "BatchNormalization" in kinds:
        return None
    if layout.task not in ("binary", "regression"):
        return None
    features, _ = check_records(layout, frame)
    inputs = to_model_inputs(layout, features)
    n = len(features)
    tf.random.set_seed(seed)
    draws = []
    chunk = max(1, 20000 // max(samples, 1))
    for start in range(0, n, chunk):
        part = {k: np.repeat(v[start : start + chunk], samples, axis=0) for k, v in inputs.items()}
        batch = {k: tf.constant(v) for k, v in part.items()}
        out = np.asarray(model(batch, training=True), dtype=np.float64)[:, 0]
        draws.append(out.reshape(-1, samples))
    values = np.concatenate(draws, axis=0)  # (n, samples)
    if layout.task == "binary":
        if recalibrator is not None and recalibrator.method != "none":
            values = np.asarray(recalibrator.apply(values.reshape(-1))).reshape(values.shape)
        clipped = np.clip(values, 1e-6, 1 - 1e-6)
        scale = np.log(clipped / (1 - clipped))
        agree = scale.std(axis=1) <= AGREE_LOGIT_SPREAD
    else:
        scale = values
        typical = np.std(values.mean(axis=1)) if n > 1 else 1.0
        agree = scale.std(axis=1) <= 0.25 * max(typical, 1e-9)
    low, high = np.quantile(values, [0.1, 0.9], axis=1)
    return Uncertainty(values.mean(axis=1), low, high, scale.std(axis=1), agree, samples)


def _all_layers(model: Any) -> list[Any]:
    found = []
    for layer in getattr(model, "layers", []):
        found.append(layer)
        found.extend(_all_layers(layer))
    return found
