"""The concepts behind the networks, computed (not drawn by hand) for the Learn page:
activation functions and their derivatives, losses for one prediction, a forward pass through a
tiny network with its numbers, back-propagation by the chain rule next to TensorFlow's automatic
differentiation, and optimizers moving on a 2-D loss surface."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlcore.errors import UserError

ACTIVATION_NAMES = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "silu", "softplus")


def activation_curves(
    names: tuple[str, ...] | list[str] = ACTIVATION_NAMES,
    low: float = -5.0,
    high: float = 5.0,
    points: int = 201,
) -> dict[str, Any]:
    """f(x) and f'(x) of Keras' activations, the derivative by automatic differentiation.

    Returns {'x': [...], name: {'value': [...], 'derivative': [...]}}.
    """
    import tensorflow as tf

    from dlcore.models.keras_runtime import import_keras

    keras = import_keras()
    x = tf.constant(np.linspace(low, high, points), dtype=tf.float32)
    out: dict[str, Any] = {"x": x.numpy().tolist()}
    for name in names:
        if name not in ACTIVATION_NAMES:
            raise UserError(
                f"Activation '{name}' is unknown.",
                expected=", ".join(ACTIVATION_NAMES),
                fix="pick one of those",
            )
        function = keras.activations.get(name)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = function(x)
        out[name] = {
            "value": y.numpy().tolist(),
            "derivative": tape.gradient(y, x).numpy().tolist(),
        }
    return out


def loss_curves(label: int = 1, points: int = 99) -> dict[str, list[float]]:
    """Mean squared error and binary cross-entropy of one prediction p against a 0/1 label, and
    their gradients with respect to p: cross-entropy punishes a confident wrong answer far more."""
    p = np.linspace(0.01, 0.99, points)
    y = float(label)
    mse = (p - y) ** 2
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return {
        "p": p.tolist(),
        "mse": mse.tolist(),
        "cross_entropy": bce.tolist(),
        "mse_gradient": (2 * (p - y)).tolist(),
        "cross_entropy_gradient": ((p - y) / (p * (1 - p))).tolist(),
    }


def _act(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An activation and its derivative in closed form (for the hand-written chain rule)."""
    if name == "sigmoid":
        a = 1 / (1 + np.exp(-z))
        return a, a * (1 - a)
    if name == "tanh":
        a = np.tanh(z)
        return a, 1 - a**2
    if name == "relu":
        return np.maximum(z, 0), (z > 0).astype(float)
    raise UserError(
        f"Activation '{name}' for the tiny network.",
        expected="relu, tanh or sigmoid",
        fix="pick one of those",
    )


@dataclass
class TinyNetwork:
    """x (2 inputs) → 3 hidden neurons a = f(W1·x + b1) → ŷ = sigmoid(W2·a + b2): a risk from two
    measurements, small enough to show every number."""

    w1: np.ndarray = field(default_factory=lambda: np.array([[0.5, -0.3, 0.8], [0.2, 0.7, -0.5]]))
    b1: np.ndarray = field(default_factory=lambda: np.array([0.1, -0.2, 0.05]))
    w2: np.ndarray = field(default_factory=lambda: np.array([[0.6], [-0.4], [0.9]]))
    b2: np.ndarray = field(default_factory=lambda: np.array([-0.1]))
    activation: str = "relu"

    def forward(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Every intermediate value: z1 = W1ᵀx + b1, a1 = f(z1), z2 = W2ᵀa1 + b2, ŷ = sigmoid(z2)."""
        x = np.asarray(x, dtype=np.float64).reshape(1, -1)
        z1 = x @ self.w1 + self.b1
        a1, _ = _act(self.activation, z1)
        z2 = a1 @ self.w2 + self.b2
        y_hat = 1 / (1 + np.exp(-z2))
        return {"x": x, "z1": z1, "a1": a1, "z2": z2, "y_hat": y_hat}

    def loss(self, x: np.ndarray, y: float) -> float:
        """Binary cross-entropy of the prediction for label y."""
        p = float(self.forward(x)["y_hat"][0, 0])
        return -(y * np.log(p) + (1 - y) * np.log(1 - p))

    def backward(self, x: np.ndarray, y: float) -> dict[str, np.ndarray]:
        """Gradients of the cross-entropy by the chain rule, written out by hand.

        dL/dz2 = ŷ − y; dL/dW2 = a1ᵀ·dz2; dL/db2 = dz2; dL/da1 = dz2·W2ᵀ; dL/dz1 = dL/da1 ⊙ f'(z1);
        dL/dW1 = xᵀ·dz1; dL/db1 = dz1.
        """
        values = self.forward(x)
        dz2 = values["y_hat"] - y
        _, derivative = _act(self.activation, values["z1"])
        da1 = dz2 @ self.w2.T
        dz1 = da1 * derivative
        return {
            "w2": values["a1"].T @ dz2,
            "b2": dz2.ravel(),
            "w1": values["x"].T @ dz1,
            "b1": dz1.ravel(),
        }

    def tape_gradients(self, x: np.ndarray, y: float) -> dict[str, np.ndarray]:
        """The same gradients by TensorFlow's automatic differentiation (tf.GradientTape)."""
        import tensorflow as tf

        from dlcore.models.keras_runtime import import_keras

        import_keras()
        variables = {
            k: tf.Variable(getattr(self, k), dtype=tf.float64) for k in ("w1", "b1", "w2", "b2")
        }
        activation = {"relu": tf.nn.relu, "tanh": tf.tanh, "sigmoid": tf.sigmoid}[self.activation]
        inputs = tf.constant(np.asarray(x, dtype=np.float64).reshape(1, -1))
        with tf.GradientTape() as tape:
            hidden = activation(inputs @ variables["w1"] + variables["b1"])
            p = tf.sigmoid(hidden @ variables["w2"] + variables["b2"])
            loss = -(y * tf.math.log(p) + (1 - y) * tf.math.log(1 - p))
        gradients = tape.gradient(loss, variables)
        return {k: v.numpy().reshape(getattr(self, k).shape) for k, v in gradients.items()}

    def step(self, x: np.ndarray, y: float, learning_rate: float) -> TinyNetwork:
        """One gradient-descent step: each weight moves against its gradient."""
        g = self.backward(x, y)
        return TinyNetwork(
            self.w1 - learning_rate * g["w1"],
            self.b1 - learning_rate * g["b1"],
            self.w2 - learning_rate * g["w2"],
            self.b2 - learning_rate * g["b2"],
            self.activation,
        )


SURFACES = {
    "elongated bowl": "0.5·(w₁² + 10·w₂²): steep in one direction, shallow in the other",
    "rosenbrock": "(1 − w₁)² + 5·(w₂ − w₁²)²: a curved valley with its minimum at (1, 1)",
}


def surface_value(name: str, w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """The loss surface's value (NumPy, for the contour plot)."""
    if name == "elongated bowl":
        return 0.5 * (w1**2 + 10 * w2**2)
    if name == "rosenbrock":
        return (1 - w1) ** 2 + 5 * (w2 - w1**2) ** 2
    raise UserError(
        f"Surface '{name}' is unknown.", expected=", ".join(SURFACES), fix="pick one of those"
    )


def surface_grid(
    name: str, low: float = -2.0, high: float = 2.0, points: int = 80
) -> dict[str, Any]:
    """A grid of the surface for a contour plot."""
    axis = np.linspace(low, high, points)
    w1, w2 = np.meshgrid(axis, axis)
    return {"w1": axis.tolist(), "w2": axis.tolist(), "loss": surface_value(name, w1, w2).tolist()}


def optimizer_path(
    optimizer: str,
    surface: str,
    *,
    learning_rate: float,
    steps: int = 60,
    start: tuple[float, float] = (-1.5, 1.5),
    noise: float = 0.0,
    seed: int = 0,
) -> dict[str, list[float]]:
    """The path of a real Keras optimizer ('sgd', 'momentum', 'adam', 'rmsprop') on a 2-D surface.

    ``noise`` adds Gaussian noise to each gradient, as mini-batches do in stochastic gradient
    descent. Returns the visited w1, w2 and loss values.
    """
    import tensorflow as tf

    from dlcore.models.keras_runtime import import_keras

    keras = import_keras()
    makers = {
        "sgd": lambda: keras.optimizers.SGD(learning_rate),
        "momentum": lambda: keras.optimizers.SGD(learning_rate, momentum=0.9),
        "adam": lambda: keras.optimizers.Adam(learning_rate),
        "rmsprop": lambda: keras.optimizers.RMSprop(learning_rate),
    }
    if optimizer not in makers:
        raise UserError(
            f"Optimizer '{optimizer}' is unknown.",
            expected=", ".join(makers),
            fix="pick one of those",
        )
    if not 0 < learning_rate <= 2:
        raise UserError(
            f"Learning rate {learning_rate}.",
            expected="a number above 0 and at most 2",
            fix="choose a smaller step",
        )
    opt = makers[optimizer]()
    w = tf.Variable(np.array(start, dtype=np.float32))
    rng = np.random.default_rng(seed)
    path = {
        "w1": [float(start[0])],
        "w2": [float(start[1])],
        "loss": [float(surface_value(surface, np.float64(start[0]), np.float64(start[1])))],
    }
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = surface_value(surface, w[0], w[1])
        gradient = tape.gradient(loss, w)
        if noise:
            gradient = gradient + tf.constant(rng.normal(0, noise, 2), dtype=tf.float32)
        opt.apply_gradients([(gradient, w)])
        values = w.numpy().astype(float)
        if not np.all(np.isfinite(values)) or np.abs(values).max() > 1e6:
            break  # diverged: the learning rate is too large for this surface
        path["w1"].append(float(values[0]))
        path["w2"].append(float(values[1]))
        path["loss"].append(float(surface_value(surface, values[0], values[1])))
    return path
