"""The survey's Keras example, as printed, beside the same example run through dlcore.

Same data (scikit-learn's digits brought to 28×28, the same seeded train/validation/test split),
same network (784 → 512 relu → 256 relu → 10 softmax), SGD, categorical cross-entropy, 10 epochs,
batch 128. The plain code trains on the training part and reports accuracy on the test part;
ours goes through dlcore.training (progress events, early stopping off) and registers the model.
Prints both accuracies and times, alternating the order over rounds.
"""

from __future__ import annotations

import time

from _common import header, median, print_table

ROUNDS = 3


def plain_keras(x_train, y_train, x_test, y_test, seed: int) -> float:
    """The survey's code (Keras 3 spelling), on flattened pixels scaled to 0–1."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(shape=(784,)),
            layers.Dense(512, activation="relu"),
            layers.Dense(256, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(
        x_train, keras.utils.to_categorical(y_train, 10), epochs=10, batch_size=128, verbose=0
    )
    return float(model.evaluate(x_test, keras.utils.to_categorical(y_test, 10), verbose=0)[1])


def main() -> int:
    from dlcore.teach.reference_example import reference_spec, seed_dataset
    from dlcore.training.fit import split_records, train
    from dlcore.training.pipeline import evaluate_split

    dataset = seed_dataset()
    spec = reference_spec()
    split = split_records(dataset.labels, "multiclass", spec)
    flat = dataset.images.reshape(len(dataset.images), -1).astype("float32") / 255.0
    results: dict[str, list[tuple[float, float]]] = {"survey code": [], "dlcore": []}
    for round_ in range(ROUNDS):
        order = ["survey code", "dlcore"] if round_ % 2 == 0 else ["dlcore", "survey code"]
        for name in order:
            start = time.perf_counter()
            if name == "survey code":
                accuracy = plain_keras(
                    flat[split.train],
                    dataset.labels[split.train],
                    flat[split.test],
                    dataset.labels[split.test],
                    spec.seed,
                )
            else:
                result = train(dataset, spec, split=split, on_event=lambda event: None)
                accuracy = evaluate_split(result).accuracy
            results[name].append((accuracy, time.perf_counter() - start))
    header(
        f"The survey's example on {len(dataset.images):,} handwritten digits (28×28), {ROUNDS} rounds"
    )
    rows = []
    for name, values in results.items():
        accuracies = [a for a, _ in values]
        rows.append(
            [
                name,
                f"{median(accuracies):.3f}",
                f"{min(accuracies):.3f}–{max(accuracies):.3f}",
                f"{median([t for _, t in values]):.2f}",
            ]
        )
    print_table(["run", "test accuracy (median)", "range", "seconds (median)"], rows)
    print(
        f"test images: {len(split.test)}; training images: {len(split.train)} (validation {len(split.validation)}, used by dlcore for curves only)"
    )
    ratio = median([t for _, t in results["dlcore"]]) / median(
        [t for _, t in results["survey code"]]
    )
    print(f"time ratio dlcore / survey code: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
