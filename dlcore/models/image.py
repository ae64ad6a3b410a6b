"""Image networks: the survey's MLP on flattened pixels and a small CNN family, with pixel
rescaling and augmentation as Keras layers inside the saved model (it takes raw 0–255 pixels)."""

from __future__ import annotations

from typing import Any

from dlcore.models.keras_runtime import import_keras, set_seed
from dlcore.models.layouts import ImageLayout
from dlcore.models.spec import ModelSpec, check_spec

LOGITS_LAYER = "logits"
# Keras' default 0.99 leaves the moving variance dominated by its initial 1.0 after the few
# hundred steps a small data set gives (0.99^200 ≈ 0.13), and inference breaks.
BN_MOMENTUM = 0.9
INPUT_NAME = "image"


def build_image_model(
    spec: ModelSpec, layout: ImageLayout, steps_per_epoch: int | None = None
) -> Any:
    """Build and compile an image classifier for ``layout`` as ``spec`` says.

    Input: raw pixels (n, H, W, C) 0–255. Layers: rescaling to 0–1, the training-only
    augmentations, then either flatten + dense layers ('mlp') or convolution blocks (convolution,
    optional batch normalisation, activation, 2×2 max pooling) and global average pooling ('cnn'),
    then the dense head, a 'logits' layer and the output activation (sigmoid or softmax).
    ``spec.residual`` makes each block two convolutions plus a shortcut (keras Add; a 1×1
    convolution when the width changes). ``steps_per_epoch`` (batches per epoch) lets
    ``spec.lr_schedule`` 'cosine' decay the learning rate over all the epochs.
    """

    keras = import_keras()
    layers = keras.layers
    check_spec(spec, layout.task)
    set_seed(spec.seed)
    inputs = keras.Input(shape=layout.shape, name=INPUT_NAME, dtype="float32")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    if "flip" in spec.augmentation:
        x = layers.RandomFlip("horizontal", seed=spec.seed, name="augment_flip")(x)
    if "rotation" in spec.augmentation:
        x = layers.RandomRotation(0.05, seed=spec.seed, name="augment_rotation")(x)
    if "zoom" in spec.augmentation:
        x = layers.RandomZoom(0.1, seed=spec.seed, name="augment_zoom")(x)
    if "contrast" in spec.augmentation:
        x = layers.RandomContrast(0.2, seed=spec.seed, name="augment_contrast")(x)
    if spec.architecture == "cnn":
        size = min(layout.height, layout.width)
        for i, filters in enumerate(spec.conv_filters, start=1):
            x = (_residual_block if spec.residual else _plain_block)(layers, spec, x, filters, i)
            # Pool while the map stays at least 8×8: a finer last map localises Grad-CAM better.
            if size // 2 >= 8:
                x = layers.MaxPooling2D(2, name=f"pool_{i}")(x)
                size //= 2
        x = layers.GlobalAveragePooling2D(name="global_pool")(x)
    else:
        x = layers.Flatten(name="flatten")(x)
    for i, units in enumerate(spec.hidden_units, start=1):
        x = layers.Dense(units, name=f"dense_{i}")(x)
        x = layers.Activation(spec.activation, name=f"{spec.activation}_{i}")(x)
        if spec.dropout > 0:
            x = layers.Dropout(spec.dropout, seed=spec.seed + i, name=f"dropout_{i}")(x)
    units = 1 if layout.task == "binary" else len(layout.classes)
    logits = layers.Dense(units, name=LOGITS_LAYER)(x)
    output = layers.Activation(
        "sigmoid" if layout.task == "binary" else "softmax", name="probability"
    )(logits)
    model = keras.Model(inputs, output, name=f"dlcore_image_{spec.architecture}")
    _compile(model, spec, layout.task, steps_per_epoch)
    return model


def _norm_act(layers: Any, spec: ModelSpec, x: Any, name: str, activate: bool = True) -> Any:
    if spec.batch_norm:
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"conv_norm_{name}")(x)
    if activate:
        x = layers.Activation(spec.activation, name=f"conv_{spec.activation}_{name}")(x)
    return x


def _plain_block(layers: Any, spec: ModelSpec, x: Any, filters: int, i: int) -> Any:
    """Convolution, optional batch normalisation, activation."""
    x = layers.Conv2D(filters, 3, padding="same", use_bias=not spec.batch_norm, name=f"conv_{i}")(x)
    return _norm_act(layers, spec, x, str(i))


def _residual_block(layers: Any, spec: ModelSpec, x: Any, filters: int, i: int) -> Any:
    """Two 3×3 convolutions added to a shortcut (a 1×1 convolution when the width changes), then
    the activation: the last block's activation after its Add is what Grad-CAM reads."""
    shortcut = x
    if x.shape[-1] != filters:
        shortcut = layers.Conv2D(
            filters, 1, use_bias=not spec.batch_norm, name=f"conv_{i}_shortcut"
        )(x)
        shortcut = _norm_act(layers, spec, shortcut, f"{i}_shortcut", activate=False)
    bias = not spec.batch_norm
    y = layers.Conv2D(filters, 3, padding="same", use_bias=bias, name=f"conv_{i}a")(x)
    y = _norm_act(layers, spec, y, f"{i}a")
    y = layers.Conv2D(filters, 3, padding="same", use_bias=bias, name=f"conv_{i}")(y)
    y = _norm_act(layers, spec, y, str(i), activate=False)
    x = layers.Add(name=f"residual_{i}")([y, shortcut])
    return layers.Activation(spec.activation, name=f"conv_{spec.activation}_{i}")(x)


def _compile(model: Any, spec: ModelSpec, task: str, steps_per_epoch: int | None) -> None:
    """compile_model, with the image options: label smoothing and a cosine learning rate."""
    import dataclasses

    from dlcore.models.common import compile_model, make_optimizer

    if not spec.label_smoothing and (spec.lr_schedule == "constant" or not steps_per_epoch):
        compile_model(model, spec, task)
        return
    keras = import_keras()
    rate: Any = spec.learning_rate
    if spec.lr_schedule == "cosine" and steps_per_epoch:
        rate = keras.optimizers.schedules.CosineDecay(
            spec.learning_rate, decay_steps=max(1, spec.epochs * steps_per_epoch), alpha=0.01
        )
    optimizer = make_optimizer(dataclasses.replace(spec, learning_rate=rate))
    if task == "binary":
        loss = keras.losses.BinaryCrossentropy(label_smoothing=spec.label_smoothing)
        metrics = [keras.metrics.AUC(name="auc"), keras.metrics.BinaryAccuracy(name="accuracy")]
    else:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=spec.label_smoothing)
        metrics = [keras.metrics.CategoricalAccuracy(name="accuracy")]
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)


ENSEMBLE_FEATURES = "ensemble_features"


def merge_image_members(members: list[Any], spec: ModelSpec, layout: ImageLayout) -> Any:
    """One network whose output is its members' averaged logits, over the image and, with
    ``spec.test_time_flip``, its mirror image too (test-time augmentation).

    Each trained member's convolution part (rescaling to its last feature map) is kept whole as
    a sub-network ('member_1', ...); a mirrored image's feature map is mirrored back, so every
    map lines up with the image. The maps are stacked along channels in one layer,
    'ensemble_features' (what Grad-CAM reads: its map is then the members' and mirrors' average),
    then global average pooling and the members' dense heads side by side (block-diagonal
    weights; the 'logits' layer's weights divided by the number of averaged outputs), as
    ``dlcore.training.fit.merge_members`` does for tables. The result takes raw pixels, predicts
    only (it is not trained further) and saves and loads in safe mode like any image model. One
    member without the mirror is returned as it is.
    """
    import numpy as np
    from scipy.linalg import block_diag

    from dlcore.models.layers import HorizontalFlip

    keras = import_keras()
    layers = keras.layers
    inputs = keras.Input(shape=layout.shape, name=INPUT_NAME, dtype="float32")
    mirrored = HorizontalFlip(name="tta_mirror") if spec.test_time_flip else None
    maps, heads = [], []
    for number, member in enumerate(members, start=1):
        tower = keras.Model(
            member.inputs, member.get_layer("global_pool").input, name=f"member_{number}"
        )
        maps.append(tower(inputs))
        head = [
            member.get_layer(f"dense_{i}").get_weights()
            for i in range(1, len(spec.hidden_units) + 1)
        ]
        heads.append((head, member.get_layer(LOGITS_LAYER).get_weights()))
        if mirrored is not None:
            back = HorizontalFlip(name=f"member_{number}_mirrored_back")
            maps.append(back(tower(mirrored(inputs))))
            heads.append(heads[-1])
    count = len(maps)
    if count == 1:
        return members[0]
    x = layers.Concatenate(axis=-1, name=ENSEMBLE_FEATURES)(maps)
    x = layers.GlobalAveragePooling2D(name="global_pool")(x)
    for i, units in enumerate(spec.hidden_units, start=1):
        dense = layers.Dense(units * count, name=f"dense_{i}")
        x = dense(x)
        kernels, biases = zip(*(head[i - 1] for head, _ in heads), strict=True)
        dense.set_weights([block_diag(*kernels), np.concatenate(biases)])
        x = layers.Activation(spec.activation, name=f"{spec.activation}_{i}")(x)
    kernels, biases = zip(*(out for _, out in heads), strict=True)
    logits_layer = layers.Dense(len(biases[0]), name=LOGITS_LAYER)
    logits = logits_layer(x)
    logits_layer.set_weights(
        [np.concatenate(kernels, axis=0) / count, np.mean(np.stack(biases), axis=0)]
    )
    output = layers.Activation(
        "sigmoid" if layout.task == "binary" else "softmax", name="probability"
    )(logits)
    return keras.Model(inputs, output, name=f"dlcore_image_{spec.architecture}_ensemble")


def last_conv_layer(model: Any) -> Any | None:
    """Where Grad-CAM looks: the output of the last convolution block (after its normalisation
    and activation, before pooling), or None for a model without convolutions (an MLP). In a
    merged ensemble (``merge_image_members``) it is the members' stacked feature maps."""
    layers = list(model.layers)
    merged = next((layer for layer in layers if layer.name == ENSEMBLE_FEATURES), None)
    if merged is not None:
        return merged
    conv_positions = [i for i, layer in enumerate(layers) if type(layer).__name__ == "Conv2D"]
    if not conv_positions:
        return None
    # a residual block ends with the Add of its convolutions and shortcut, then the activation
    last = max(
        [conv_positions[-1]]
        + [i for i, layer in enumerate(layers) if type(layer).__name__ == "Add"]
    )
    chosen = layers[last]
    for layer in layers[last + 1 :]:
        kind = type(layer).__name__
        if kind not in ("BatchNormalization", "Activation", "ReLU"):
            break
        chosen = layer
    return chosen


def image_architecture(model: Any) -> list[dict[str, Any]]:
    """One row per layer: name, type, output shape and parameter count."""
    from dlcore.models.common import architecture_summary

    return architecture_summary(model)
