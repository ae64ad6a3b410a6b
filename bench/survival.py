"""Survival: the Cox network (DeepSurv-style, dlcore's one training path, default settings) beside
Cox proportional hazards (the product's baseline, scikit-survival, small ridge penalty) on the
SAME splits: GBSG2 (686 women, breast-cancer recurrence) and WHAS500 (500 patients after a
myocardial infarction), both shipped with scikit-survival.

For each of 5 seeds: the product's split (``split_records``, stratified by event: 60/20/20);
Harrell's C-index on the test part. DeepSurv (Katzman et al. 2018) reported 0.676 for its network
against 0.658 for Cox PH on GBSG.

Goal (issue 12): ours' median C-index >= Cox PH's on each data set.
Usage: python bench/survival.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import environment, goal, header, print_table
from _tables import run_split


def whas500():
    """WHAS500 as a dlcore survival Dataset (time: lenfol days, event: fstat)."""
    from sksurv.datasets import load_whas500

    from dlcore.data import Dataset, infer_schema
    from dlcore.data.schema import set_survival_target

    x, y = load_whas500()
    frame = x.copy()
    for column in frame.columns:
        if str(frame[column].dtype) == "category":
            frame[column] = frame[column].astype(str).astype(float)
    frame["lenfol"] = y["lenfol"]
    frame["fstat"] = y["fstat"].astype(int)
    schema = set_survival_target(infer_schema(frame), frame, "lenfol", "fstat")
    return Dataset("WHAS500", frame, schema, source="sksurv:whas500")


def main(argv: list[str] | None = None) -> int:
    import numpy as np

    from dlcore.data import load_demo
    from dlcore.evaluate.survival import concordance_index

    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    print(environment())
    rows, all_met, started = [], True, time.perf_counter()
    for title, make in (("GBSG2", lambda: load_demo("gbsg2")), ("WHAS500", whas500)):
        dataset = make()
        ours, cox, seconds = [], [], [0.0, 0.0]
        for seed in range(1, args.seeds + 1):
            run = run_split(dataset, seed)
            time_, event = run["y"][:, 0], run["y"][:, 1]
            ours.append(concordance_index(time_, event, run["outputs"]["ours"][:, 0]))
            cox.append(concordance_index(time_, event, run["outputs"]["cox"][:, 0]))
            seconds[0] += run["ours_s"]
            seconds[1] += run["baselines_s"]
        met = float(np.median(ours)) >= float(np.median(cox))
        all_met = all_met and met
        rows.append(
            [
                title,
                run["n"],
                f"{np.median(ours):.3f}",
                f"{np.median(cox):.3f}",
                f"{np.median(ours) - np.median(cox):+.3f} {'ok' if met else 'LOW'}",
                f"{np.mean(np.subtract(ours, cox)):+.3f}",
                " ".join(f"{a - b:+.3f}" for a, b in zip(ours, cox, strict=True)),
                f"{seconds[0]:.0f} s / {seconds[1]:.1f} s",
            ]
        )
        print(f"done {title} ({time.perf_counter() - started:.0f} s so far)", flush=True)
    header(f"Harrell's C-index on the same test splits, median over {args.seeds} seeds")
    print_table(
        [
            "data set",
            "n",
            "ours",
            "Cox PH",
            "ours − Cox",
            "paired mean diff.",
            "per seed",
            "time ours / Cox",
        ],
        rows,
    )
    print("published on GBSG (Katzman et al. 2018): DeepSurv 0.676, Cox PH 0.658")
    goal("ours' median C-index >= Cox PH's on every data set", all_met)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
