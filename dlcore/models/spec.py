"""ModelSpec: the network and its training, as the concepts clinician-scientists learn first."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from dlcore.errors import InvalidSpecError

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu", "silu", "leaky_relu", "softplus")
OPTIMIZERS = ("sgd", "adam", "rmsprop", "adamw")
LOSSES = {
    "binary": ("binary_crossentropy", "binary_focal_crossentropy"),
    "multiclass": ("categorical_crossentropy",),
    "regression": ("mean_squared_error", "mean_absolute_error", "huber"),
    "survival": ("cox_partial_likelihood",),
}
DEFAULT_LOSS = {
    "binary": "binary_crossentropy",
    "multiclass": "categorical_crossentropy",
    "regression": "mean_squared_error",
    "survival": "cox_partial_likelihood",
}
CLASS_WEIGHTING = ("balanced", "none")
ARCHITECTURES = ("mlp", "cnn")
AUGMENTATIONS = ("flip", "rotation", "zoom", "contrast")
LR_SCHEDULES = ("constant", "cosine")
MOLECULE_SPLITS = ("scaffold", "random")
FINGERPRINT_KINDS = ("count", "bits")
SPEC_VERSION = 1


@dataclass
class ModelSpec:
    """A multilayer perceptron and how to train it; every field has a sensible default.

    ``hidden_units`` lists the units of each hidden layer. ``loss`` None picks the usual loss for
    the task. For images, ``architecture`` is 'mlp' (flattened pixels) or 'cnn' (one convolution
    block per ``conv_filters`` entry, then global average pooling), and ``augmentation`` lists
    random transformations applied while training ('flip', 'rotation', 'zoom', 'contrast'). ``optimizer`` is a Keras name; ``momentum`` > 0 with 'sgd' is SGD with momentum.
    ``class_weighting`` 'none' (the default) keeps probabilities as risks; 'balanced' weights the
    classes equally while training and then shifts the output back to the training prevalence.
    ``ensemble`` > 1 trains that many networks from different seeds on the same split and
    saves them as one network whose output is their average log-odds (or value); for images
    ``test_time_flip`` also averages over each image's mirror image.
    ``early_stopping_patience`` 0 turns early stopping off. Fractions are of the labelled records.
    """

    hidden_units: list[int] = field(default_factory=lambda: [64, 32])
    activation: str = "relu"
    dropout: float = 0.1
    batch_norm: bool = False
    loss: str | None = None
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.0
    weight_decay: float = 0.0
    batch_size: int = 32
    epochs: int = 60
    early_stopping_patience: int = 10
    validation_fraction: float = 0.2
    test_fraction: float = 0.2
    class_weighting: str = "none"
    seed: int = 42
    architecture: str = "mlp"
    conv_filters: list[int] = field(default_factory=lambda: [32, 64])
    augmentation: list[str] = field(default_factory=list)
    # Images (cnn): each block two convolutions with a shortcut (a residual block, He et al. 2016)
    # instead of one; label smoothing of the binary/categorical cross-entropy; the learning rate
    # follows a cosine from its start to near zero over the epochs ('cosine') or stays ('constant').
    residual: bool = False
    label_smoothing: float = 0.0
    lr_schedule: str = "constant"
    # Images: the saved network averages its output over each image and its mirror image.
    test_time_flip: bool = False
    ensemble: int = 1
    # treatment task: > 0 adds a DragonNet-style propensity head with this weight in the loss
    propensity_weight: float = 0.0
    # Tables: the output layer also sees the encoded inputs (wide & deep: logit = w_h·h + w_x·x
    # + b), so the network can fall back to a logistic (linear) model where the data supports it.
    # Off by default: on the 4 tables under 1,000 records it moved the mean test AUC by 0.000-0.002
    # and the ECE by -0.002 to +0.012 (bench/real_tables.py, bench/calibration.py, 2026-11-29).
    linear_skip: bool = False
    # Molecules (a SMILES column): Morgan fingerprint radius, length and kind ('count': log(1 +
    # occurrences) of each environment, or 'bits': present or not), and how records are split —
    # 'scaffold' (Bemis–Murcko: no scaffold in two parts) or 'random'.
    fingerprint_radius: int = 2
    fingerprint_bits: int = 2048
    fingerprint_kind: str = "count"
    molecule_split: str = "scaffold"
    spec_version: int = SPEC_VERSION

    @property
    def molecule_settings(self) -> dict[str, Any]:
        """The molecule featuriser's settings (dlcore.data.molecules.MoleculeSettings) as a dict."""
        return {
            "radius": self.fingerprint_radius,
            "n_bits": self.fingerprint_bits,
            "fingerprint": self.fingerprint_kind,
        }

    def resolved_loss(self, task: str) -> str:
        """The loss for ``task``: the spec's own, or the usual one when the spec leaves it open."""
        return self.loss or DEFAULT_LOSS[task]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        """Build a spec from a dict (a model card's, or parsed JSON); raises InvalidSpecError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidSpecError(
                f"The model spec has unknown setting(s): {', '.join(unknown)}.",
                expected="settings among " + ", ".join(sorted(known)),
                fix="remove or rename them",
            )
        values = dict(data)
        for key in ("hidden_units", "conv_filters", "augmentation"):
            if key in values:
                values[key] = list(values[key])
        spec = cls(**values)
        check_spec(spec)
        return spec

    @classmethod
    def from_json(cls, text: str) -> ModelSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidSpecError(
                f"The model spec is not valid JSON ({exc.msg} at position {exc.pos}).",
                expected='a JSON object such as {"hidden_units": [64, 32]}',
                fix="correct the JSON",
            ) from None
        if not isinstance(data, dict):
            raise InvalidSpecError(
                f"The model spec is a JSON {type(data).__name__}.",
                expected="a JSON object",
                fix="wrap the settings in { }",
            )
        return cls.from_dict(data)


def _bad(name: str, value: Any, expected: str, fix: str = "") -> InvalidSpecError:
    return InvalidSpecError(
        f"'{name}' is {value!r}.",
        expected=expected,
        fix=fix or f"change '{name}' to an allowed value",
    )


def check_spec(spec: ModelSpec, task: str | None = None) -> ModelSpec:
    """Validate every setting (and the loss against ``task`` when given); returns the spec.

    Raises InvalidSpecError naming the setting, what it was, and what is allowed.
    """
    units = spec.hidden_units
    if not isinstance(units, list) or not units or len(units) > 8:
        raise _bad("hidden_units", units, "a list of 1 to 8 layer sizes, such as [64, 32]")
    for u in units:
        if isinstance(u, bool) or not isinstance(u, int) or not 1 <= u <= 4096:
            raise _bad("hidden_units", units, "whole numbers of units between 1 and 4096 per layer")
    if spec.activation not in ACTIVATIONS:
        raise _bad("activation", spec.activation, "one of " + ", ".join(ACTIVATIONS))
    if not 0.0 <= spec.dropout < 0.9:
        raise _bad("dropout", spec.dropout, "a fraction from 0 up to 0.9 (0.1–0.3 is usual)")
    if spec.optimizer not in OPTIMIZERS:
        raise _bad("optimizer", spec.optimizer, "one of " + ", ".join(OPTIMIZERS))
    if not 1e-6 <= spec.learning_rate <= 1.0:
        raise _bad(
            "learning_rate", spec.learning_rate, "a number between 0.000001 and 1 (0.001 for Adam)"
        )
    if not 0.0 <= spec.momentum < 1.0:
        raise _bad("momentum", spec.momentum, "a number from 0 up to 1 (0.9 is usual)")
    if not 0.0 <= spec.weight_decay <= 0.5:
        raise _bad("weight_decay", spec.weight_decay, "a number from 0 to 0.5")
    if (
        isinstance(spec.batch_size, bool)
        or not isinstance(spec.batch_size, int)
        or not 1 <= spec.batch_size <= 65536
    ):
        raise _bad("batch_size", spec.batch_size, "a whole number from 1 to 65536 (32 is usual)")
    if (
        isinstance(spec.epochs, bool)
        or not isinstance(spec.epochs, int)
        or not 1 <= spec.epochs <= 10000
    ):
        raise _bad("epochs", spec.epochs, "a whole number from 1 to 10000")
    if not isinstance(spec.early_stopping_patience, int) or spec.early_stopping_patience < 0:
        raise _bad(
            "early_stopping_patience",
            spec.early_stopping_patience,
            "a whole number, 0 to turn it off",
        )
    if not 0.05 <= spec.validation_fraction <= 0.5:
        raise _bad(
            "validation_fraction", spec.validation_fraction, "a fraction between 0.05 and 0.5"
        )
    if not 0.05 <= spec.test_fraction <= 0.5:
        raise _bad("test_fraction", spec.test_fraction, "a fraction between 0.05 and 0.5")
    if spec.validation_fraction + spec.test_fraction > 0.7:
        raise InvalidSpecError(
            f"Validation ({spec.validation_fraction}) and test ({spec.test_fraction}) fractions leave "
            f"only {1 - spec.validation_fraction - spec.test_fraction:.0%} of records to train on.",
            expected="validation + test of at most 0.7",
            fix="lower one of the two fractions",
        )
    if spec.class_weighting not in CLASS_WEIGHTING:
        raise _bad("class_weighting", spec.class_weighting, "'balanced' or 'none'")
    if isinstance(spec.seed, bool) or not isinstance(spec.seed, int) or spec.seed < 0:
        raise _bad("seed", spec.seed, "a whole number of 0 or more")
    if spec.architecture not in ARCHITECTURES:
        raise _bad("architecture", spec.architecture, "'mlp' or 'cnn'")
    filters = spec.conv_filters
    if not isinstance(filters, list) or not 1 <= len(filters) <= 6:
        raise _bad("conv_filters", filters, "a list of 1 to 6 filter counts, such as [32, 64]")
    for f in filters:
        if isinstance(f, bool) or not isinstance(f, int) or not 1 <= f <= 1024:
            raise _bad(
                "conv_filters", filters, "whole numbers of filters between 1 and 1024 per block"
            )
    if spec.molecule_split not in MOLECULE_SPLITS:
        raise _bad("molecule_split", spec.molecule_split, "'scaffold' or 'random'")
    if spec.fingerprint_kind not in FINGERPRINT_KINDS:
        raise _bad("fingerprint_kind", spec.fingerprint_kind, "'count' or 'bits'")
    if isinstance(spec.fingerprint_radius, bool) or spec.fingerprint_radius not in (1, 2, 3, 4):
        raise _bad("fingerprint_radius", spec.fingerprint_radius, "1, 2, 3 or 4 (2 is ECFP4)")
    if (
        isinstance(spec.fingerprint_bits, bool)
        or not isinstance(spec.fingerprint_bits, int)
        or not 64 <= spec.fingerprint_bits <= 8192
    ):
        raise _bad("fingerprint_bits", spec.fingerprint_bits, "a whole number from 64 to 8192")
    if (
        isinstance(spec.ensemble, bool)
        or not isinstance(spec.ensemble, int)
        or not 1 <= spec.ensemble <= 10
    ):
        raise _bad("ensemble", spec.ensemble, "a whole number of networks from 1 to 10")
    unknown = sorted(set(spec.augmentation) - set(AUGMENTATIONS))
    if unknown:
        raise _bad("augmentation", spec.augmentation, "a list among " + ", ".join(AUGMENTATIONS))
    if not isinstance(spec.residual, bool):
        raise _bad("residual", spec.residual, "true or false")
    if not isinstance(spec.test_time_flip, bool):
        raise _bad("test_time_flip", spec.test_time_flip, "true or false")
    if not isinstance(spec.linear_skip, bool):
        raise _bad("linear_skip", spec.linear_skip, "true or false")
    if isinstance(spec.label_smoothing, bool) or not 0 <= spec.label_smoothing < 0.5:
        raise _bad("label_smoothing", spec.label_smoothing, "a number from 0 to below 0.5")
    if spec.lr_schedule not in LR_SCHEDULES:
        raise _bad("lr_schedule", spec.lr_schedule, "one of " + ", ".join(LR_SCHEDULES))
    if spec.loss is not None:
        all_losses = sorted({loss for group in LOSSES.values() for loss in group})
        if spec.loss not in all_losses:
            raise _bad("loss", spec.loss, "one of " + ", ".join(all_losses))
        if task is not None and spec.loss not in LOSSES[task]:
            raise InvalidSpecError(
                f"Loss '{spec.loss}' does not fit a {task} task.",
                expected="one of " + ", ".join(LOSSES[task]),
                fix="pick one of those, or leave the loss empty for the usual one",
            )
    return spec


def default_spec(task: str, n_rows: int = 1000, *, molecules: bool = False) -> ModelSpec:
    """Sensible defaults for a task and table size: smaller, more regularised networks for small tables.

    With ``molecules`` (a SMILES input: 2,048 Morgan counts and 217 descriptors) an ensemble of 3
    networks of 128→64 units, dropout 0.2, weight decay 0.01, batches of 64. On ESOL's scaffold
    splits (bench/molecules.py, 5 seeds, the same features for all) it beats a random forest:
    RMSE median 0.872 against 0.895, mean 0.856 against 0.910 (one network on these features:
    mean 0.88 in a side experiment; the first build, one network on 0/1 bits and 17
    descriptors: median 0.948 against the forest's 0.891).

    Under 1,000 records a single 16-unit layer with dropout and weight decay generalised best in
    5-fold cross-validation on the Cleveland, Pima and heart-failure tables (bench/real_tables.py):
    heart failure 0.75 ROC AUC against 0.69 with two layers of 32 and 16. Small tables train a
    deep ensemble (5 networks under 1,000 records, 3 under 5,000): on the heart-failure table
    without follow-up time it closed most of the gap to logistic regression on the same splits
    (bench/real_tables.py), at a cost of seconds on such tables.
    """
    if n_rows < 1000:
        spec = ModelSpec(
            hidden_units=[16],
            dropout=0.2,
            weight_decay=0.01,
            batch_size=16,
            epochs=100,
            early_stopping_patience=25,
            ensemble=5,
        )
    elif n_rows < 5000:
        spec = ModelSpec(hidden_units=[64, 32], dropout=0.1, batch_size=32, epochs=60, ensemble=3)
    else:
        spec = ModelSpec(hidden_units=[128, 64], dropout=0.1, batch_size=128, epochs=40)
    if molecules:
        spec.hidden_units, spec.dropout, spec.weight_decay = [128, 64], 0.2, 0.01
        spec.batch_size, spec.epochs = 64, 100
        spec.early_stopping_patience = 15
        spec.ensemble = 3
    if task in ("regression", "survival"):
        spec.class_weighting = "none"
    if task == "survival":
        # The Cox loss compares each event with its risk set inside a batch: larger batches.
        spec.batch_size = max(spec.batch_size, 64)
        spec.early_stopping_patience = max(spec.early_stopping_patience, 15)
    return spec


def default_image_spec(n_images: int, architecture: str = "cnn") -> ModelSpec:
    """Defaults for images: a small residual CNN with a cosine learning rate (or the survey's MLP,
    512 → 256 relu, SGD) for the set size; under 2,000 images an ensemble of 3 networks saved
    as one."""
    if architecture == "mlp":
        return ModelSpec(
            architecture="mlp",
            hidden_units=[512, 256],
            activation="relu",
            dropout=0.0,
            optimizer="sgd",
            learning_rate=0.01,
            batch_size=128,
            epochs=10,
            early_stopping_patience=0,
            class_weighting="none",
        )
    # Residual blocks with a cosine learning rate (issue 16): BreastMNIST test AUC 0.84–0.86 →
    # 0.90–0.92; PneumoniaMNIST 0.975 in 12 epochs, under 10 minutes on 2 loaded CPU cores
    # (bench/medmnist.py). Larger sets get fewer epochs to stay within minutes on CPU.
    # Small sets: single networks' test AUC swings with the seed (BreastMNIST 0.89–0.92), so 3
    # are averaged (BreastMNIST, bench/medmnist.py). Averaging over mirror images too
    # (test_time_flip) left the AUC as it was (mean 0.912 either way over 3 ensembles) and
    # lowered the accuracy at 0.5 (0.855 against 0.870): off. Training augmentation (flip,
    # rotation, zoom) lowered the AUC (0.84–0.88), so there is none.
    small = n_images < 2000
    return ModelSpec(
        architecture="cnn",
        conv_filters=[32, 64, 128],
        hidden_units=[64],
        activation="relu",
        dropout=0.25,
        batch_norm=True,
        residual=True,
        lr_schedule="cosine",
        optimizer="adam",
        learning_rate=1e-3,
        batch_size=32 if small else 64,
        epochs=30 if small else 12,
        early_stopping_patience=10,
        ensemble=3 if small else 1,
    )
