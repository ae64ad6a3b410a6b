"""What the baselines beside every model cost: the time a training job spends fitting and judging
them (logistic regression + gradient boosting, ridge + gradient boosting, or Cox PH, each with
bootstrap intervals and the paired comparison) against the rest of the job (training, the
recalibration check, the test-split evaluation and intervals).

For each shared table (../shared/data, skipped when absent) and the bundled breast-cancer,
diabetes-progression and GBSG2 tables: one default training on the product's split (seed 1), then
``honest_summary`` with and without baselines; the overhead is the difference over the job's time.

Goal (issue 12): the baselines add at most 10% to training time on every table.
Usage: python bench/baseline_overhead.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import environment, goal, header, print_table
from _tables import TABLES, available, load_dataset

GOAL = 0.10


def measure(dataset, seed: int = 1) -> tuple[float, float]:
    """(seconds of the job without baselines, seconds the baselines add)."""
    from dlcore.models.keras_runtime import import_keras
    from dlcore.models.spec import default_spec
    from dlcore.training.fit import train
    from dlcore.training.honest import calibrate_on_validation, honest_summary
    from dlcore.training.pipeline import evaluate_split

    spec = default_spec(dataset.schema.task, len(dataset.frame))
    spec.seed = seed
    t0 = time.perf_counter()
    result = train(dataset, spec)
    recalibrator, _ = calibrate_on_validation(result)
    evaluate_split(result, recalibrator)
    honest_summary(result, recalibrator, baselines=False)
    job = time.perf_counter() - t0
    t1 = time.perf_counter()
    honest_summary(result, recalibrator, baselines=True)
    with_baselines = time.perf_counter() - t1
    t2 = time.perf_counter()
    honest_summary(result, recalibrator, baselines=False)
    without = time.perf_counter() - t2
    import_keras().backend.clear_session()
    return job, max(with_baselines - without, 0.0)


def main(argv: list[str] | None = None) -> int:
    import argparse

    from dlcore.data import load_demo

    parser = argparse.ArgumentParser()
    parser.add_argument("--tables", help="comma-separated titles (default: all)")
    args = parser.parse_args(argv)
    print(environment())
    sets = []
    for table in TABLES:
        reason = available(table)
        if reason:
            print(f"skip {table.title}: {reason}")
            continue
        sets.append((table.title, lambda t=table: load_dataset(t)))
    sets += [
        ("Diabetes progression (regression)", lambda: load_demo("diabetes_progression")),
        ("GBSG2 (survival)", lambda: load_demo("gbsg2")),
    ]
    if args.tables:
        sets = [(t, m) for t, m in sets if t in set(args.tables.split(","))]
    rows, worst = [], 0.0
    for title, make in sets:
        job, extra = measure(make())
        ratio = extra / job
        worst = max(worst, ratio)
        rows.append([title, f"{job:.1f}", f"{extra:.2f}", f"{ratio:+.1%}"])
        print(f"done {title}", flush=True)
    header("Baselines' cost beside a default training job (seed 1)")
    print_table(["table", "job s (no baselines)", "baselines s", "overhead"], rows)
    goal(f"baselines add <= {GOAL:.0%} on every table (worst {worst:.1%})", worst <= GOAL)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
