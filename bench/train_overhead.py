"""Training overhead: dlcore.training.train (with progress events) against a plain Keras fit.

Same data (breast-cancer demo), same prepared inputs and split, same model and seed, no early
stopping, the same number of epochs. The baseline builds everything with dlcore's own helpers and
then calls ``model.fit`` with no callbacks; ours calls ``train`` with an ``on_event`` handler that
stores every event. Runs alternate (the order flips every round) and medians are reported.

Goal: ours / baseline <= 1.05 for the whole call, at 32 and at 8 records per batch.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import environment, goal, header, median, print_table

ROUNDS = 7
EPOCHS = 20
CONFIGS = (32, 8)  # batch sizes: ~11 and ~43 batches per epoch on 341 training records
GOAL_RATIO = 1.05


def baseline_run(dataset, spec):
    """Prepare as train() does, then a plain fit; returns (total_s, fit_s, history, n_train)."""
    import time

    from dlcore.models.keras_runtime import set_seed
    from dlcore.models.layouts import make_layout, to_model_inputs
    from dlcore.models.tabular import build_tabular_model
    from dlcore.training.fit import (
        make_tf_dataset,
        prepare_data,
        sample_weights,
        split_records,
        training_targets,
    )

    t0 = time.perf_counter()
    data = prepare_data(dataset)
    split = split_records(data.y, dataset.schema.task, spec)
    train_features = data.features.iloc[split.train]
    layout = make_layout(dataset.schema, train_features, data.kinds)
    set_seed(spec.seed)
    model = build_tabular_model(spec, layout, train_features, data.y[split.train])
    inputs = to_model_inputs(layout, data.features)
    targets = training_targets(data.y, layout)
    weights = sample_weights(data.y, dataset.schema.task, spec)

    def take(part):
        return {k: v[part] for k, v in inputs.items()}

    train_ds = make_tf_dataset(
        take(split.train),
        targets[split.train],
        None if weights is None else weights[split.train],
        batch_size=spec.batch_size,
        shuffle_seed=spec.seed,
    )
    val_ds = make_tf_dataset(
        take(split.validation),
        targets[split.validation],
        None if weights is None else weights[split.validation],
        batch_size=4096,
    )
    t1 = time.perf_counter()
    fit = model.fit(train_ds, validation_data=val_ds, epochs=spec.epochs, verbose=0, shuffle=False)
    t2 = time.perf_counter()
    return t2 - t0, t2 - t1, fit.history, len(split.train)


def ours_run(dataset, spec):
    """train() with a handler that stores events; returns (total_s, fit_s, history, events)."""
    import time

    from dlcore.training.fit import train

    events = []
    t0 = time.perf_counter()
    result = train(dataset, spec, on_event=events.append)
    total = time.perf_counter() - t0
    return total, result.timings["fit_s"], result.history, events


def fresh_state() -> None:
    from dlcore.models.keras_runtime import import_keras

    import_keras().backend.clear_session()
    gc.collect()


def main() -> int:
    from dlcore.data import load_demo
    from dlcore.models.spec import ModelSpec

    print(environment())
    dataset = load_demo("breast_cancer")
    all_met = True
    summary = []
    for batch_size in CONFIGS:
        spec = ModelSpec(batch_size=batch_size, epochs=EPOCHS, early_stopping_patience=0)
        # Warm-up (not counted): imports, first graph tracing, tf.data start-up, for both paths.
        fresh_state()
        _, _, _, n_train = baseline_run(dataset, spec)
        fresh_state()
        ours_run(dataset, spec)
        batches = -(-n_train // batch_size)
        header(
            f"batch size {batch_size}: {n_train} training records, {batches} batches/epoch, "
            f"{EPOCHS} epochs, {ROUNDS} alternated rounds"
        )
        base_total, base_fit, our_total, our_fit = [], [], [], []
        n_events: dict[str, int] = {}
        same_history = True
        rows = []
        for round_no in range(ROUNDS):
            order = ("baseline", "ours") if round_no % 2 == 0 else ("ours", "baseline")
            results = {}
            for which in order:
                fresh_state()
                results[which] = (
                    baseline_run(dataset, spec) if which == "baseline" else ours_run(dataset, spec)
                )
            b_total, b_fit, b_hist, _ = results["baseline"]
            o_total, o_fit, o_hist, events = results["ours"]
            base_total.append(b_total)
            base_fit.append(b_fit)
            our_total.append(o_total)
            our_fit.append(o_fit)
            n_events = {}
            for event in events:
                n_events[event.kind] = n_events.get(event.kind, 0) + 1
            diff = max(
                abs(a - b) for a, b in zip(b_hist["val_loss"], o_hist["val_loss"], strict=True)
            )
            same_history = same_history and diff < 1e-5
            rows.append(
                [
                    round_no + 1,
                    " → ".join(order),
                    f"{b_total:.3f}",
                    f"{o_total:.3f}",
                    f"{o_total / b_total:.3f}",
                    f"{b_fit:.3f}",
                    f"{o_fit:.3f}",
                    f"{o_fit / b_fit:.3f}",
                ]
            )
        mb_total, mo_total = median(base_total), median(our_total)
        mb_fit, mo_fit = median(base_fit), median(our_fit)
        for label, stat in (("median", median), ("best", min)):
            b_t, o_t, b_f, o_f = stat(base_total), stat(our_total), stat(base_fit), stat(our_fit)
            rows.append(
                [
                    label,
                    "",
                    f"{b_t:.3f}",
                    f"{o_t:.3f}",
                    f"{o_t / b_t:.3f}",
                    f"{b_f:.3f}",
                    f"{o_f:.3f}",
                    f"{o_f / b_f:.3f}",
                ]
            )
        print_table(
            [
                "round",
                "order",
                "base total s",
                "ours total s",
                "ratio",
                "base fit s",
                "ours fit s",
                "ratio",
            ],
            rows,
            align="llrrrrrr",
        )
        per_batch_ms = (mo_fit - mb_fit) / (EPOCHS * batches) * 1000
        print(
            f"events per run: {n_events}; same val_loss history as baseline: "
            f"{'yes' if same_history else 'NO'}; fit overhead per batch: {per_batch_ms:+.3f} ms"
        )
        ratio = mo_total / mb_total
        met = goal(
            f"whole call ours/baseline <= {GOAL_RATIO:.2f} (batch {batch_size}): {ratio:.3f}",
            ratio <= GOAL_RATIO,
        )
        all_met = all_met and met
        summary.append(
            [
                batch_size,
                f"{mb_total:.3f}",
                f"{mo_total:.3f}",
                f"{ratio:.3f}",
                f"{mo_fit / mb_fit:.3f}",
            ]
        )
    header("summary (medians)")
    print_table(
        ["batch size", "baseline s", "ours s", "ratio total", "ratio fit only"],
        summary,
    )
    goal(f"all configurations within {GOAL_RATIO:.2f}x", all_met)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
