"""TabularEncoder: what it computes, and a save/load round trip that gives identical outputs."""

from __future__ import annotations

import numpy as np
import pytest

COLUMNS = [
    {"name": "age", "kind": "numeric", "fill": 60.0, "mean": 55.0, "std": 10.0, "indicator": True},
    {
        "name": "bp",
        "kind": "numeric",
        "fill": 120.0,
        "mean": 130.0,
        "std": 20.0,
        "indicator": False,
    },
    {"name": "smoking", "kind": "categorical", "size": 4, "unknown_as_zero": True},
    {"name": "sex", "kind": "categorical", "size": 3},  # saved before unknown_as_zero
]


@pytest.fixture(scope="module")
def encoder_model():
    from dlcore.models.keras_runtime import import_keras
    from dlcore.models.layers import TabularEncoder

    keras = import_keras()
    inputs = [
        keras.Input(shape=(1,), name="age", dtype="float32"),
        keras.Input(shape=(1,), name="bp", dtype="float32"),
        keras.Input(shape=(1,), name="smoking", dtype="int64"),
        keras.Input(shape=(1,), name="sex", dtype="int64"),
    ]
    encoded = TabularEncoder(COLUMNS, name="encoder")(inputs)
    return keras.Model(inputs, encoded)


@pytest.fixture(scope="module")
def batch():
    return [
        np.array([[65.0], [np.nan], [np.inf]], dtype="float32"),
        np.array([[150.0], [110.0], [np.nan]], dtype="float32"),
        np.array([[1], [0], [3]], dtype="int64"),
        np.array([[2], [0], [1]], dtype="int64"),
    ]


def test_encoder_values_and_blocks(encoder_model, batch):
    out = np.asarray(encoder_model(batch))
    layer = encoder_model.get_layer("encoder")
    assert layer.blocks() == [("age", 0, 2), ("bp", 2, 3), ("smoking", 3, 6), ("sex", 6, 9)]
    assert out.shape == (3, 9)
    # age: (x − mean)/std, missing (NaN, inf) filled with the median 60, and its indicator
    np.testing.assert_allclose(out[:, 0], [1.0, 0.5, 0.5])
    np.testing.assert_allclose(out[:, 1], [0.0, 1.0, 1.0])
    np.testing.assert_allclose(out[:, 2], [1.0, -1.0, -0.5])
    # smoking: code 0 (never seen in training) is all zeros; codes 1..3 one-hot
    np.testing.assert_allclose(out[:, 3:6], [[1, 0, 0], [0, 0, 0], [0, 0, 1]])
    # sex: the old layout keeps a slot for the unknown code
    np.testing.assert_allclose(out[:, 6:9], [[0, 0, 1], [1, 0, 0], [0, 1, 0]])


def test_save_and_load_give_identical_outputs(encoder_model, batch, tmp_path):
    from dlcore.models.keras_runtime import import_keras

    keras = import_keras()
    path = tmp_path / "encoder.keras"
    encoder_model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(np.asarray(loaded(batch)), np.asarray(encoder_model(batch)))
    layer = loaded.get_layer("encoder")
    assert type(layer).__name__ == "TabularEncoder"
    assert layer.columns == COLUMNS
    assert layer.blocks() == encoder_model.get_layer("encoder").blocks()
