"""The survey's reference example, reproduced through the app's own training path.

    model = Sequential([Dense(512, activation='relu', input_shape=(784,)),
                        Dense(256, activation='relu'), Dense(10, activation='softmax')])
    model.compile(optimizer='sgd', loss='categorical_crossentropy', metrics=['accuracy'])
    model.fit(x_train, y_train, epochs=10, batch_size=128)

on real handwritten digits that ship with scikit-learn (brought to 28×28 = 784 pixels), or on an
MNIST file the user uploads (IDX or .npz).
"""

from __future__ import annotations

from typing import Any

from dlcore.models.spec import ModelSpec

SEED_NAME = "Survey reference example (MLP 784-512-256-10, SGD)"


def reference_spec(epochs: int = 10, seed: int = 42) -> ModelSpec:
    """The example's network and training: 512 and 256 ReLU units, SGD (learning rate 0.01, as
    Keras' 'sgd' default), categorical cross-entropy, 10 epochs, batch size 128, no early stopping."""
    return ModelSpec(
        architecture="mlp",
        hidden_units=[512, 256],
        activation="relu",
        dropout=0.0,
        batch_norm=False,
        loss="categorical_crossentropy",
        optimizer="sgd",
        learning_rate=0.01,
        momentum=0.0,
        batch_size=128,
        epochs=epochs,
        early_stopping_patience=0,
        class_weighting="none",
        seed=seed,
    )


def seed_dataset(images: Any = None) -> Any:
    """The example's data: scikit-learn's digits at 28×28 unless images are given."""
    from dlcore.data.images import load_digits_images

    return images if images is not None else load_digits_images(28)


def run_seed_example(
    images: Any = None, *, epochs: int = 10, on_event: Any = None, actor: Any = None
) -> Any:
    """Train the reference example through dlcore's one training path and register it.

    Returns the TrainOutcome (its report holds the test accuracy). Any image size works: the
    network flattens what it is given (784 values for 28×28). Raises UserError for images without
    classes, PermissionDeniedError when ``actor`` may not train.
    """
    from dlcore.training.pipeline import train_and_register

    return train_and_register(
        seed_dataset(images),
        reference_spec(epochs),
        name=SEED_NAME,
        on_event=on_event,
        actor=actor,
    )
