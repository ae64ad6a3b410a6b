"""SHAP latency for one patient: dlcore's TabularExplainer against shap's KernelExplainer.

A network is trained on the breast-cancer demo through dlcore.training.train (30 epochs). One
held-out record is explained: ours is ``TabularExplainer(model, layout, background).explain``
(warm, i.e. after a first call); the baseline is ``shap.KernelExplainer`` with default settings
(nsamples 'auto', timed after a first call) over the same background records, calling the same Keras model through
``to_model_inputs`` / ``run_model`` on the numeric feature matrix. Calls alternate in rounds.
The permutation path of TabularExplainer is timed for information.

Goal: ours <= 50 ms warm, and >= 20x faster than KernelExplainer.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import environment, goal, header, median, print_table, timed

EPOCHS = 30
ROUNDS = 3  # one KernelExplainer call per round: median of 3
OURS_PER_ROUND = 8  # 24 warm calls in all
PERMUTATION_PER_ROUND = 2
GOAL_MS = 50.0
GOAL_SPEEDUP = 20.0


def main() -> int:
    import numpy as np
    import pandas as pd
    import shap

    from dlcore.data import load_demo
    from dlcore.explain.tabular import TabularExplainer
    from dlcore.models.layouts import to_model_inputs
    from dlcore.models.spec import ModelSpec
    from dlcore.models.tabular import run_model
    from dlcore.training.fit import train

    print(environment() + f", shap {shap.__version__}")
    dataset = load_demo("breast_cancer")
    spec = ModelSpec(epochs=EPOCHS)
    train_s, result = timed(lambda: train(dataset, spec))
    model, layout, data, split = result.model, result.layout, result.data, result.split
    print(
        f"trained {result.epochs_run} epochs in {train_s:.1f} s "
        f"(best epoch {result.best_epoch}, val AUC {result.history['val_auc'][-1]:.3f})"
    )
    # The background the registry would store: 100 training records (training.pipeline.train_and_register).
    train_rows = data.features.iloc[split.train]
    background = train_rows.sample(min(100, len(train_rows)), random_state=spec.seed)
    # One held-out patient: the test record closest to the decision boundary (the kind of case
    # a clinician asks about), as the raw record with its diagnosis column (which is ignored).
    test_outputs = run_model(model, to_model_inputs(layout, data.features.iloc[split.test]))[:, 0]
    patient = int(split.test[np.argmin(np.abs(test_outputs - 0.5))])
    record = dataset.frame.loc[[data.row_index[patient]]]

    # -- ours -----------------------------------------------------------------------------------
    cold_build_s, ours = timed(lambda: TabularExplainer(model, layout, background))
    cold_call_s, ours_exp = timed(lambda: ours.explain(record))
    print(
        f"ours: method '{ours.method}', background {len(ours.background)} records; "
        f"construct {cold_build_s * 1000:.0f} ms, first call {cold_call_s * 1000:.0f} ms"
    )
    permutation = TabularExplainer(model, layout, background, method="permutation")
    perm_first_s, perm_exp = timed(lambda: permutation.explain(record))

    # -- KernelExplainer baseline on the same model, background and record --------------------
    names = layout.names
    assert all(info.kind == "numeric" for info in layout.features)

    def f(matrix: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame(np.asarray(matrix, dtype=np.float32), columns=names)
        return run_model(model, to_model_inputs(layout, frame), batch_size=65536)[:, 0]

    bg_matrix = ours.background[names].to_numpy(dtype=np.float64)
    x = data.features.iloc[[patient]][names].to_numpy(dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kernel = shap.KernelExplainer(f, bg_matrix)

    def kernel_explain() -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(kernel.shap_values(x, silent=True), dtype=np.float64).reshape(-1)

    kernel_first_s, _ = timed(kernel_explain)  # warm-up, as ours is timed warm
    ours_s, kernel_s, perm_s = [], [], []
    kernel_values = None
    for _ in range(ROUNDS):
        t, kernel_values = timed(kernel_explain)
        kernel_s.append(t)
        for _ in range(OURS_PER_ROUND):
            t, ours_exp = timed(lambda: ours.explain(record))
            ours_s.append(t)
        for _ in range(PERMUTATION_PER_ROUND):
            t, perm_exp = timed(lambda: permutation.explain(record))
            perm_s.append(t)

    output = float(f(x)[0])
    kernel_base = float(np.asarray(kernel.expected_value).reshape(-1)[0])
    kernel_err = abs(kernel_values.sum() + kernel_base - output)
    ours_values = ours_exp.values[0, :, 0]
    perm_values = perm_exp.values[0, :, 0]

    def agreement(values: np.ndarray) -> str:
        corr = float(np.corrcoef(values, kernel_values)[0, 1])
        top_ours = set(np.argsort(-np.abs(values))[:5])
        top_kernel = set(np.argsort(-np.abs(kernel_values))[:5])
        return f"r={corr:.3f}, top-5 shared {len(top_ours & top_kernel)}/5"

    m_ours, m_kernel, m_perm = median(ours_s), median(kernel_s), median(perm_s)
    header(f"explaining one breast-cancer patient (model output {output:.4f})")
    print_table(
        [
            "explainer",
            "calls",
            "median ms",
            "speed-up vs Kernel",
            "additivity error",
            "agreement with Kernel",
        ],
        [
            [
                f"ours ({ours.method}, warm)",
                len(ours_s),
                f"{m_ours * 1000:.1f}",
                f"{m_kernel / m_ours:.0f}x",
                f"{ours_exp.additivity_error:.2e}",
                agreement(ours_values),
            ],
            [
                "shap.KernelExplainer (nsamples auto)",
                len(kernel_s),
                f"{m_kernel * 1000:.1f}",
                "1x",
                f"{kernel_err:.2e}",
                "-",
            ],
            [
                "ours (permutation, warm; info)",
                len(perm_s),
                f"{m_perm * 1000:.1f}",
                f"{m_kernel / m_perm:.1f}x",
                f"{perm_exp.additivity_error:.2e}",
                agreement(perm_values),
            ],
        ],
        align="lrrrrl",
    )
    print(
        f"Kernel ran the model on {kernel.nsamplesRun * len(bg_matrix):,} rows per explanation; "
        f"Kernel first call {kernel_first_s:.2f} s (not counted); "
        f"permutation first call {perm_first_s * 1000:.0f} ms; Kernel calls (s): "
        + ", ".join(f"{t:.2f}" for t in kernel_s)
    )
    speedup = m_kernel / m_ours
    met_latency = goal(
        f"ours warm <= {GOAL_MS:.0f} ms: {m_ours * 1000:.1f} ms", m_ours * 1000 <= GOAL_MS
    )
    met_speedup = goal(
        f"ours >= {GOAL_SPEEDUP:.0f}x faster than Kernel: {speedup:.0f}x", speedup >= GOAL_SPEEDUP
    )
    goal("both", met_latency and met_speedup)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
