"""Discrimination on real clinical tables: dlcore's default network against logistic regression
and gradient boosting on the SAME splits.

For each table and each of 5 seeds, the product's own seeded, stratified split
(``split_records``: 60% train, 20% validation, 20% test); ours is trained with
``default_spec(task, n)`` through ``dlcore.training.train`` (early stopping and recalibration on
the validation part); the baselines are the product's own (``dlcore.evaluate.baselines``), fitted
on train + validation. ROC AUC on each test part; the gap is ours minus the better baseline,
per seed, then the median over seeds.

Goals (issue 12): median over tables of the gap >= -0.005, and no table below -0.03.
Tables come from ../shared/data (skipped cleanly when absent) and scikit-learn's breast cancer.
Usage: python bench/real_tables.py [--seeds 5] [--tables "Pima diabetes,Stroke"]
       [--cache runs.json] [--spec linear_skip=true]  (default-spec overrides, in the header;
       each variant needs its own cache file or key: runs are cached per overrides)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import environment, goal, header, print_table
from _tables import TABLES, available, describe, parse_overrides, runs

MEDIAN_GOAL = -0.005
WORST_GOAL = -0.03


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--tables", help="comma-separated titles (default: all)")
    parser.add_argument(
        "--cache", type=Path, help="a JSON file to save runs in (calibration.py reads it)"
    )
    parser.add_argument(
        "--spec",
        action="append",
        help="override default-spec fields, e.g. linear_skip=true (repeatable, comma-separated)",
    )
    args = parser.parse_args(argv)
    overrides = parse_overrides(args.spec)
    wanted = set(args.tables.split(",")) if args.tables else None
    print(environment())
    print(describe(overrides))
    rows, gaps, started = [], [], time.perf_counter()
    for table in TABLES:
        if wanted and table.title not in wanted:
            continue
        reason = available(table)
        if reason:
            print(f"skip {table.title}: {reason}")
            rows.append([table.title, "-", "-", "-", "-", "-", f"skipped: {reason}"])
            continue
        aucs: dict[str, list[float]] = {"ours": [], "logistic": [], "boosting": []}
        per_seed_gap, epochs, seconds = [], [], {"ours": 0.0, "baselines": 0.0}
        for run in runs(table, args.seeds, args.cache, overrides):
            for name, output in run["outputs"].items():
                aucs[name].append(roc_auc_score(run["y"], np.asarray(output)[:, 0]))
            per_seed_gap.append(aucs["ours"][-1] - max(aucs["logistic"][-1], aucs["boosting"][-1]))
            epochs.append(run["epochs"])
            seconds["ours"] += run["ours_s"]
            seconds["baselines"] += run["baselines_s"]
        gap = float(np.median(per_seed_gap))
        gaps.append(gap)
        rows.append(
            [
                table.title,
                run["n"],
                *(f"{np.median(aucs[k]):.3f}" for k in ("ours", "logistic", "boosting")),
                f"{gap:+.3f}",
                f"epochs {min(epochs)}–{max(epochs)}; ours {seconds['ours']:.0f} s, "
                f"baselines {seconds['baselines']:.1f} s",
            ]
        )
        print(f"done {table.title} ({time.perf_counter() - started:.0f} s so far)", flush=True)
    header(f"ROC AUC on the same test splits, median over {args.seeds} seeds")
    print_table(
        ["table", "n", "ours", "logistic", "boosting", "gap vs best", "notes"], rows, "lrrrrrl"
    )
    if not gaps:
        print("no table ran")
        return 0
    median_gap, worst = float(np.median(gaps)), float(np.min(gaps))
    print(
        f"median gap {median_gap:+.3f} (goal >= {MEDIAN_GOAL:+.3f}); worst {worst:+.3f} (goal >= {WORST_GOAL:+.3f})"
    )
    goal(f"median AUC gap vs best of LR/GBM >= {MEDIAN_GOAL}", median_gap >= MEDIAN_GOAL)
    goal(f"no table below {WORST_GOAL}", worst >= WORST_GOAL)
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
