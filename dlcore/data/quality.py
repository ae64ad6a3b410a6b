"""The data-quality report: what is in a table and what is wrong with it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dlcore.data.dataset import to_number
from dlcore.data.leakage import association as _association
from dlcore.data.schema import (
    BINARY,
    CATEGORICAL,
    EMPTY,
    IDENTIFIER,
    NUMERIC,
    Schema,
    target_labels,
)

# Thresholds on a single column's association with the target.
NEAR_PERFECT_AUC = 0.98
NEAR_PERFECT_CORRELATION = 0.97
IMBALANCE_SHARE = 0.20
HIGH_MISSING_SHARE = 0.50
SMALL_TABLE_ROWS = 100

# The columns left out as leakage are decided by dlcore.data.leakage when the target is set
# (schema.guard_leakage); this report shows them, and warns of near-perfect ones that stay in.


@dataclass
class Finding:
    """One thing worth knowing about the data; ``severity`` is 'warning' or 'info'."""

    severity: str
    message: str
    column: str | None = None


@dataclass
class LeakageSuspect:
    """A column that predicts the target suspiciously well on its own."""

    column: str
    score: float
    metric: str
    reason: str


@dataclass
class DataReport:
    """Rows, columns, kinds, missingness, duplicates, class balance, leakage suspects, findings."""

    n_rows: int
    n_columns: int
    columns: list[dict[str, Any]]
    kind_counts: dict[str, int]
    missing_share: dict[str, float]
    constant_columns: list[str]
    duplicate_columns: list[tuple[str, str]]
    duplicate_rows: int
    target: str | None
    task: str | None
    class_counts: dict[str, int] = field(default_factory=dict)
    positive_class: str | None = None
    target_summary: dict[str, float] = field(default_factory=dict)
    rows_missing_target: int = 0
    leakage_suspects: list[LeakageSuspect] = field(default_factory=list)
    association: dict[str, float] = field(default_factory=dict)
    association_metric: str = ""
    histograms: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    category_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [f.message for f in self.findings if f.severity == "warning"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def quality_report(frame: pd.DataFrame, schema: Schema, *, max_histograms: int = 40) -> DataReport:
    """Compute the data-quality report of ``frame`` under ``schema`` (target optional)."""
    n_rows, n_columns = frame.shape
    missing_share = {str(c): float(frame[c].isna().mean()) for c in frame.columns}
    kind_counts: dict[str, int] = {}
    for col in schema.columns:
        kind_counts[col.kind] = kind_counts.get(col.kind, 0) + 1
    constant = [c.name for c in schema.columns if c.kind != EMPTY and c.n_unique <= 1]
    report = DataReport(
        n_rows=n_rows,
        n_columns=n_columns,
        columns=[asdict(c) for c in schema.columns],
        kind_counts=kind_counts,
        missing_share=missing_share,
        constant_columns=constant,
        duplicate_columns=_duplicate_columns(frame),
        duplicate_rows=int(frame.duplicated().sum()),
        target=schema.target,
        task=schema.task,
        positive_class=schema.positive_class,
    )
    _describe_target(report, frame, schema)
    _find_leakage(report, frame, schema)
    _distributions(report, frame, schema, max_histograms)
    _findings(report, schema, frame)
    return report


def _duplicate_columns(frame: pd.DataFrame) -> list[tuple[str, str]]:
    if frame.shape[1] < 2 or len(frame) == 0:
        return []
    hashes: dict[int, str] = {}
    pairs = []
    for c in frame.columns:
        key = int(pd.util.hash_pandas_object(frame[c].astype(str), index=False).sum())
        if key in hashes and frame[c].astype(str).equals(frame[hashes[key]].astype(str)):
            pairs.append((hashes[key], str(c)))
        else:
            hashes.setdefault(key, str(c))
    return pairs


def _describe_target(report: DataReport, frame: pd.DataFrame, schema: Schema) -> None:
    if not schema.target or schema.target not in frame.columns:
        return
    series = frame[schema.target]
    report.rows_missing_target = int(series.isna().sum())
    if schema.task == "regression":
        values = to_number(series, schema.target, strict=False).dropna()
        report.target_summary = {
            "mean": float(values.mean()),
            "std": float(values.std()),
            "min": float(values.min()),
            "median": float(values.median()),
            "max": float(values.max()),
        }
    else:
        counts = target_labels(series).value_counts()
        report.class_counts = {str(k): int(counts.get(k, 0)) for k in schema.classes}


def _find_leakage(report: DataReport, frame: pd.DataFrame, schema: Schema) -> None:
    """Association of each usable column with the target; the leakage flags the schema carries
    (left out, or used at a person's request) and near-perfect columns that stay in."""
    if not schema.target or not schema.task or schema.target not in frame.columns:
        return
    target = frame[schema.target]
    present = target.notna().to_numpy()
    if present.sum() < 10:
        return
    task = "binary" if schema.task == "survival" else schema.task
    if task == "regression":
        y = to_number(target, schema.target, strict=False).to_numpy()[present]
        metric, perfect = "|correlation|", NEAR_PERFECT_CORRELATION
    else:
        labels = target_labels(target)[present]
        y = labels.map({c: i for i, c in enumerate(schema.classes)}).to_numpy(dtype=float)
        metric, perfect = "AUC", NEAR_PERFECT_AUC
    report.association_metric = metric
    for col in schema.columns:
        if col.role == "target":
            continue
        score = float("nan")
        usable = col.kind in (NUMERIC, BINARY, CATEGORICAL) and col.n_unique > 1
        if usable:
            x = frame[col.name][present].rename(col.name)
            categorical = col.kind == CATEGORICAL or (col.kind == BINARY and col.dtype == "text")
            score = _association(x, y, task, categorical)
            report.association[col.name] = round(score, 4)
        if col.leakage:
            why = col.leakage.removeprefix("possible leakage: ")
            reason = (
                f"'{col.name}' is left out by default ({why})."
                if col.role == "excluded"
                else f"'{col.name}' is used at your request although {why}."
            )
            report.leakage_suspects.append(LeakageSuspect(col.name, score, metric, reason))
        elif usable and score >= perfect:
            report.leakage_suspects.append(
                LeakageSuspect(
                    col.name,
                    score,
                    metric,
                    f"'{col.name}' alone predicts '{schema.target}' almost perfectly "
                    f"({metric} {score:.2f}). Check it is not a copy or a consequence of the "
                    "outcome, or recorded after it.",
                )
            )


def _distributions(report: DataReport, frame: pd.DataFrame, schema: Schema, limit: int) -> None:
    shown = 0
    for col in schema.columns:
        if shown >= limit or col.kind not in (NUMERIC, BINARY, CATEGORICAL):
            continue
        series = frame[col.name]
        if col.kind == NUMERIC:
            values = to_number(series, col.name, strict=False).dropna().to_numpy()
            if len(values) == 0:
                continue
            counts, edges = np.histogram(values, bins=min(30, max(5, int(np.sqrt(len(values))))))
            report.histograms[col.name] = {"counts": counts.tolist(), "edges": edges.tolist()}
        else:
            counts = series.astype(str).where(series.notna(), "(missing)").value_counts().head(20)
            report.category_counts[col.name] = {str(k): int(v) for k, v in counts.items()}
        shown += 1


def _suspicious_zeros(frame: pd.DataFrame, schema: Schema) -> list[Finding]:
    """Zeros far below a column's other values, which often mean 'not measured' (Pima's glucose)."""
    found = []
    for col in schema.columns:
        if col.kind != NUMERIC or col.role == "target":
            continue
        values = to_number(frame[col.name], col.name, strict=False).dropna()
        zeros = int((values == 0).sum())
        nonzero = values[values != 0]
        if zeros == 0 or zeros < 0.005 * len(values) or len(nonzero) < 10 or (nonzero < 0).any():
            continue
        smallest, median = float(nonzero.min()), float(nonzero.median())
        if smallest > 1 and smallest >= 0.1 * median:
            found.append(
                Finding(
                    "warning",
                    f"'{col.name}' has {zeros} zero(s) ({zeros / len(values):.1%}), far below its other "
                    f"values (smallest non-zero {smallest:g}). If zero means 'not measured', blank "
                    "those cells so they count as missing.",
                    col.name,
                )
            )
    return found


def _findings(report: DataReport, schema: Schema, frame: pd.DataFrame) -> None:
    add = report.findings.append
    if report.n_rows < SMALL_TABLE_ROWS:
        add(Finding("warning", f"Only {report.n_rows} records: metrics will be very uncertain."))
    for col in schema.columns:
        if col.role == "excluded" and col.kind in (IDENTIFIER,):
            add(
                Finding(
                    "info", f"'{col.name}' is left out of the features: {col.reason}.", col.name
                )
            )
    for name in report.constant_columns:
        add(Finding("info", f"'{name}' has the same value on every row and is left out.", name))
    features = set(schema.feature_names)
    for name, share in report.missing_share.items():
        if share >= HIGH_MISSING_SHARE and share < 1 and name in features:
            add(
                Finding(
                    "warning",
                    f"'{name}' is missing in {share:.0%} of records; imputed values will dominate it.",
                    name,
                )
            )
    for a, b in report.duplicate_columns:
        add(Finding("warning", f"'{b}' is an exact copy of '{a}': keep one of them.", b))
    if report.duplicate_rows:
        add(
            Finding(
                "warning",
                f"{report.duplicate_rows} record(s) are exact duplicates of another; duplicates can "
                "land on both sides of the train/test split and flatter the metrics.",
            )
        )
    if report.rows_missing_target:
        add(
            Finding(
                "warning",
                f"{report.rows_missing_target} record(s) have no value for the target "
                f"'{report.target}'; they are left out of training.",
                report.target,
            )
        )
    if report.class_counts:
        total = sum(report.class_counts.values())
        smallest = min(report.class_counts, key=report.class_counts.__getitem__)
        share = report.class_counts[smallest] / total if total else 0.0
        if share < IMBALANCE_SHARE:
            add(
                Finding(
                    "warning",
                    f"The classes are imbalanced: '{smallest}' is {share:.1%} of records. Class "
                    "weighting is on by default; judge the model by PR AUC, sensitivity and PPV, "
                    "not accuracy.",
                    report.target,
                )
            )
    report.findings.extend(_suspicious_zeros(frame, schema))
    for suspect in report.leakage_suspects:
        add(Finding("warning", "Possible leakage: " + suspect.reason, suspect.column))
