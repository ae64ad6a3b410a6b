"""Molecules: the product's network on Morgan fingerprints + RDKit descriptors (dlcore's one
training path, default settings) beside a random forest on the SAME fingerprints and descriptors
and ridge regression on the descriptors alone (scaled as the network's encoder scales them), on
the SAME scaffold splits of the ESOL solubility set shipped inside dlcore (demo:solubility,
1,128 molecules). Prints RMSE, MAE and R² per seed, their medians and means.

For each seed: the product's balanced Bemis–Murcko scaffold split (60/20/20, no scaffold in two
parts); test RMSE in log(mol/L). The forest and ridge fit on train + validation (they need no
early stopping); the network trains on train and stops on validation.

MoleculeNet (Wu et al., Chem. Sci. 9:513, 2018) reports on ESOL with a RANDOM split (easier: near
twins on both sides): random forest 1.07, graph convolution 0.97, MPNN 0.58 test RMSE — printed
beside ours, marked as another split.

Goal (issue 17): ours' median RMSE < the random forest's; and our own budget: the whole run within
10 min on 2 cores.
Usage: python bench/molecules.py [--seeds 5] [--trees 500]

Before (issue 17 first build: 0/1 bits + 17 descriptors, one network), 2 shared cores, 431 s:
ours median 0.948 (0.943 0.822 0.994 0.948 1.032), random forest 0.891, ridge 1.062 (ratio 1.064).

Last run (log(1 + count) Morgan + all 217 RDKit descriptors robust-scaled and clipped, an
ensemble of 3 networks; forest and ridge on the same features, ridge on the descriptors as the
encoder scales them), 2 cores under a load average of ~10 from other jobs, 1,371 s:
  RMSE  ours median 0.872 mean 0.856 (0.812 0.781 0.879 0.872 0.935)
        forest     0.895      0.910 (0.956 0.872 0.954 0.871 0.895)
        ridge      0.909      0.895 (0.861 0.835 0.939 0.909 0.930)
  MAE   ours 0.671 / 0.658 (median / mean), forest 0.667 / 0.687, ridge 0.693 / 0.700
  R²    ours 0.878 / 0.853, forest 0.841 / 0.837, ridge 0.860 / 0.840
ratio ours / forest: median 0.974, mean 0.941; ours wins seeds 0-2, ties seed 3 (0.872 vs
0.871), loses seed 4. The RMSE part of the goal is met; the 10-minute part was not on the loaded
machine (ours 83-214 s a seed, the forest 40-95 s).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import environment, goal, header, print_table

MOLECULENET_RANDOM_SPLIT = {
    "random forest (MoleculeNet)": 1.07,
    "graph convolution (MoleculeNet)": 0.97,
    "MPNN (MoleculeNet)": 0.58,
}


def rmse(y, prediction) -> float:
    import numpy as np

    return float(np.sqrt(np.mean((np.asarray(y).ravel() - np.asarray(prediction).ravel()) ** 2)))


def scores(y, prediction) -> dict[str, float]:
    """Test RMSE, MAE and R² of one model."""
    import numpy as np

    y, prediction = np.asarray(y).ravel(), np.asarray(prediction).ravel()
    residual = y - prediction
    return {
        "rmse": rmse(y, prediction),
        "mae": float(np.mean(np.abs(residual))),
        "r2": float(1 - np.sum(residual**2) / np.sum((y - y.mean()) ** 2)),
    }


def run_seed(dataset, seed: int, trees: int) -> dict[str, float]:
    """Test RMSE (MAE, R²) of ours, the random forest and ridge on one scaffold split."""
    import numpy as np
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    from dlcore.data.molecules import expand_molecules
    from dlcore.models.spec import default_spec
    from dlcore.models.tabular import run_model
    from dlcore.training.fit import rows, train

    spec = default_spec("regression", len(dataset.frame), molecules=True)
    spec.seed = seed
    start = time.perf_counter()
    result = train(dataset, spec)
    split, data = result.split, result.data
    test = split.test
    ours = run_model(result.model, result.layout.inputs(rows(data.features, test)))
    ours_s = time.perf_counter() - start

    # The same fingerprints and descriptors the network saw (its layout's featuriser).
    matrix, _ = expand_molecules(result.layout, data.features, data.kinds)
    x = np.nan_to_num(matrix.to_numpy(dtype=np.float64))
    y = data.y
    development = np.sort(np.concatenate([split.train, split.validation]))
    start = time.perf_counter()
    with threadpool_limits(2):
        forest = RandomForestRegressor(n_estimators=trees, n_jobs=2, random_state=seed)
        forest.fit(x[development], y[development])
        forest_prediction = forest.predict(x[test])
    forest_s = time.perf_counter() - start
    n_bits = result.layout.molecule_features[0].molecule["n_bits"]
    # Ridge on the descriptors as the network's encoder scales them (median and quartiles of
    # the development records, clipped): standardised raw descriptors such as Ipc (up to 1e12)
    # throw a linear model far off on a few test molecules.
    scaled, _ = expand_molecules(result.layout, data.features, data.kinds, development)
    descriptors = np.nan_to_num(scaled.to_numpy(dtype=np.float64)[:, n_bits:])
    ridge = make_pipeline(StandardScaler(), Ridge(alpha=1.0))
    ridge.fit(descriptors[development], y[development])
    ridge_prediction = ridge.predict(descriptors[test])
    return {
        "ours": rmse(y[test], ours),
        "random forest": rmse(y[test], forest_prediction),
        "ridge (descriptors)": rmse(y[test], ridge_prediction),
        "scores": {
            "ours": scores(y[test], ours),
            "random forest": scores(y[test], forest_prediction),
            "ridge (descriptors)": scores(y[test], ridge_prediction),
        },
        "ours_s": ours_s,
        "forest_s": forest_s,
        "test": len(test),
        "scaffolds": split.n_groups,
        "epochs": result.epochs_run,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trees", type=int, default=500)
    args = parser.parse_args()

    import numpy as np

    from dlcore.data.demo import load_demo

    started = time.perf_counter()
    header("ESOL solubility (demo:solubility): scaffold split, test RMSE in log(mol/L)")
    print(environment())
    dataset = load_demo("solubility")
    results = []
    for seed in range(args.seeds):
        outcome = run_seed(dataset, seed, args.trees)
        results.append(outcome)
        print(
            f"seed {seed}: {outcome['test']} test molecules, {outcome['scaffolds']} scaffolds; "
            f"ours {outcome['ours']:.3f} ({outcome['epochs']} epochs, {outcome['ours_s']:.0f} s), "
            f"forest {outcome['random forest']:.3f} ({outcome['forest_s']:.0f} s), "
            f"ridge {outcome['ridge (descriptors)']:.3f}"
        )
    names = ["ours", "random forest", "ridge (descriptors)"]
    medians = {name: float(np.median([r[name] for r in results])) for name in names}
    table = [
        [name, f"{medians[name]:.3f}", " ".join(f"{r[name]:.3f}" for r in results), "scaffold"]
        for name in names
    ]
    table += [
        [name, f"{value:.2f}", "", "RANDOM (another split)"]
        for name, value in MOLECULENET_RANDOM_SPLIT.items()
    ]
    print()
    print_table(["model", "median RMSE", "per seed", "split"], table, "lrrl")
    print()
    detail = []
    for name in names:
        for metric in ("rmse", "mae", "r2"):
            values = [r["scores"][name][metric] for r in results]
            detail.append(
                [
                    name,
                    metric.upper().replace("R2", "R²"),
                    f"{np.mean(values):.3f}",
                    f"{np.median(values):.3f}",
                    " ".join(f"{v:.3f}" for v in values),
                ]
            )
    print_table(["model", "metric", "mean", "median", "per seed"], detail, "llrrl")
    means = {name: float(np.mean([r[name] for r in results])) for name in names}
    print(f"\nmean RMSE ratio ours / random forest: {means['ours'] / means['random forest']:.3f}")
    elapsed = time.perf_counter() - started
    print(f"\nratio ours / random forest: {medians['ours'] / medians['random forest']:.3f}")
    print(f"whole run: {elapsed:.0f} s")
    met = goal(
        "ours' median RMSE below the random forest's on the same scaffold splits (issue 17)",
        medians["ours"] < medians["random forest"],
    )
    goal("the whole run within 10 min on 2 cores (our own budget)", elapsed < 600)
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
