"""The Learn page's engine and the survey's reference example: chain rule against GradientTape,
activation derivatives, optimizers on a surface, MNIST's IDX format, the seed example's CLI."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from dlcore.errors import BadUploadError, UserError
from dlcore.teach.concepts import TinyNetwork, activation_curves, loss_curves, optimizer_path

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_chain_rule_gradients_agree_with_gradient_tape(activation):
    rng = np.random.default_rng(0)
    network = TinyNetwork(
        rng.normal(0, 1, (2, 3)),
        rng.normal(0, 0.5, 3),
        rng.normal(0, 1, (3, 1)),
        rng.normal(0, 0.5, 1),
        activation,
    )
    for x, y in (([0.7, -1.2], 1.0), ([-0.3, 2.0], 0.0)):
        by_hand, by_tape = network.backward(np.array(x), y), network.tape_gradients(np.array(x), y)
        for name in ("w1", "b1", "w2", "b2"):
            np.testing.assert_allclose(
                by_hand[name].reshape(by_tape[name].shape), by_tape[name], atol=1e-12
            )


def test_forward_pass_numbers_and_a_descent_step():
    network = TinyNetwork()
    x = np.array([1.0, 2.0])
    values = network.forward(x)
    np.testing.assert_allclose(
        values["z1"],
        [
            [
                1.0 * 0.5 + 2.0 * 0.2 + 0.1,
                1.0 * -0.3 + 2.0 * 0.7 - 0.2,
                1.0 * 0.8 + 2.0 * -0.5 + 0.05,
            ]
        ],
    )
    np.testing.assert_allclose(values["a1"], np.maximum(values["z1"], 0))
    assert 0 < values["y_hat"][0, 0] < 1
    stepped = network.step(x, 1.0, learning_rate=0.5)
    assert stepped.loss(x, 1.0) < network.loss(x, 1.0)


def test_activation_derivatives_by_autodiff_match_closed_forms():
    curves = activation_curves(["sigmoid", "tanh", "relu"], points=11)
    x = np.asarray(curves["x"])
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(curves["sigmoid"]["derivative"], s * (1 - s), atol=1e-6)
    np.testing.assert_allclose(curves["tanh"]["derivative"], 1 - np.tanh(x) ** 2, atol=1e-6)
    np.testing.assert_allclose(curves["relu"]["value"], np.maximum(x, 0), atol=1e-6)
    with pytest.raises(UserError):
        activation_curves(["swishy"])


def test_cross_entropy_punishes_confident_mistakes_more_than_mse():
    curves = loss_curves(label=1)
    worst = 0  # p = 0.01 for a true positive
    assert curves["cross_entropy"][worst] > 4 > curves["mse"][worst]
    assert abs(curves["cross_entropy_gradient"][worst]) > 10 * abs(curves["mse_gradient"][worst])


def test_optimizers_descend_and_too_large_steps_diverge():
    for optimizer in ("sgd", "momentum", "adam", "rmsprop"):
        path = optimizer_path(optimizer, "elongated bowl", learning_rate=0.05, steps=80)
        assert path["loss"][-1] < path["loss"][0] / 5, optimizer
    stable = optimizer_path("sgd", "elongated bowl", learning_rate=0.15, steps=40)
    diverging = optimizer_path("sgd", "elongated bowl", learning_rate=0.25, steps=40)  # 10·0.25 > 2
    assert stable["loss"][-1] < 1e-3 and diverging["loss"][-1] > diverging["loss"][0]
    noisy = optimizer_path("sgd", "rosenbrock", learning_rate=0.01, steps=30, noise=1.0, seed=3)
    assert noisy == optimizer_path(
        "sgd", "rosenbrock", learning_rate=0.01, steps=30, noise=1.0, seed=3
    )
    with pytest.raises(UserError):
        optimizer_path("lbfgs", "rosenbrock", learning_rate=0.1)


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    return header + array.astype(np.uint8).tobytes()


def test_mnist_idx_files_gzipped_or_not():
    from dlcore.data.images import read_mnist_idx

    rng = np.random.default_rng(0)
    train_x, train_y = rng.integers(0, 255, (50, 28, 28)), rng.integers(0, 10, 50)
    test_x, test_y = rng.integers(0, 255, (20, 28, 28)), rng.integers(0, 10, 20)
    dataset = read_mnist_idx(
        {
            "train-images-idx3-ubyte.gz": gzip.compress(_idx(train_x)),
            "train-labels-idx1-ubyte": _idx(train_y),
            "t10k-images-idx3-ubyte": _idx(test_x),
            "t10k-labels-idx1-ubyte.gz": gzip.compress(_idx(test_y)),
        }
    )
    assert dataset.images.shape == (70, 28, 28, 1)
    np.testing.assert_array_equal(dataset.images[:50, :, :, 0], train_x)
    assert [len(dataset.predefined_split[k]) for k in ("train", "validation", "test")] == [
        45,
        5,
        20,
    ]
    np.testing.assert_array_equal(dataset.labels[dataset.predefined_split["test"]], test_y)
    with pytest.raises(BadUploadError, match="labels"):
        read_mnist_idx({"train-images-idx3-ubyte": _idx(train_x)})
    with pytest.raises(BadUploadError, match="truncated"):
        read_mnist_idx(
            {
                "train-images-idx3-ubyte": _idx(train_x)[:-10],
                "train-labels-idx1-ubyte": _idx(train_y),
            }
        )


def test_seed_example_cli(tmp_path):
    from apptools import run_cli_in_process  # main() in this process: no TensorFlow start

    out = run_cli_in_process(tmp_path, "seed-example", "--epochs", "3", "--json")
    assert out.returncode == 0, out.stderr[-1500:]
    payload = json.loads(out.stdout)
    assert payload["epochs"] == 3 and len(payload["history"]["loss"]) == 3
    assert payload["history"]["loss"][-1] < payload["history"]["loss"][0]
    assert (
        payload["test_accuracy"] > 0.3
    )  # ten classes: chance is 0.1; three SGD epochs learn a lot
