"""Image explanations: Grad-CAM, gradient saliency and SHAP heatmaps."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlcore.errors import UserError
from dlcore.models.image import LOGITS_LAYER, last_conv_layer
from dlcore.models.layouts import ImageLayout

logger = logging.getLogger(__name__)
# Expected-gradients samples per image. On a small digits CNN the additivity error fell from
# 8.5 (200 samples) to 4.5 (500) and 2.7 (1000) percentage points, at 1.0, 1.9 and 4.1 s an image.
SHAP_SAMPLES = 500


@dataclass
class ImageExplanation:
    """Where in the image the evidence for one output lies.

    ``heatmap`` (H, W) is scaled to 0–1 (1 = strongest evidence for the explained class);
    ``attributions`` (H, W) keeps the signed values (SHAP: they add up, over the whole image and
    with ``base_value``, to the model's output, within ``additivity_error``).
    """

    method: str
    heatmap: np.ndarray
    attributions: np.ndarray
    output_index: int
    output_name: str
    probabilities: np.ndarray
    base_value: float | None = None
    additivity_error: float | None = None

    def quadrant_shares(self) -> dict[str, float]:
        """Share of the heatmap's mass in each quadrant (top-left, top-right, bottom-left, bottom-right)."""
        h, w = self.heatmap.shape
        total = float(self.heatmap.sum()) or 1.0
        halves = {"top": slice(0, h // 2), "bottom": slice(h // 2, h)}
        sides = {"left": slice(0, w // 2), "right": slice(w // 2, w)}
        return {
            f"{v}-{s}": float(self.heatmap[halves[v], sides[s]].sum() / total)
            for v in halves
            for s in sides
        }


def _normalise(values: np.ndarray) -> np.ndarray:
    values = np.maximum(values, 0.0)
    top = float(values.max())
    return values / top if top > 0 else values


class ImageExplainer:
    """Explains one image model; Grad-CAM needs a convolution layer, the others work everywhere."""

    def __init__(
        self, model: Any, layout: ImageLayout, background: np.ndarray | None, *, seed: int = 0
    ) -> None:
        self.model = model
        self.layout = layout
        self.background = None if background is None else layout.inputs(background)
        self.seed = seed
        self._conv = last_conv_layer(model)
        self._grad_model: Any = None
        self._shap: Any = None
        self._base: np.ndarray | None = None

    @property
    def methods(self) -> list[str]:
        """The methods this model supports, the default first."""
        first = "grad-cam" if self._conv is not None else "saliency"
        # SHAP explains against training images: an uploaded model has none.
        has_background = self.background is not None and len(self.background) > 0
        return [first, "shap"] if has_background else [first]

    def _prepare(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        image = np.asarray(image)
        if image.ndim == 2:
            image = image[:, :, None]
        if tuple(image.shape) != self.layout.shape:
            raise UserError(
                f"The image has shape {tuple(image.shape)}.",
                expected=f"{self.layout.shape} (height, width, channels), as the model was trained",
                fix="read it with the model's size and channels (the app does this for uploads)",
            )
        x = self.layout.inputs(image[None])
        probabilities = np.asarray(self.model(x, training=False))[0]
        return x, probabilities

    def _target(self, probabilities: np.ndarray, output: int | None) -> tuple[int, float, str]:
        """Output index, the sign that makes the score evidence *for* it, and its name."""
        if self.layout.task == "binary":
            positive = self.layout.positive_class or "1"
            negative = next((c for c in self.layout.classes if c != positive), "other")
            predicted_positive = probabilities[0] >= 0.5 if output is None else output == 1
            return (
                0,
                (1.0 if predicted_positive else -1.0),
                (positive if predicted_positive else negative),
            )
        k = int(np.argmax(probabilities)) if output is None else int(output)
        return k, 1.0, self.layout.classes[k]

    def explain(
        self, image: np.ndarray, method: str = "auto", output: int | None = None
    ) -> ImageExplanation:
        """Explain one image (H, W, C raw pixels). ``output`` picks the class (default: predicted).

        ``method`` is 'auto' (Grad-CAM for CNNs, saliency otherwise), 'grad-cam', 'saliency' or
        'shap'. Raises UserError for an image of the wrong shape or a method the model lacks.
        """
        method = self.methods[0] if method == "auto" else method
        if method == "grad-cam":
            return self.grad_cam(image, output)
        if method == "saliency":
            return self.saliency(image, output)
        if method == "shap":
            return self.shap(image, output)
        raise UserError(
            f"Method '{method}' is unknown.",
            expected="auto, grad-cam, saliency or shap",
            fix="pick one of those",
        )

    def grad_cam(self, image: np.ndarray, output: int | None = None) -> ImageExplanation:
        """Grad-CAM (Selvaraju et al. 2017) on the last convolution layer, for the class score."""
        import tensorflow as tf

        from dlcore.models.keras_runtime import import_keras

        if self._conv is None:
            raise UserError(
                "This model has no convolution layer, so Grad-CAM cannot be computed.",
                expected="a CNN for Grad-CAM",
                fix="use gradient saliency or SHAP for this model",
            )
        x, probabilities = self._prepare(image)
        k, sign, name = self._target(probabilities, output)
        if self._grad_model is None:
            keras = import_keras()
            score_layer = next(
                (layer for layer in self.model.layers if layer.name == LOGITS_LAYER), None
            )
            score = score_layer.output if score_layer is not None else self.model.outputs[0]
            self._grad_model = keras.Model(self.model.inputs, [self._conv.output, score])
        tensor = tf.constant(x)
        with tf.GradientTape() as tape:
            activations, scores = self._grad_model(tensor, training=False)
            target = sign * scores[:, k]
        gradients = tape.gradient(target, activations)
        weights = tf.reduce_mean(gradients, axis=(1, 2))
        cam = tf.nn.relu(tf.reduce_sum(activations * weights[:, None, None, :], axis=-1))[..., None]
        cam = tf.image.resize(cam, (self.layout.height, self.layout.width), method="bilinear")
        raw = np.asarray(cam)[0, :, :, 0]
        return ImageExplanation("grad-cam", _normalise(raw), raw, k, name, probabilities)

    def saliency(self, image: np.ndarray, output: int | None = None) -> ImageExplanation:
        """Gradient × input saliency of the class score (for any model, MLPs included)."""
        import tensorflow as tf

        x, probabilities = self._prepare(image)
        k, sign, name = self._target(probabilities, output)
        tensor = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(tensor)
            target = sign * self.model(tensor, training=False)[:, k]
        gradients = np.asarray(tape.gradient(target, tensor))[0]
        raw = (gradients * x[0]).sum(axis=-1)
        return ImageExplanation("saliency", _normalise(raw), raw, k, name, probabilities)

    def shap(
        self, image: np.ndarray, output: int | None = None, nsamples: int = SHAP_SAMPLES
    ) -> ImageExplanation:
        """SHAP values by expected gradients (shap.GradientExplainer) against the training sample.

        Sampled, so additive only approximately; the error is reported (the pages flag a large one).
        """
        import shap

        if self.background is None or len(self.background) == 0:
            raise UserError(
                "There are no reference images to explain against.",
                expected="a background sample of training images",
                fix="retrain the model in this app to get SHAP explanations",
            )
        x, probabilities = self._prepare(image)
        k, sign, name = self._target(probabilities, output)
        if self._shap is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._shap = shap.GradientExplainer(self.model, self.background)
            self._base = np.asarray(self.model(self.background, training=False)).mean(axis=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = np.asarray(self._shap.shap_values(x, nsamples=nsamples, rseed=self.seed))
        # shap returns (n, H, W, C, outputs) for Keras 3 models; older layouts put outputs first.
        if values.ndim == 5:
            per_output = values[0, ..., k]
        elif values.ndim == 4 and self.model.outputs[0].shape[-1] == 1:
            per_output = values[0]
        else:
            per_output = values[k, 0]
        raw = per_output.sum(axis=-1)
        base = float(self._base[k])
        error = abs(float(raw.sum()) + base - float(probabilities[k]))
        return ImageExplanation(
            "shap", _normalise(sign * raw), raw, k, name, probabilities, base, error
        )
