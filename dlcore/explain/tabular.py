"""SHAP for tabular models in the record's own column names."""

from __future__ import annotations

import logging
import threading
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dlcore.data.dataset import MISSING_CATEGORY
from dlcore.data.schema import NUMERIC
from dlcore.errors import UserError
from dlcore.models.common import CORE_MODEL
from dlcore.models.layouts import TabularLayout, to_model_inputs
from dlcore.models.tabular import ENCODER_LAYER, run_model
from dlcore.predict import check_records

logger = logging.getLogger(__name__)
DEEP_SAFE_ACTIVATIONS = {"relu", "tanh", "sigmoid", "elu", "selu", "softplus", "linear", "softmax"}
DEEP_SAFE_LAYERS = {
    "InputLayer",
    "Dense",
    "Activation",
    "Dropout",
    "BatchNormalization",
    "Rescaling",
    "Concatenate",  # the linear skip (spec.linear_skip): SHAP's ConcatV2 handler is linear
}
ADDITIVITY_TOLERANCE = 1e-3
# DeepExplainer swaps TensorFlow's gradient registry while it runs: one at a time per process.
_deep_lock = threading.Lock()


@dataclass
class Explanation:
    """SHAP values for some records: ``values`` (n, features, outputs), ``base_values`` (outputs,).

    ``outputs`` (n, outputs) are the model's outputs for the records, ``data`` their typed feature
    values. For every record and output: values.sum(features) + base_value == output.
    """

    values: np.ndarray
    base_values: np.ndarray
    outputs: np.ndarray
    features: list[str]
    output_names: list[str]
    data: pd.DataFrame
    method: str
    task: str
    # Which output the values explain: "network" (the network's own output) or "shown" (the
    # probability the pages show, recalibrated when the model has a recalibration).
    scale: str = "network"
    # Why ``method`` differs from the explainer's own method for this call (None when it does not).
    fallback: str | None = None

    @property
    def additivity_error(self) -> float:
        """The largest |sum of contributions + base value − model output| over records and outputs."""
        if self.values.size == 0:
            return 0.0
        total = self.values.sum(axis=1) + self.base_values[None, :]
        return float(np.max(np.abs(total - self.outputs)))

    def output_index(self, row: int) -> int:
        """The output a summary of ``row`` talks about: the predicted class for multiclass, else 0."""
        return int(np.argmax(self.outputs[row])) if self.task == "multiclass" else 0

    def contributions(self, row: int, output: int | None = None) -> pd.DataFrame:
        """One record's contributions, largest magnitude first: feature, value, contribution."""
        k = self.output_index(row) if output is None else output
        values = self.values[row, :, k]
        frame = pd.DataFrame(
            {
                "feature": self.features,
                "value": [_display_value(v) for v in self.data.iloc[row].tolist()],
                "contribution": values,
            }
        )
        order = np.argsort(-np.abs(values), kind="stable")
        return frame.iloc[order].reset_index(drop=True)

    def importance(self) -> pd.DataFrame:
        """Global importance: mean |SHAP| per feature (summed over classes), largest first."""
        mean_abs = np.abs(self.values).mean(axis=0).sum(axis=1)
        frame = pd.DataFrame({"feature": self.features, "mean_abs_shap": mean_abs})
        return frame.sort_values("mean_abs_shap", ascending=False, kind="stable").reset_index(
            drop=True
        )


def _display_value(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "missing"
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return "missing"
    if isinstance(value, str) and value == MISSING_CATEGORY:
        return "missing"
    return value


class TabularExplainer:
    """SHAP for one tabular model: built once per model (with its background), then fast per call."""

    def __init__(
        self,
        model: Any,
        layout: TabularLayout,
        background: pd.DataFrame,
        *,
        method: str = "auto",
        max_background: int = 100,
        seed: int = 0,
    ) -> None:
        """``background`` holds reference records (typed or raw, as training saw them).

        ``method`` is 'auto', 'deep' or 'permutation'. Raises UserError for an empty background
        or a method the model cannot use.
        """
        if getattr(layout, "molecule_features", []):
            raise UserError(
                "This model reads molecules (SMILES): its explanations are per atom.",
                expected="dlcore.explain.molecules.MoleculeExplainer for molecule models",
                fix="explain it on the Explain page or with `explain --smiles`",
            )
        if background is None or len(background) == 0:
            raise UserError(
                "There are no reference records to explain against.",
                expected="a background sample of training records",
                fix="retrain the model in this app, or explain with a dataset that has its columns",
            )
        self.model = model
        self.layout = layout
        features, _ = check_records(layout, background)
        if len(features) > max_background:
            features = features.sample(max_background, random_state=seed)
        self.background = features.reset_index(drop=True)
        self.seed = seed
        supported = deep_supported(model)
        if method == "auto":
            method = "deep" if supported else "permutation"
        if method == "deep" and not supported:
            raise UserError(
                "DeepExplainer cannot explain this model's layers.",
                expected="a dlcore network with relu, tanh, sigmoid, elu, selu or softplus",
                fix="use method 'permutation' (exact, slower) or 'auto'",
            )
        if method not in ("deep", "permutation"):
            raise UserError(
                f"Method '{method}' is unknown.",
                expected="auto, deep or permutation",
                fix="pick one of those",
            )
        self.method = method
        self._deep: Any = None
        self._encoder: Any = None
        self._blocks: list[tuple[str, int, int]] = []
        self._permutation: Any = None
        self._bg_output: np.ndarray | None = None

    # -- public -----------------------------------------------------------------------------

    def explain(self, records: pd.DataFrame) -> Explanation:
        """Explain records (raw values, as in the training table); returns an Explanation.

        A DeepExplainer result that is not additive falls back to the permutation explainer for
        this call only (the explainer is shared between sessions and never changes its method);
        the Explanation's ``method`` and ``fallback`` say what was used and why.
        Raises SchemaMismatchError when the records do not fit the model.
        """
        features, _ = check_records(self.layout, records)
        if self.method == "deep":
            explanation = self._explain_deep(features)
            error = explanation.additivity_error
            if error > ADDITIVITY_TOLERANCE:
                logger.warning(
                    "DeepExplainer additivity error %.2g; using the permutation explainer", error
                )
                explanation = self._explain_permutation(features)
                explanation.fallback = (
                    f"DeepExplainer was not additive (error {error:.2g}); permutation used"
                )
        else:
            explanation = self._explain_permutation(features)
        explanation.data = records.loc[:, self.layout.names].reset_index(drop=True)
        return explanation

    # -- deep ------------------------------------------------------------------------------------

    def _prepare_deep(self) -> None:
        import shap

        from dlcore.models.keras_runtime import import_keras

        keras = import_keras()
        import tensorflow as tf

        encoder_layer = self.model.get_layer(ENCODER_LAYER)
        encoder = keras.Model(self.model.inputs, encoder_layer.output)
        self._core = self.model.get_layer(CORE_MODEL)
        # Compiled once: an eager call of the encoder costs ~5 ms, the compiled one ~0.4 ms.
        self._encoder = tf.function(
            lambda inputs: encoder(inputs, training=False), reduce_retracing=True
        )
        self._core_fn = tf.function(lambda x: self._core(x, training=False), reduce_retracing=True)
        self._blocks = encoder_layer.blocks()
        encoded_bg = self._encode(self.background)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._deep = shap.DeepExplainer(self._core, encoded_bg)
        self._deep_base = np.atleast_1d(
            np.asarray(self._deep.expected_value, dtype=np.float64)
        ).ravel()

    def _encode(self, features: pd.DataFrame) -> np.ndarray:
        import tensorflow as tf

        inputs = {k: tf.constant(v) for k, v in to_model_inputs(self.layout, features).items()}
        return np.asarray(self._encoder(inputs), dtype=np.float32)

    def _explain_deep(self, features: pd.DataFrame) -> Explanation:
        from tensorflow.python.eager import execute as tf_execute

        if self._deep is None:
            self._prepare_deep()
        encoded = self._encode(features)
        original = tf_execute.record_gradient
        with _deep_lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                raw = self._deep.shap_values(encoded, check_additivity=False)
            finally:
                # shap leaves its patch in place when the model call raises; undo it always.
                tf_execute.record_gradient = original
        raw = np.asarray(raw, dtype=np.float64)
        if raw.ndim == 2:
            raw = raw[:, :, None]
        values = np.stack(
            [raw[:, start:stop, :].sum(axis=1) for _, start, stop in self._blocks], axis=1
        )
        outputs = np.asarray(self._core_fn(encoded), dtype=np.float64)
        return Explanation(
            values=values,
            base_values=self._deep_base,
            outputs=outputs,
            features=self.layout.names,
            output_names=self.layout.output_names,
            data=features,
            method="deep",
            task=self.layout.task,
        )

    # -- permutation ------------------------------------------------------------------------------

    def _to_matrix(self, features: pd.DataFrame) -> np.ndarray:
        columns = []
        for info in self.layout.features:
            if info.kind == NUMERIC:
                columns.append(features[info.name].to_numpy(dtype=np.float64))
            else:
                index = {c: i for i, c in enumerate(info.categories)}
                columns.append(
                    np.array([index.get(v, -1) for v in features[info.name]], dtype=np.float64)
                )
        return np.stack(columns, axis=1)

    def _from_matrix(self, matrix: np.ndarray) -> dict[str, np.ndarray]:
        inputs = {}
        for j, info in enumerate(self.layout.features):
            column = matrix[:, j]
            if info.kind == NUMERIC:
                inputs[info.input] = column.astype(np.float32).reshape(-1, 1)
            else:
                lookup = np.asarray([*info.categories, "(unknown)"], dtype=object)
                codes = np.where(column < 0, len(info.categories), column).astype(int)
                inputs[info.input] = lookup[codes].astype(str).reshape(-1, 1)
        return inputs

    def _model_on_matrix(self, matrix: np.ndarray) -> np.ndarray:
        return run_model(self.model, self._from_matrix(matrix), batch_size=65536).astype(np.float64)

    def _explain_permutation(self, features: pd.DataFrame) -> Explanation:
        import shap

        n_features = len(self.layout.features)
        if self._permutation is None:
            masker = shap.maskers.Independent(
                self._to_matrix(self.background), max_samples=len(self.background)
            )
            self._permutation = shap.PermutationExplainer(
                self._model_on_matrix, masker, seed=self.seed
            )
        matrix = self._to_matrix(features)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = self._permutation(matrix, max_evals=max(500, 2 * n_features + 1), silent=True)
        values = np.asarray(result.values, dtype=np.float64)
        if values.ndim == 2:
            values = values[:, :, None]
        base = np.asarray(result.base_values, dtype=np.float64).reshape(len(features), -1)[0]
        outputs = self._model_on_matrix(matrix)
        return Explanation(
            values=values,
            base_values=base,
            outputs=outputs,
            features=self.layout.names,
            output_names=self.layout.output_names,
            data=features,
            method="permutation",
            task=self.layout.task,
        )


def deep_supported(model: Any) -> bool:
    """Whether DeepExplainer handles every layer of the model's core (dlcore models only)."""
    try:
        core = model.get_layer(CORE_MODEL)
        model.get_layer(ENCODER_LAYER)
    except ValueError:
        return False
    for layer in core.layers:
        kind = type(layer).__name__
        if kind not in DEEP_SAFE_LAYERS:
            return False
        activation = getattr(layer, "activation", None)
        if (
            activation is not None
            and getattr(activation, "__name__", "") not in DEEP_SAFE_ACTIVATIONS
        ):
            return False
    return True
