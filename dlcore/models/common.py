"""What every network shares: optimizer, compile, the layer summary."""

from __future__ import annotations

from typing import Any

from dlcore.models.keras_runtime import import_keras
from dlcore.models.spec import ModelSpec

CORE_MODEL = "core"
MAIN_METRIC = {"binary": "auc", "multiclass": "accuracy", "regression": "mae", "survival": "loss"}


def make_optimizer(spec: ModelSpec) -> Any:
    """The Keras optimizer the spec names, with its learning rate, momentum and weight decay."""
    keras = import_keras()
    decay = spec.weight_decay or None
    if spec.optimizer == "sgd":
        return keras.optimizers.SGD(spec.learning_rate, momentum=spec.momentum, weight_decay=decay)
    if spec.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(
            spec.learning_rate, momentum=spec.momentum, weight_decay=decay
        )
    if spec.optimizer == "adamw":
        return keras.optimizers.AdamW(spec.learning_rate, weight_decay=spec.weight_decay or 0.004)
    return keras.optimizers.Adam(spec.learning_rate, weight_decay=decay)


def compile_model(model: Any, spec: ModelSpec, task: str) -> None:
    """Compile with the spec's optimizer and loss and the task's metrics."""
    keras = import_keras()
    if task == "binary":
        metrics = [keras.metrics.AUC(name="auc"), keras.metrics.BinaryAccuracy(name="accuracy")]
    elif task == "multiclass":
        metrics = [keras.metrics.CategoricalAccuracy(name="accuracy")]
    elif task == "survival":
        from dlcore.models.survival import cox_partial_likelihood

        model.compile(optimizer=make_optimizer(spec), loss=cox_partial_likelihood)
        return
    else:
        metrics = [keras.metrics.MeanAbsoluteError(name="mae")]
    model.compile(optimizer=make_optimizer(spec), loss=spec.resolved_loss(task), metrics=metrics)


def architecture_summary(model: Any) -> list[dict[str, Any]]:
    """One row per layer: name, type, output shape and parameter count (the core expanded)."""
    rows = []
    for layer in model.layers:
        if layer.name == CORE_MODEL and hasattr(layer, "layers"):
            for inner in layer.layers:
                rows.append(_layer_row(inner))
        else:
            rows.append(_layer_row(layer))
    return rows


def _layer_row(layer: Any) -> dict[str, Any]:
    try:
        shape = tuple(layer.output.shape)
    except (AttributeError, ValueError):
        shape = ()
    return {
        "layer": layer.name,
        "type": type(layer).__name__,
        "output_shape": str(shape).replace("None", "batch"),
        "parameters": int(layer.count_params()) if layer.built else 0,
    }
