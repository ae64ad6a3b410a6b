"""Custom Keras layers saved inside model files (registered, so safe mode can load them)."""

from __future__ import annotations

from typing import Any

from dlcore.models.keras_runtime import import_keras

keras = import_keras()
ops = keras.ops


@keras.saving.register_keras_serializable(package="dlcore")
class TabularEncoder(keras.layers.Layer):
    """Raw columns in, one numeric vector out: imputation, scaling and one-hot encoding.

    Inputs are one tensor per feature column, shape (batch, 1): floats for numeric columns (NaN or
    infinity = missing) and integer codes from a ``StringLookup`` for categorical ones. ``columns``
    describes each, in order: numeric ``{"name", "kind": "numeric", "fill", "mean", "std",
    "indicator"}`` (missing values become ``fill``, the training median; ``indicator`` adds a 0/1
    "was missing" input) or categorical ``{"name", "kind": "categorical", "size",
    "unknown_as_zero"}`` (models saved before ``unknown_as_zero`` keep a slot for unknown values).
    """

    def __init__(self, columns: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.columns = [dict(c) for c in columns]

    def call(self, inputs: list[Any]) -> Any:
        parts = []
        for column, x in zip(self.columns, inputs, strict=True):
            if column["kind"] == "numeric":
                x = ops.cast(x, "float32")
                missing = ops.logical_not(ops.isfinite(x))
                filled = ops.where(missing, ops.cast(column["fill"], "float32"), x)
                parts.append((filled - column["mean"]) / column["std"])
                if column["indicator"]:
                    parts.append(ops.cast(missing, "float32"))
            elif column["kind"] == "vector":
                # A molecule's fingerprint (kept as it is) then its descriptors, scaled with the
                # training centre and spread (and clipped, when ``clip``); missing values become
                # 0 (the centre).
                x = ops.cast(x, "float32")
                start = int(column["scale_from"])
                tail = (x[:, start:] - ops.convert_to_tensor(column["mean"], "float32")) / (
                    ops.convert_to_tensor(column["std"], "float32")
                )
                if column.get("clip"):
                    tail = ops.clip(tail, -float(column["clip"]), float(column["clip"]))
                x = ops.concatenate([x[:, :start], tail], axis=-1) if start else tail
                parts.append(ops.where(ops.isfinite(x), x, ops.zeros_like(x)))
            else:
                codes = ops.reshape(ops.cast(x, "int32"), (-1,))
                one_hot = ops.one_hot(codes, column["size"], dtype="float32")
                # Code 0 is a value training never saw: its weights would never be trained, so
                # it is encoded as all zeros (no evidence either way) rather than its own slot.
                parts.append(one_hot[:, 1:] if column.get("unknown_as_zero") else one_hot)
        return ops.concatenate(parts, axis=-1) if len(parts) > 1 else parts[0]

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, int]:
        return (None, sum(stop - start for _, start, stop in self.blocks()))

    def blocks(self) -> list[tuple[str, int, int]]:
        """Each column's slice of the encoded vector: (name, start, stop)."""
        out, start = [], 0
        for column in self.columns:
            if column["kind"] == "vector":
                width = int(column["width"])
            elif column["kind"] == "categorical":
                width = column["size"] - int(bool(column.get("unknown_as_zero")))
            else:
                width = 1 + int(column["indicator"])
            out.append((column["name"], start, start + width))
            start += width
        return out

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["columns"] = self.columns
        return config


@keras.saving.register_keras_serializable(package="dlcore")
class TreatmentLoss(keras.losses.Loss):
    """The loss of a treatment-effect network (TARNet / DragonNet).

    ``y_true`` is (batch, 2): the outcome (0/1) and the arm index actually received. ``y_pred`` is
    (batch, arms) risks, one sigmoid head per arm, followed — when ``propensity_weight`` > 0 — by
    (batch, arms) propensity probabilities (softmax). Only the observed arm's head is scored
    (binary cross-entropy); the propensity head adds ``propensity_weight`` times the
    cross-entropy of the arm.
    """

    def __init__(self, arms: int = 2, propensity_weight: float = 0.0, **kwargs: Any) -> None:
        kwargs.setdefault("name", "treatment_loss")
        super().__init__(**kwargs)
        self.arms = int(arms)
        self.propensity_weight = float(propensity_weight)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        outcome = ops.cast(y_true[:, 0], "float32")
        arm = ops.cast(y_true[:, 1], "int32")
        chosen = ops.one_hot(arm, self.arms, dtype="float32")
        risk = ops.sum(y_pred[:, : self.arms] * chosen, axis=-1)
        risk = ops.clip(risk, 1e-7, 1 - 1e-7)
        loss = -(outcome * ops.log(risk) + (1 - outcome) * ops.log(1 - risk))
        if self.propensity_weight > 0:
            propensity = ops.clip(y_pred[:, self.arms : 2 * self.arms], 1e-7, 1.0)
            loss = loss - self.propensity_weight * ops.sum(chosen * ops.log(propensity), axis=-1)
        return loss

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "arms": self.arms,
            "propensity_weight": self.propensity_weight,
        }


@keras.saving.register_keras_serializable(package="dlcore")
class HorizontalFlip(keras.layers.Layer):
    """Mirror images (or feature maps) left to right, always: (batch, H, W, C) in and out.

    Unlike ``keras.layers.RandomFlip`` it is deterministic and active at inference, so a saved
    image network can average its output over the image and its mirror (test-time augmentation,
    ``dlcore.models.image.merge_image_members``).
    """

    def call(self, inputs: Any) -> Any:
        return ops.flip(inputs, axis=2)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape
