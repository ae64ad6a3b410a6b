"""The real clinical tables the benchmarks share, and one run on the product's own split.

Each run splits the labelled records with ``dlcore.training.fit.split_records`` (the product's
seeded, stratified 60/20/20 split), trains the default network on the training part (early
stopping and recalibration on the validation part) and fits the product's baselines
(``dlcore.evaluate.baselines``: logistic regression, gradient boosting) on the training and
validation parts — so every model is judged on the SAME test records.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import SHARED_DATA

CLEVELAND_COLUMNS = [
    "age", "sex", "cp", "trestbps", "chol", "fbs", "restecg",
    "thalach", "exang", "oldpeak", "slope", "ca", "thal", "num",
]  # fmt: skip
PIMA_COLUMNS = [
    "pregnancies", "glucose", "blood_pressure", "skin_thickness", "insulin",
    "bmi", "pedigree", "age", "outcome",
]  # fmt: skip


@dataclass
class Table:
    """One benchmark table: where it is, how to shape it, its target."""

    title: str
    path: Path | None  # None: bundled with scikit-learn
    shape: Callable
    target: str


def _cleveland(frame):
    frame = frame.set_axis(CLEVELAND_COLUMNS, axis=1)
    frame["disease"] = (frame.pop("num") > 0).astype(int)
    return frame


def _pima(frame):
    return frame.set_axis(PIMA_COLUMNS, axis=1)


def _heart_failure(frame):
    # Follow-up `time` leaks the outcome; the engine leaves it out by default (leakage guard),
    # so the table goes in as published. load_dataset checks that it did.
    return frame


def _stroke(frame):
    return frame.drop(columns=["id"])


def _breast_cancer(_frame):
    from dlcore.data import load_demo

    return load_demo("breast_cancer").frame


TABLES = [
    Table(
        "Cleveland (num>0)",
        SHARED_DATA / "heart_cleveland" / "processed.cleveland.data",
        _cleveland,
        "disease",
    ),
    Table(
        "Pima diabetes",
        SHARED_DATA / "pima_diabetes" / "pima-indians-diabetes.data.csv",
        _pima,
        "outcome",
    ),
    Table(
        "Heart failure (no time)",
        SHARED_DATA / "heart_failure" / "heart_failure_clinical_records_dataset.csv",
        _heart_failure,
        "DEATH_EVENT",
    ),
    Table(
        "Stroke", SHARED_DATA / "stroke" / "healthcare-dataset-stroke-data.csv", _stroke, "stroke"
    ),
    Table("Breast cancer (sklearn)", None, _breast_cancer, "diagnosis"),
]


def available(table: Table) -> str | None:
    """None when the table can run, else the reason it is skipped."""
    if table.path is None or table.path.is_file():
        return None
    return f"{table.path} not found ({'folder absent' if not SHARED_DATA.is_dir() else 'file missing'})"


def load_dataset(table: Table) -> Any:
    """The table as a dlcore Dataset typed by the product's own inference (default settings)."""
    from dlcore.data import Dataset, infer_schema, read_table

    frame = read_table(table.path).frame if table.path is not None else None
    frame = table.shape(frame)
    schema = infer_schema(frame, target=table.target)
    if "time" in frame.columns and table.target == "DEATH_EVENT":
        assert "time" not in schema.feature_names, "the leakage guard must leave 'time' out"
    return Dataset(table.title, frame, schema)


def parse_overrides(texts: list[str] | None) -> dict[str, Any]:
    """``--spec`` values ("linear_skip=true", "dropout=0.3,batch_size=32") as default-spec field
    overrides; each value is read as JSON (true, 0.3, [16]) or else kept as text."""
    import json
    import re
    from dataclasses import fields

    from dlcore.models.spec import ModelSpec

    known = {f.name for f in fields(ModelSpec)}
    overrides: dict[str, Any] = {}
    for text in texts or []:
        # commas split settings, not list values: "hidden_units=[16,8],dropout=0.3"
        for item in filter(None, (p.strip() for p in re.split(r",(?=\s*\w+\s*=)", text))):
            name, sep, value = item.partition("=")
            if not sep or name.strip() not in known:
                raise SystemExit(
                    f"--spec {item!r}: expected NAME=VALUE with NAME a ModelSpec field"
                )
            try:
                overrides[name.strip()] = json.loads(value)
            except json.JSONDecodeError:
                overrides[name.strip()] = value.strip()
    return overrides


def describe(overrides: dict[str, Any]) -> str:
    """The overrides as one header line."""
    if not overrides:
        return "spec: default_spec(task, n) as shipped"
    return "spec: default_spec(task, n) with " + ", ".join(
        f"{k}={v!r}" for k, v in sorted(overrides.items())
    )


def default_with(task: str, n: int, overrides: dict[str, Any] | None) -> Any:
    """``default_spec(task, n)`` with ``overrides`` applied and validated."""
    from dlcore.models.spec import check_spec, default_spec

    spec = default_spec(task, n)
    for name, value in (overrides or {}).items():
        setattr(spec, name, value)
    return check_spec(spec, task)


def run_split(
    dataset: Any, seed: int, spec: Any = None, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One seeded split: test outcomes and the test probabilities of ours and each baseline
    (ours: ``spec``, or the default spec with ``overrides``)."""
    import numpy as np

    from dlcore.evaluate.baselines import fit_baselines
    from dlcore.models.keras_runtime import import_keras
    from dlcore.training.fit import prepare_data, split_records, train
    from dlcore.training.honest import calibrate_on_validation, split_output

    task = dataset.schema.task
    data = prepare_data(dataset)
    if spec is None:
        spec = default_with(task, len(data.y), overrides)
    spec.seed = seed
    split = split_records(data.y, task, spec)
    t0 = time.perf_counter()
    result = train(dataset, spec, split=split)
    recalibrator, _ = calibrate_on_validation(result)
    output = split_output(result, split.test)
    if task in ("binary", "multiclass"):
        output = np.asarray(recalibrator.apply(output)).reshape(output.shape)
    ours_s = time.perf_counter() - t0
    development = np.sort(np.concatenate([split.train, split.validation]))
    t1 = time.perf_counter()
    fitted = fit_baselines(
        task, data.features, data.y, data.kinds, development, split.test, seed=seed, resamples=10
    )
    base_s = time.perf_counter() - t1
    import_keras().backend.clear_session()
    outputs = {"ours": output}
    outputs.update({b.name: b.output for b in fitted})
    return {
        "y": data.y[split.test],
        "test": split.test,  # which records: the same patient recurs in other seeds' test parts
        "outputs": outputs,
        "epochs": result.epochs_run,
        "recalibrated": recalibrator.method != "none",
        "ours_s": ours_s,
        "baselines_s": base_s,
        "n": len(data.y),
        "spec": spec,
    }


def runs(
    table: Table, seeds: int, cache: Path | None = None, overrides: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The table's runs over seeds 1..``seeds``; with ``cache`` (a JSON file) runs saved by an
    earlier benchmark with the same seeds (and the same ``overrides`` of the default spec, see
    ``parse_overrides``) are reused, and new ones are saved (test outcomes and probabilities
    only), so that real_tables.py and calibration.py need one training."""
    import json

    import numpy as np

    stored: dict[str, Any] = {}
    if cache is not None and cache.is_file():
        stored = json.loads(cache.read_text())
    key = f"{table.title}|{seeds}" + (
        "|" + json.dumps(overrides, sort_keys=True) if overrides else ""
    )
    if key in stored:
        return [
            {
                **r,
                "y": np.asarray(r["y"]),
                **({"test": np.asarray(r["test"])} if "test" in r else {}),
                "outputs": {k: np.asarray(v) for k, v in r["outputs"].items()},
            }
            for r in stored[key]
        ]
    dataset = load_dataset(table)
    out = []
    for seed in range(1, seeds + 1):
        run = run_split(dataset, seed, overrides=overrides)
        run.pop("spec")
        out.append(run)
    if cache is not None:
        stored[key] = [
            {
                **r,
                "y": np.asarray(r["y"]).tolist(),
                "test": np.asarray(r["test"]).tolist(),
                "outputs": {k: np.asarray(v).tolist() for k, v in r["outputs"].items()},
            }
            for r in out
        ]
        cache.write_text(json.dumps(stored))
    return out
