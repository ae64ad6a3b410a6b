"""MedMNIST test-split results of the default CNN, beside a baseline fitted in the same script.

BreastMNIST (breast ultrasound) and PneumoniaMNIST (paediatric chest X-ray), 28×28, read with the
product's .npz reader from ../shared/data, trained through dlcore's one training path on the
official train/validation split and scored on the official test split. The baseline is a
logistic regression on the raw pixels (scikit-learn) on the same split; the published ResNet-18
(28) results of MedMNIST v2 (Yang et al. 2023) are printed for reference. Skips cleanly when
../shared/data is absent.
"""

from __future__ import annotations

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


def main() -> int:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, roc_auc_score

    from dlcore.data.images import read_npz
    from dlcore.models.spec import default_image_spec
    from dlcore.training.pipeline import train_and_register

    header("MedMNIST test split: ROC AUC / accuracy (default CNN vs pixel logistic regression)")
    rows = []
    for title, relative, classes, positive, (ref_auc, ref_acc) in SETS:
        path = SHARED_DATA / relative
        if not path.is_file():
            print(f"skip {title}: {path} not found (the shared data is optional)")
            continue
        dataset = read_npz(path.read_bytes(), path.name, classes=classes)
        dataset.positive_class = positive
        split = dataset.predefined_split
        spec = default_image_spec(len(split["train"]), "cnn")
        t0 = time.perf_counter()
        outcome = train_and_register(dataset, spec, name=f"{title} CNN")
        seconds = time.perf_counter() - t0
        report = outcome.report
        y = (dataset.labels == classes.index(positive)).astype(int)
        flat = dataset.images.reshape(len(dataset.images), -1) / 255.0
        t1 = time.perf_counter()
        baseline = LogisticRegression(max_iter=2000, C=0.1).fit(
            flat[split["train"]], y[split["train"]]
        )
        probability = baseline.predict_proba(flat[split["test"]])[:, 1]
        base_seconds = time.perf_counter() - t1
        rows.append(
            [
                title,
                f"{len(split['train'])}/{len(split['validation'])}/{len(split['test'])}",
                f"{report.roc_auc:.3f} / {report.at_half.accuracy:.3f}",
                f"{roc_auc_score(y[split['test']], probability):.3f} / "
                f"{accuracy_score(y[split['test']], probability >= 0.5):.3f}",
                f"{ref_auc:.3f} / {ref_acc:.3f}",
                f"{outcome.result.epochs_run} ep, {seconds:.0f} s",
                f"{base_seconds:.1f} s",
            ]
        )
        print(f"done {title}", flush=True)
        np.random.seed(0)
    if rows:
        print_table(
            [
                "data set",
                "train/val/test",
                "ours CNN AUC / acc",
                "pixel logistic",
                "ResNet-18 (28) published",
                "ours time",
                "baseline time",
            ],
            rows,
            align="lrrrrrr",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
