"""MedMNIST test-split results of the default CNN, beside a baseline fitted in the same script.

BreastMNIST (breast ultrasound) and PneumoniaMNIST (paediatric chest X-ray), 28×28, read with the
product's .npz reader from ../shared/data, trained through dlcore's one training path on the
official train/validation split and scored on the official test split. The baseline is a
logistic regression on the raw pixels (scikit-learn) on the same split; the published ResNet-18
(28) results of MedMNIST v2 (Yang et al. 2023) are the goal (issue 16): the default settings must
reach their AUC and accuracy, each set trained in at most 10 minutes on 2 CPU cores. Accuracy is
printed at the 0.5 threshold and at the operating threshold (Youden's J chosen on the validation
split); the goal line says which of them meets the published accuracy. Skips cleanly when
../shared/data is absent.

    python bench/medmnist.py [--seeds 42 43] [--sets BreastMNIST]
    python bench/medmnist.py --sets BreastMNIST --search-minutes 30 --search-trials 16

With ``--search-minutes`` each set also gets a search row: a Ray Tune search (ASHA, trials on
this machine's CPUs, chosen on the validation split only) around the default settings, then
the chosen settings trained once as the default would be (an ensemble for small sets) and
scored on the test split. Its goals (issue 16): BreastMNIST AUC >= 0.919 (AutoML Vision),
PneumoniaMNIST AUC >= 0.96 and accuracy >= 0.88 (ResNet-50 (224)), search budget <= 30 min.
Timings are printed with the load average (1 minute) before and after: the 2 cores are shared.

Measured (issue 16; 2 CPU cores shared with other work, load average 7–15 throughout).
BreastMNIST, default = ensemble of 3 residual CNNs (seeds s, s+1, s+2), 30 epochs each:
  seed 42: AUC 0.902, accuracy 0.853 at 0.5 / 0.853 at the operating threshold
  seed 1:  AUC 0.921, accuracy 0.872 / 0.865
  (528 and 554 s; read from the same trained members as the runs below, whose saved model also
  averaged over mirror images: 0.907 / 0.853 / 0.840 and 0.914 / 0.846 / 0.859; seed 2 with
  mirrors 0.921 / 0.872 / 0.859 in 580 s). Single networks, seeds 1, 2, 42, 43: AUC 0.917 /
  0.896 / 0.919 / 0.896, accuracy at 0.5 0.878 / 0.885 / 0.833 / 0.865, 108–312 s.
PneumoniaMNIST, default = one residual CNN, 12 epochs: seed 42 AUC 0.975, accuracy 0.869 at 0.5
  / 0.897 at the operating threshold, 515 s; seed 43 0.975 / 0.861 / 0.912, 574 s.
The old plain CNN: BreastMNIST AUC 0.838 / 0.858 (seeds 1, 2).
BreastMNIST search, seed 42, --search-minutes 30 --search-trials 32 (2 trials at a time, load
6–14): 32 trials, none lost, in 22.5 min; best validation loss 0.204 against the default's 0.345
(chosen: filters 48-96-192, residual, cosine, 128 units, flip, dropout 0.25, learning rate
0.00036); the choice as an ensemble of 3 (502 s): test AUC 0.909, accuracy 0.840 at 0.5 / 0.853
at the operating threshold. Goal 0.919 NOT MET: the 78 validation images reward settings that
do not carry over to the test split.
PneumoniaMNIST search, seed 42, --search-minutes 30 --search-trials 32 (2026-11-29, load 6-15
while other work ran, then 3-7): 4 trials in 38.1 min (the budget overran by 8 minutes: an epoch
on 4,708 images takes minutes at that load and a running trial ends at its epoch's end), 2 of them
aborted at their start and reported "lost" (Tune could not reuse the previous trial's process
within Ray's 2 s wait; 8b556c7 raises the wait to 900 s); the best was the default's own settings (validation
loss 0.0595), trained as the default: test AUC 0.969, accuracy 0.861 at 0.5 / 0.872 at the
operating threshold, 2,665 s for search and training. AUC goal (0.96) met; accuracy goal (0.88)
NOT met on this run (the default alone reached 0.897 and 0.912 at the operating threshold on
seeds 42 and 43). On 2 shared cores 30 minutes buys 4 trials on this set: too few to search.
PneumoniaMNIST search again, seed 42, --search-minutes 30 --search-trials 16 (2026-11-29 15:54,
with the budget as wall time, f7ffac4; load 4.5-11 from other benchmarks): 11 trials, none lost,
in 30.1 min (6 s over: 782c286 now keeps 5% of the budget, at most 30 s, for stopping); again
the best was the default's own settings (validation loss 0.0595), trained as the default:
test AUC 0.969, accuracy 0.861 at 0.5 / 0.872 at the operating threshold, the same figures as
the run before (a seed's training is deterministic; the default's seed-42 figures above predate
the epoch-order change of the memory work), 447 s to train the choice. AUC goal met; accuracy
goal (0.88) NOT met: no trial beat the default on validation in 11 tries.
BreastMNIST search again, seed 42, --search-minutes 30 --search-trials 32 (2026-11-29 16:40,
load 5-15 from other benchmarks): 32 trials, none lost, in 16.1 min; best validation loss
0.2051 against the default's 0.2138, the same choice as before (filters 48-96-192, 128 units,
flip, dropout 0.25, learning rate 0.00036), trained as an ensemble of 3 (575 s): test AUC 0.909,
accuracy 0.840 at 0.5 / 0.853 at the operating threshold, the same figures as the run before.
Goal 0.919 NOT met. An ensemble of the best few trials' settings could not be merged as the
product merges image members today (their feature maps differ in size with the block count).
"""

from __future__ import annotations

import argparse
import os
import time

from _common import SHARED_DATA, header, print_table

SETS = [
    (
        "BreastMNIST",
        "breastmnist/breastmnist.npz",
        ["malignant", "normal/benign"],
        "malignant",
        (0.901, 0.863),
    ),
    (
        "PneumoniaMNIST",
        "pneumoniamnist/pneumoniamnist.npz",
        ["normal", "pneumonia"],
        "pneumonia",
        (0.944, 0.854),
    ),
]


TIME_GOAL_S = 600.0
SEARCH_GOALS = {"BreastMNIST": (0.919, None), "PneumoniaMNIST": (0.96, 0.88)}


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, roc_auc_score

    from dlcore.data.images import read_npz
    from dlcore.models.spec import default_image_spec
    from dlcore.training.pipeline import train_and_register

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--sets", nargs="+", default=[title for title, *_ in SETS])
    parser.add_argument("--search-minutes", type=float, default=0.0, help="0: no search row")
    parser.add_argument("--search-trials", type=int, default=16)
    parser.add_argument("--no-default", action="store_true", help="only the search rows")
    args = parser.parse_args(argv)
    header(
        "MedMNIST test split: ROC AUC / accuracy at 0.5 / accuracy at the operating threshold "
        "(default CNN vs pixel logistic regression vs published ResNet-18 (28))"
    )
    rows, goals = [], []
    for title, relative, classes, positive, (ref_auc, ref_acc) in SETS:
        if title not in args.sets:
            continue
        path = SHARED_DATA / relative
        if not path.is_file():
            print(f"skip {title}: {path} not found (the shared data is optional)")
            continue
        dataset = read_npz(path.read_bytes(), path.name, classes=classes)
        dataset.positive_class = positive
        split = dataset.predefined_split
        y = (dataset.labels == classes.index(positive)).astype(int)
        flat = dataset.images.reshape(len(dataset.images), -1) / 255.0
        t1 = time.perf_counter()
        baseline = LogisticRegression(max_iter=2000, C=0.1).fit(
            flat[split["train"]], y[split["train"]]
        )
        probability = baseline.predict_proba(flat[split["test"]])[:, 1]
        base_seconds = time.perf_counter() - t1
        baseline_text = (
            f"{roc_auc_score(y[split['test']], probability):.3f} / "
            f"{accuracy_score(y[split['test']], probability >= 0.5):.3f} ({base_seconds:.1f} s)"
        )
        runs = [] if args.no_default else [("default", seed) for seed in args.seeds]
        if args.search_minutes > 0:
            runs.append(("search", args.seeds[0]))
        for kind, seed in runs:
            spec = default_image_spec(len(split["train"]), "cnn")
            spec.seed = seed
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            found = None
            if kind == "search":
                from dlcore.training.search import search_and_register

                outcome, found = search_and_register(
                    dataset,
                    spec,
                    trials=args.search_trials,
                    minutes=args.search_minutes,
                    name=f"{title} CNN (search)",
                )
            else:
                outcome = train_and_register(dataset, spec, name=f"{title} CNN")
            seconds = time.perf_counter() - t0
            load_text = f"load {load:.1f}→{os.getloadavg()[0]:.1f}"
            report = outcome.report
            auc, at_half, at_op = (
                report.roc_auc,
                report.at_half.accuracy,
                report.at_youden.accuracy,
            )
            members = spec.ensemble if kind == "default" else outcome.result.spec.ensemble
            rows.append(
                [
                    title,
                    kind,
                    str(seed),
                    f"{len(split['train'])}/{len(split['validation'])}/{len(split['test'])}",
                    f"{auc:.3f} / {at_half:.3f} / {at_op:.3f}",
                    baseline_text,
                    f"{ref_auc:.3f} / {ref_acc:.3f}",
                    f"{members}×{outcome.result.epochs_run} ep, {seconds:.0f} s, {load_text}",
                ]
            )
            if found is not None:
                search_s = found.elapsed_s
                goal_auc, goal_acc = SEARCH_GOALS[title]
                best_acc = max(at_half, at_op)
                goals.append(
                    f"{title} search ({len(found.trials)} trials, {len(found.lost)} lost, "
                    f"{search_s / 60:.1f} min of {args.search_minutes:.0f}; best validation loss "
                    f"{found.best_val_loss:.4f} vs default {found.default_val_loss or float('nan'):.4f}"
                    f"; chosen {found.best_settings}): AUC {auc:.3f} >= {goal_auc:.3f} "
                    + ("MET" if auc >= goal_auc else "NOT MET")
                    + (
                        f"; accuracy {best_acc:.3f} >= {goal_acc:.3f} "
                        + ("MET" if best_acc >= goal_acc else "NOT MET")
                        if goal_acc
                        else ""
                    )
                    + f"; search {search_s / 60:.1f} min <= 30 min "
                    + ("MET" if search_s <= 1800 else "NOT MET")
                    + f" (then {seconds - search_s:.0f} s to train the choice; {load_text})"
                )
                print(f"done {title} search", flush=True)
                continue
            met = [name for name, acc in (("0.5", at_half), ("operating", at_op)) if acc >= ref_acc]
            goals.append(
                f"{title} seed {seed}: AUC {auc:.3f} >= {ref_auc:.3f} "
                f"{'MET' if auc >= ref_auc else 'NOT MET'}; accuracy >= {ref_acc:.3f} "
                + (f"MET at {' and '.join(met)}" if met else "NOT MET")
                + f"; time {seconds:.0f} s <= {TIME_GOAL_S:.0f} s "
                + ("MET" if seconds <= TIME_GOAL_S else "NOT MET")
                + f" ({load_text})"
            )
            print(f"done {title} seed {seed}", flush=True)
        np.random.seed(0)
    if rows:
        print_table(
            [
                "data set",
                "run",
                "seed",
                "train/val/test",
                "ours AUC / acc@0.5 / acc@op",
                "pixel logistic AUC / acc",
                "ResNet-18 (28) AUC / acc",
                "ours training",
            ],
            rows,
            align="llrrrrrr",
        )
        print("Goals (published ResNet-18 (28); training time on this machine):")
        for line in goals:
            print("  " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
