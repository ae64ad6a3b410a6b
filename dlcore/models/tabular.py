"""The tabular network: raw records in (preprocessing inside the model), a prediction out."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dlcore.data.schema import CATEGORICAL, MOLECULE, NUMERIC, Schema
from dlcore.errors import SchemaMismatchError
from dlcore.models.common import CORE_MODEL, compile_model
from dlcore.models.keras_runtime import import_keras, set_seed
from dlcore.models.layouts import FeatureInfo, TabularLayout, input_names
from dlcore.models.spec import ModelSpec, check_spec

ENCODER_LAYER = "encoded"
SKIP_LAYER = "linear_skip"
# The output Dense of each task (dlcore.training.fit relies on these names: OUTPUT_DENSE,
# and the ensemble merge below).
OUTPUT_LAYERS = ("probability", "probabilities", "log_risk", "standardised")
# Keras' default 0.99 leaves the moving variance dominated by its initial 1.0 after the few
# hundred steps a small clinical data set gives (0.99^200 ≈ 0.13): inference then breaks.
BN_MOMENTUM = 0.9


def build_tabular_model(
    spec: ModelSpec, layout: TabularLayout, features: pd.DataFrame, y: np.ndarray
) -> Any:
    """Build and compile the Keras model for ``layout``, fitting preprocessing on ``features``.

    ``features`` and ``y`` are the training split only (statistics from validation or test records
    would leak). The model takes a dict of raw inputs (one per column, shape (n, 1)) and returns a
    probability (binary), class probabilities (multiclass) or the value (regression).
    """
    keras = import_keras()
    from dlcore.models.layers import TabularEncoder

    check_spec(spec, layout.task)
    set_seed(spec.seed)
    inputs: dict[str, Any] = {}
    columns: list[dict[str, Any]] = []
    tensors = []
    for info in layout.features:
        if info.kind == MOLECULE:
            inp, column = _molecule_input(keras, info, features)
            columns.append(column)
            tensors.append(inp)
        elif info.kind == NUMERIC:
            inp = keras.Input(shape=(1,), name=info.input, dtype="float32")
            values = features[info.name].to_numpy(dtype=np.float64)
            finite = values[np.isfinite(values)]
            fill = float(np.median(finite)) if len(finite) else 0.0
            filled = np.where(np.isfinite(values), values, fill)
            std = float(filled.std())
            columns.append(
                {
                    "name": info.name,
                    "kind": NUMERIC,
                    "fill": fill,
                    "mean": float(filled.mean()),
                    "std": std if std > 1e-12 else 1.0,
                    "indicator": bool(len(finite) < len(values)),
                }
            )
            tensors.append(inp)
        else:
            inp = keras.Input(shape=(1,), name=info.input, dtype="string")
            lookup = keras.layers.StringLookup(
                vocabulary=info.categories,
                num_oov_indices=1,
                output_mode="int",
                name=f"lookup_{info.input}",
            )
            columns.append(
                {
                    "name": info.name,
                    "kind": CATEGORICAL,
                    "size": len(info.categories) + 1,
                    "unknown_as_zero": True,
                }
            )
            tensors.append(lookup(inp))
        inputs[info.input] = inp
    encoded = TabularEncoder(columns, name=ENCODER_LAYER)(tensors)
    core = _build_core(keras, spec, layout, int(encoded.shape[-1]), y)
    model = keras.Model(inputs=inputs, outputs=core(encoded), name="dlcore_tabular")
    compile_model(model, spec, layout.task)
    return model


def _molecule_input(keras: Any, info: FeatureInfo, features: pd.DataFrame) -> tuple[Any, dict]:
    """A molecule column's input (fingerprint then descriptors, featurised before the model
    call) and its encoder entry: descriptors scaled robustly with the training median and
    interquartile spread, then clipped (a few descriptors have extreme values)."""
    from dlcore.data.molecules import DESCRIPTOR_CLIP, MoleculeSettings, featurise, robust_scale

    settings = MoleculeSettings.from_dict(info.molecule)
    matrix = featurise([str(v) for v in features[info.name]], settings).astype(np.float64)
    centre, scale = robust_scale(matrix[:, settings.n_bits :])
    inp = keras.Input(shape=(settings.width,), name=info.input, dtype="float32")
    column = {
        "name": info.name,
        "kind": "vector",
        "width": settings.width,
        "scale_from": settings.n_bits,
        "mean": [float(v) for v in centre],
        "std": [float(v) for v in scale],
        "clip": DESCRIPTOR_CLIP,
    }
    return inp, column


def _build_core(
    keras: Any, spec: ModelSpec, layout: TabularLayout, width: int, y: np.ndarray
) -> Any:
    layers = keras.layers
    x_in = keras.Input(shape=(width,), name="encoded_features")
    x = x_in
    for i, units in enumerate(spec.hidden_units, start=1):
        x = layers.Dense(units, name=f"dense_{i}")(x)
        if spec.batch_norm:
            x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"batch_norm_{i}")(x)
        x = layers.Activation(spec.activation, name=f"{spec.activation}_{i}")(x)
        if spec.dropout > 0:
            x = layers.Dropout(spec.dropout, seed=spec.seed + i, name=f"dropout_{i}")(x)
    if spec.linear_skip:
        # Wide & deep: the output layer sees the encoded inputs beside the last hidden layer
        # (logit = w_h·h + w_x·x + b), so a linear (logistic) model is one of its solutions.
        x = layers.Concatenate(name=SKIP_LAYER)([x, x_in])
    if layout.task == "binary":
        out = layers.Dense(1, activation="sigmoid", name="probability")(x)
    elif layout.task == "multiclass":
        out = layers.Dense(len(layout.classes), activation="softmax", name="probabilities")(x)
    elif layout.task == "survival":
        out = layers.Dense(1, name="log_risk")(x)  # the Cox model's log relative risk η(x)
    else:
        # The network learns the standardised outcome; this layer returns it in its own units.
        mean, std = float(np.mean(y)), float(np.std(y)) or 1.0
        out = layers.Dense(1, name="standardised")(x)
        out = layers.Rescaling(scale=std, offset=mean, name="prediction")(out)
    return keras.Model(x_in, out, name=CORE_MODEL)


def merged_output_weights(
    kernels: list[np.ndarray], biases: list[np.ndarray], spec: ModelSpec
) -> list[np.ndarray]:
    """The output layer's weights of one network that averages ``len(kernels)`` members' log-odds
    (log-risk, value), the members' hidden units side by side (as ``merge_members`` lays them).

    ``spec`` is a member's spec. The hidden rows of each kernel are stacked and divided by the
    number of members; with ``spec.linear_skip`` the rows of the encoded inputs (shared by all
    members: they come last, once) are averaged instead.
    """
    count = len(kernels)
    bias = np.mean(biases, axis=0)
    if not spec.linear_skip:
        return [np.concatenate(kernels, axis=0) / count, bias]
    units = spec.hidden_units[-1]
    hidden = np.concatenate([k[:units] for k in kernels], axis=0) / count
    skip = np.mean([k[units:] for k in kernels], axis=0)
    return [np.concatenate([hidden, skip], axis=0), bias]


def merge_tabular_members(
    members: list[Any], spec: ModelSpec, layout: Any, train_features: pd.DataFrame, y: np.ndarray
) -> Any:
    """One network equal to the ensemble that averages its members' log-odds (log-risk, value):
    hidden layers side by side (block-diagonal weights), the output layer's weights from
    ``merged_output_weights`` (a linear skip's rows averaged). It is an ordinary dlcore tabular
    network (saved, explained and predicted like any other), with ``len(members)`` times the
    hidden units of one member; ``dlcore.training.fit`` merges its ensembles with it."""
    import copy

    from scipy.linalg import block_diag

    from dlcore.models.common import CORE_MODEL

    count = len(members)
    wide = copy.deepcopy(spec)
    wide.hidden_units = [units * count for units in spec.hidden_units]
    wide.ensemble = 1
    set_seed(spec.seed)
    merged = build_tabular_model(wide, layout, train_features, y)
    core = merged.get_layer(CORE_MODEL)
    cores = [m.get_layer(CORE_MODEL) for m in members]
    for i in range(1, len(spec.hidden_units) + 1):
        kernels, biases = zip(
            *(c.get_layer(f"dense_{i}").get_weights() for c in cores), strict=True
        )
        kernel = np.concatenate(kernels, axis=1) if i == 1 else block_diag(*kernels)
        core.get_layer(f"dense_{i}").set_weights([kernel, np.concatenate(biases)])
        if spec.batch_norm:
            parts = [c.get_layer(f"batch_norm_{i}").get_weights() for c in cores]
            core.get_layer(f"batch_norm_{i}").set_weights(
                [np.concatenate([p[j] for p in parts]) for j in range(len(parts[0]))]
            )
    names = {layer.name for layer in core.layers}
    output = next(name for name in OUTPUT_LAYERS if name in names)
    kernels, biases = zip(*(c.get_layer(output).get_weights() for c in cores), strict=True)
    core.get_layer(output).set_weights(merged_output_weights(list(kernels), list(biases), spec))
    return merged


def run_model(
    model: Any, inputs: dict[str, np.ndarray] | np.ndarray, batch_size: int = 8192
) -> np.ndarray:
    """Run the model on its inputs (a dict of arrays, or one array) in batches.

    No ``model.predict``: it builds a dataset on each call. Returns an array (n, outputs).
    """
    import tensorflow as tf

    n = len(next(iter(inputs.values()))) if isinstance(inputs, dict) else len(inputs)
    chunks = []
    for start in range(0, max(n, 1), batch_size):
        if isinstance(inputs, dict):
            batch = {
                key: tf.constant(value[start : start + batch_size]) for key, value in inputs.items()
            }
        else:
            batch = tf.constant(inputs[start : start + batch_size])
        chunks.append(np.asarray(model(batch, training=False)))
    return np.concatenate(chunks, axis=0) if chunks else np.zeros((0, 1), dtype=np.float32)


def layout_from_model(model: Any) -> Any:
    """Read a layout back from a model that has no card (an upload built by dlcore or similar).

    A single (n, H, W, C) input makes an image layout. Raises SchemaMismatchError when the inputs
    are neither that nor one (n, 1) input per column.
    """
    if len(model.inputs) == 1 and len(tuple(model.inputs[0].shape)) == 4:
        from dlcore.models.layouts import ImageLayout

        _, height, width, channels = tuple(model.inputs[0].shape)
        if None in (height, width, channels):
            raise SchemaMismatchError(
                f"The model's image input has shape {tuple(model.inputs[0].shape)}.",
                expected="a fixed image size (height, width, channels)",
                fix="build the model with a fixed input shape",
            )
        base = _with_task(model, [])
        return ImageLayout(
            int(height), int(width), int(channels), base.task, base.classes, base.positive_class
        )
    encoder = _find_layer(model, ENCODER_LAYER)
    if encoder is not None and hasattr(encoder, "columns"):
        # A dlcore model: the encoder keeps the original column names, in order.
        names = [c["name"] for c in encoder.columns]
        inputs = input_names(names)
        features = [
            FeatureInfo(name, inputs[name], NUMERIC)
            if column["kind"] == NUMERIC
            else FeatureInfo(
                name, inputs[name], CATEGORICAL, categories=_vocabulary(model, inputs[name])
            )
            for name, column in zip(names, encoder.columns, strict=True)
        ]
        return _with_task(model, features)
    features = []
    for tensor in model.inputs:
        name = tensor.name.split(":")[0]
        shape = tuple(tensor.shape)
        if len(shape) != 2 or shape[1] != 1:
            raise SchemaMismatchError(
                f"The model's input '{name}' has shape {shape}.",
                expected="one input per record column, each of shape (None, 1), as dlcore builds them",
                fix="upload a model trained in this app, or one with per-column inputs",
            )
        if "string" in str(tensor.dtype):
            features.append(
                FeatureInfo(name, name, CATEGORICAL, categories=_vocabulary(model, name))
            )
        else:
            features.append(FeatureInfo(name, name, NUMERIC))
    return _with_task(model, features)


def _vocabulary(model: Any, input_name: str) -> list[str]:
    lookup = _find_layer(model, f"lookup_{input_name}")
    if lookup is None:
        return []
    return [str(v) for v in lookup.get_vocabulary() if v != "[UNK]"]


def _with_task(model: Any, features: list[FeatureInfo]) -> TabularLayout:
    out_units = int(model.outputs[0].shape[-1])
    last = model.layers[-1]
    activation = getattr(getattr(last, "layers", [last])[-1], "activation", None)
    activation_name = getattr(activation, "__name__", "")
    if out_units > 1:
        task, classes = "multiclass", [f"class_{i}" for i in range(out_units)]
    elif activation_name == "sigmoid":
        task, classes = "binary", ["0", "1"]
    else:
        task, classes = "regression", []
    return TabularLayout(features, task, classes, "1" if task == "binary" else None)


def _find_layer(model: Any, name: str) -> Any:
    for layer in model.layers:
        if layer.name == name:
            return layer
    return None


def architecture_preview(
    spec: ModelSpec, schema: Schema, frame: pd.DataFrame
) -> list[dict[str, Any]]:
    """The layers a spec would build for a table, with output widths and parameter counts.

    Computed without Keras (so the Train page can preview instantly); the widths follow the
    builder: one input per numeric column (plus a missing-value indicator when it has gaps) and
    one per category (plus one for unseen values) per categorical column.
    """
    from dlcore.data.dataset import category_text, model_kind

    width = 0
    for col in schema.features:
        series = frame[col.name]
        if model_kind(col, series) == MOLECULE:
            from dlcore.data.molecules import MoleculeSettings

            width += MoleculeSettings.from_dict(getattr(spec, "molecule_settings", None)).width
        elif model_kind(col, series) == NUMERIC:
            width += 1 + int(bool(series.isna().any()))
        else:
            width += len({category_text(v) for v in series})  # unknown values: all zeros
    rows = [
        {
            "layer": f"{len(schema.features)} inputs",
            "type": "raw record columns",
            "output_shape": "one value per column",
            "parameters": 0,
        },
        {
            "layer": ENCODER_LAYER,
            "type": "impute · scale · one-hot",
            "output_shape": f"(batch, {width})",
            "parameters": 0,
        },
    ]
    previous = width
    for i, units in enumerate(spec.hidden_units, start=1):
        rows.append(
            {
                "layer": f"dense_{i}",
                "type": f"Dense + {spec.activation}",
                "output_shape": f"(batch, {units})",
                "parameters": previous * units + units,
            }
        )
        if spec.batch_norm:
            rows.append(
                {
                    "layer": f"batch_norm_{i}",
                    "type": "BatchNormalization",
                    "output_shape": f"(batch, {units})",
                    "parameters": 4 * units,
                }
            )
        if spec.dropout > 0:
            rows.append(
                {
                    "layer": f"dropout_{i}",
                    "type": f"Dropout {spec.dropout:g}",
                    "output_shape": f"(batch, {units})",
                    "parameters": 0,
                }
            )
        previous = units
    if spec.linear_skip:
        previous += width
        rows.append(
            {
                "layer": SKIP_LAYER,
                "type": f"Concatenate (last hidden layer + the {width} encoded inputs)",
                "output_shape": f"(batch, {previous})",
                "parameters": 0,
            }
        )
    task = schema.task or "binary"
    outputs = len(schema.classes) if task == "multiclass" else 1
    kind = {
        "binary": "Dense + sigmoid",
        "multiclass": "Dense + softmax",
        "regression": "Dense (linear, rescaled)",
        "survival": "Dense (linear: log relative risk)",
    }[task]
    rows.append(
        {
            "layer": "output",
            "type": kind,
            "output_shape": f"(batch, {outputs})",
            "parameters": previous * outputs + outputs,
        }
    )
    return rows
