"""Treatment-effect networks: a shared representation with one outcome head per arm (TARNet,
Shalit et al. 2017), optionally a propensity head (DragonNet, Shi et al. 2019).

The model takes the same raw-record inputs as the tabular network (preprocessing inside) and
returns (n, arms) risks — one sigmoid head per arm — followed, with a propensity head, by (n, arms)
propensity probabilities. It is built from standard layers only (no Lambda), so it reloads in
safe mode; the loss (``dlcore.models.layers.TreatmentLoss``) scores only the observed arm's head.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dlcore.models.common import make_optimizer
from dlcore.models.keras_runtime import import_keras, set_seed
from dlcore.models.layouts import TabularLayout
from dlcore.models.spec import ModelSpec

RISKS_LAYER = "risks"
REPRESENTATION_LAYER = "representation"


def build_treatment_model(
    spec: ModelSpec, layout: TabularLayout, features: pd.DataFrame, y: np.ndarray, arms: int
) -> Any:
    """Build and compile the treatment-effect network for ``layout`` with ``arms`` outcome heads.

    Preprocessing is fitted on ``features`` (the training part). Hidden layers of ``spec`` form the
    shared representation; each head has one hidden layer of half the last width. Batch
    normalisation is not used (the intervals come from Monte-Carlo dropout).
    """
    keras = import_keras()
    from dlcore.models.layers import TreatmentLoss
    from dlcore.models.tabular import ENCODER_LAYER, build_tabular_model

    set_seed(spec.seed)
    base_layout = TabularLayout(layout.features, "binary", ["0", "1"], "1", layout.target)
    base_spec = ModelSpec.from_dict({**spec.to_dict(), "batch_norm": False, "loss": None})
    base = build_tabular_model(base_spec, base_layout, features, y)
    encoded = base.get_layer(ENCODER_LAYER).output
    layers = keras.layers
    x = encoded
    for i, units in enumerate(spec.hidden_units, start=1):
        x = layers.Dense(units, activation=spec.activation, name=f"shared_{i}")(x)
        if spec.dropout > 0:
            x = layers.Dropout(spec.dropout, seed=spec.seed + i, name=f"shared_dropout_{i}")(x)
    representation = layers.Identity(name=REPRESENTATION_LAYER)(x)
    head_units = max(4, spec.hidden_units[-1] // 2)
    heads = []
    for arm in range(arms):
        h = layers.Dense(head_units, activation=spec.activation, name=f"head_{arm}_hidden")(
            representation
        )
        if spec.dropout > 0:
            h = layers.Dropout(
                spec.dropout, seed=spec.seed + 100 + arm, name=f"head_{arm}_dropout"
            )(h)
        heads.append(layers.Dense(1, activation="sigmoid", name=f"risk_arm_{arm}")(h))
    outputs = [layers.Concatenate(name=RISKS_LAYER)(heads)]
    if spec.propensity_weight > 0:
        outputs.append(layers.Dense(arms, activation="softmax", name="propensity")(representation))
    out = layers.Concatenate(name="treatment_outputs")(outputs) if len(outputs) > 1 else outputs[0]
    model = keras.Model(inputs=base.inputs, outputs=out, name="dlcore_treatment")
    model.compile(
        optimizer=make_optimizer(spec),
        loss=TreatmentLoss(arms=arms, propensity_weight=spec.propensity_weight),
    )
    return model


def treatment_targets(y: np.ndarray, arm: np.ndarray) -> np.ndarray:
    """The (n, 2) targets the loss takes: the outcome and the arm index received."""
    return np.stack([np.asarray(y, np.float32), np.asarray(arm, np.float32)], axis=1)


def arm_risks(model: Any, inputs: dict[str, np.ndarray], arms: int) -> np.ndarray:
    """Each record's risk under each arm, (n, arms), from the heads (dropout off)."""
    from dlcore.models.tabular import run_model

    return run_model(model, inputs)[:, :arms]


def risk_samples(
    model: Any, inputs: dict[str, np.ndarray], arms: int, draws: int = 50, seed: int = 0
) -> np.ndarray:
    """Monte-Carlo dropout draws of the risks under each arm: (draws, n, arms)."""
    import tensorflow as tf

    tf.random.set_seed(seed)
    batch = {k: tf.constant(v) for k, v in inputs.items()}
    return np.stack([np.asarray(model(batch, training=True))[:, :arms] for _ in range(draws)])


def benefit_model(model: Any, treated: int = 1, control: int = 0) -> Any:
    """A Keras model on the same inputs that returns the predicted benefit (n, 1): the risk under
    ``control`` minus the risk under ``treated`` (positive = treatment lowers the risk); built with
    standard layers (Subtract) for SHAP."""
    keras = import_keras()
    heads = model.get_layer(RISKS_LAYER).output
    control_risk = model.get_layer(f"risk_arm_{control}").output
    treated_risk = model.get_layer(f"risk_arm_{treated}").output
    del heads
    out = keras.layers.Subtract(name="benefit")([control_risk, treated_risk])
    return keras.Model(inputs=model.inputs, outputs=out, name="dlcore_benefit")
