"""The model card: who the model is for, what it was trained on, how well it works (with
uncertainty), how its probabilities and threshold behave, for whom it may not work — as Markdown
and as one self-contained HTML file with its plots (Mitchell et al., 'Model Cards for Model
Reporting', 2019)."""

from __future__ import annotations

import html
import logging
from typing import Any

from dlcore.report.wording import metric_name

logger = logging.getLogger(__name__)


def _esc(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def limitations(card: dict[str, Any], report: Any = None, subgroups: Any = None) -> list[str]:
    """What a reader must know before relying on the model: data warnings (leakage, imbalance,
    missingness) recomputed from the training data when it is still in the workspace, the size
    of the evaluation, calibration, flagged subgroups, and provenance."""
    notes: list[str] = []
    dataset = card.get("dataset", {})
    if card.get("source", {}).get("kind") == "upload":
        notes.append(
            "Uploaded model: its training data and metrics are as its card states; they were not checked here."
        )
    if card.get("kind") == "tabular" and dataset.get("id"):
        try:
            from dlcore.data.catalog import load_dataset
            from dlcore.data.quality import quality_report
            from dlcore.data.schema import Schema

            data = load_dataset(dataset["id"])
            findings = quality_report(data.frame, Schema.from_dict(card["schema"])).findings
            notes += [f"Training data: {f.message}" for f in findings if f.severity == "warning"]
        except Exception:  # the card is still useful without the data report
            logger.info("training data unavailable for the model card's limitations")
    if dataset.get("leakage_included"):
        notes.append(
            "Columns flagged as possible leakage were used at the user's request ("
            + ", ".join(dataset["leakage_included"])
            + "): the metrics may be better than the model will do before the outcome is known."
        )
    if dataset.get("source", "").startswith("demo:"):
        notes.append(
            "Trained on a public teaching data set from one source: not validated for clinical decisions."
        )
    counts = card.get("test_counts") or {}
    if counts.get("label"):
        notes.append(
            f"The test split is {counts['label']}: {counts.get('reason', '')}. Its metrics are "
            "shown but support no conclusion."
        )
    recalibration = card.get("recalibration") or {}
    if recalibration.get("refused"):
        notes.append(f"Recalibration was tried and not saved: {recalibration.get('reason', '')}.")
    saved = card.get("calibration") or {}
    saved_method = str(saved.get("method") or "")
    before, after = saved.get("held_out_brier_before"), saved.get("held_out_brier_after")
    worse = saved_method not in ("", "none") and None not in (before, after) and after > before
    if worse:  # saved although worse: never called calibrated
        notes.append(
            f"The saved {saved_method} recalibration makes the held-out probabilities worse "
            f"(Brier score {before:.3f} without it, {after:.3f} with it): they are not better "
            "calibrated than the network's own output."
        )
    comparison = card.get("baseline_comparison") or {}
    if comparison.get("verdict") in ("similar", "worse"):
        notes.append(
            f"A simpler model does as well or better on the same split: {comparison.get('sentence', '')}"
        )
    if report is not None:
        n = getattr(report, "n", 0)
        if n and n < 200:
            notes.append(f"Evaluated on only {n} records: the confidence intervals are wide.")
        if getattr(report, "task", "") in ("binary", "survival") and (
            "external" not in report.source
        ):
            notes.append(
                "Not externally validated: the metrics come from a held-out split of the training source."
            )
        if getattr(report, "task", "") == "binary":
            c = report.calibration
            if abs(c.calibration_in_the_large) > 0.2 or abs(c.slope - 1) > 0.2:
                measured = (
                    f"slope {c.slope:.2f}, calibration-in-the-large "
                    f"{c.calibration_in_the_large:+.2f}"
                )
                if saved_method not in ("", "none"):
                    # Never "recalibrate" when a recalibration is already saved.
                    notes.append(
                        f"Probabilities are still imperfectly calibrated after the saved "
                        f"{saved_method} recalibration ({measured}): read them as a ranking of "
                        "patients more than as exact risks."
                    )
                elif recalibration.get("refused"):
                    notes.append(
                        f"Probabilities are imperfectly calibrated ({measured}), and the "
                        "recalibration tried made them worse, so they are the network's own "
                        "output: read them as a ranking of patients more than as exact risks."
                    )
                else:
                    notes.append(
                        f"Probabilities are imperfectly calibrated ({measured}); recalibrate "
                        "before reading them as risks."
                    )
    if subgroups is not None:
        for row in subgroups.rows:
            if row.flags:
                notes.append(
                    f"Subgroup {subgroups.column} = {row.group}: " + "; ".join(row.flags) + "."
                )
    if not notes:
        notes.append(
            "No specific limitation was detected; clinical use still needs prospective validation."
        )
    return notes


def _molecule_lines(molecules: dict[str, Any] | None) -> list[str]:
    """The card's 'Molecules' section: how SMILES became inputs, the split, rows left out and
    the applicability-domain threshold (issue 17)."""
    if not molecules:
        return []
    lines = ["", "## Molecules", ""]
    for column, settings in (molecules.get("columns") or {}).items():
        settings = settings or {}
        lines.append(
            f"- '{_esc(column)}' (SMILES), standardised (largest fragment, neutralised), read as "
            f"Morgan fingerprints (radius {settings.get('radius')}, {settings.get('n_bits')} bits) "
            + (
                "as present or not "
                if settings.get("fingerprint", "bits") == "bits"
                else "as log(1 + count) of each environment "
            )
            + f"and {len(settings.get('descriptors') or [])} RDKit 2-D descriptors; at most "
            f"{settings.get('max_heavy_atoms')} heavy atoms."
        )
    if molecules.get("split"):
        lines.append(f"- Split: {_esc(molecules['split'])}.")
    notes = molecules.get("notes") or []
    if notes:
        lines.append(f"- {_esc(notes[0])}")
    if molecules.get("domain_threshold") is not None:
        lines.append(
            "- Predictions report the nearest training molecule; below a Tanimoto similarity of "
            f"{molecules['domain_threshold']:g} a molecule is outside what the model has seen."
        )
    return lines


def _positive_text(dataset: dict[str, Any]) -> str:
    """'malignant', or 'DEATH_EVENT (coded 1)' when the class is only 1/yes: never a bare '1'."""
    from dlcore.models.layouts import outcome_label

    positive = str(dataset["positive_class"])
    label = outcome_label(positive, dataset.get("target"))
    return positive if label == positive else f"{label} (coded {positive})"


def model_card_markdown(
    card: dict[str, Any], report: Any = None, subgroups: Any = None, cohort_shift: Any = None
) -> str:
    """The model card as Markdown; with ``cohort_shift`` (an external cohort's CohortShiftReport)
    a section compares that cohort with the training data."""
    dataset = card.get("dataset", {})
    spec = card.get("spec", {})
    lines = [
        f"# Model card: {card.get('name', card.get('id'))}",
        "",
        f"Version {card.get('version', 1)} · id `{card.get('id')}` · created {card.get('created', '—')} · "
        f"{card.get('kind', 'tabular')} {card.get('task', '')} model",
        "",
        "## Intended use",
        "",
        str(card.get("intended_use", "—")),
        "",
        "## Data",
        "",
        f"- Source: {dataset.get('name', '—')} ({dataset.get('source', '—')}), fingerprint `{dataset.get('fingerprint', '—')}`",
        f"- Records: {dataset.get('rows', '—')} ({dataset.get('labelled_rows', '—')} labelled); outcome: "
        f"{dataset.get('target', '—')}"
        + (f", positive class {_positive_text(dataset)}" if dataset.get("positive_class") else ""),
    ]
    if dataset.get("class_counts"):
        lines.append(
            "- Images per class: "
            + ", ".join(f"{k} {v}" for k, v in dataset["class_counts"].items())
        )
    if dataset.get("excluded_columns"):
        lines.append(
            "- Left out: " + "; ".join(f"{k} ({v})" for k, v in dataset["excluded_columns"].items())
        )
    if dataset.get("leakage_included"):
        lines.append(
            "- **Used although flagged as possible leakage** (included at the user's request): "
            + "; ".join(f"{k} ({v})" for k, v in dataset["leakage_included"].items())
        )
    if card.get("split"):
        sizes = card["split"].get("sizes", {})
        group = card["split"].get("group")
        lines.append(
            f"- Split (seed {card['split'].get('seed')}): "
            + ", ".join(f"{k} {v}" for k, v in sizes.items())
            + (
                f"; grouped by {group}: each of {card['split'].get('n_groups', '?')} groups "
                "wholly in one part"
                if group
                else "; by record (no patient grouping)"
            )
        )
    if cohort_shift is not None:
        lines += ["", "## External cohort against the training data", "", cohort_shift.sentence, ""]
        if cohort_shift.flagged:
            lines += ["| column | what differs |", "|---|---|"] + [
                f"| {_esc(c.column)} | {_esc('; '.join(c.flags))} |" for c in cohort_shift.flagged
            ]
    if card.get("treatment"):
        from dlcore.report.treatment import treatment_markdown

        lines += treatment_markdown(card["treatment"])
    lines += ["", "## Model", ""]
    if spec:
        lines.append(
            f"{spec.get('architecture', 'mlp').upper()} with hidden layers {spec.get('hidden_units')}"
            + (
                f" after convolution blocks {spec.get('conv_filters')}"
                if spec.get("architecture") == "cnn"
                else ""
            )
            + f", {spec.get('activation')} activation, dropout {spec.get('dropout')}, optimizer {spec.get('optimizer')} "
            f"(learning rate {spec.get('learning_rate')}), batch {spec.get('batch_size')}, "
            f"{card.get('epochs_run', '?')} epochs (best {card.get('best_epoch', '?')}), seed {spec.get('seed')}."
        )
    lines += _molecule_lines(card.get("molecules"))
    lines += ["", "## Performance", ""]
    if report is not None and getattr(report, "task", "") == "survival":
        lines += _survival_performance(report)
    elif report is not None:
        lines.append(
            f"On the {report.source}; 95% intervals from {getattr(report, 'resamples', 1000)} stratified bootstrap resamples."
        )
        lines += ["", "| metric | value (95% CI) |", "|---|---|"]
        for key, value in report.headline().items():
            if isinstance(value, dict):
                lines.append(
                    f"| {_esc(metric_name(key))} | {value['value']:.3f} ({value['low']:.3f}–{value['high']:.3f}) |"
                )
            else:
                lines.append(f"| {_esc(metric_name(key))} | {value:.3f} |")
        if getattr(report, "task", "") == "binary":
            c = report.calibration
            lines += [
                "",
                "## Calibration",
                "",
                f"{report.calibrated.capitalize()}. Brier score {c.brier:.3f}, expected calibration error {c.ece:.3f}, "
                f"calibration slope {c.slope:.2f}, calibration-in-the-large {c.calibration_in_the_large:+.2f} "
                f"(mean predicted {c.mean_predicted:.3f} against observed {c.observed_rate:.3f}).",
            ]
    elif card.get("metrics"):
        lines += ["| metric | value |", "|---|---|"] + [
            f"| {_esc(metric_name(k))} | {v:.3f} |"
            for k, v in card["metrics"].items()
            if isinstance(v, float)
        ]
    lines += _training_uncertainty(card)
    point = card.get("operating_point")
    task = getattr(report, "task", "") or card.get("task", "")
    if task == "binary":  # a decision threshold only means something for a yes/no outcome
        lines += ["", "## Operating point", ""]
        if point:
            how = point.get("preset", "fixed")
            value = point.get("value")
            lines.append(
                f"Decision threshold {point['threshold']:.3f} ({how}{'' if value is None else f' {value}'}), set on the "
                f"{point.get('set_on', '—')}"
                + (" with recalibrated probabilities" if point.get("calibrated") else "")
                + "."
            )
        else:
            lines.append("The default threshold 0.5 (no operating point was chosen).")
    if subgroups is not None:
        frame = subgroups.to_frame()
        lines += [
            "",
            f"## Subgroups by {subgroups.column}",
            "",
            "| " + " | ".join(frame.columns) + " |",
            "|" + "---|" * len(frame.columns),
        ]
        for row in frame.itertuples(index=False):
            lines.append(
                "| "
                + " | ".join(_esc(f"{v:.3f}" if isinstance(v, float) else v) for v in row)
                + " |"
            )
    lines += ["", "## Limitations", ""] + [
        f"- {note}" for note in limitations(card, report, subgroups)
    ]
    versions = card.get("library_versions", {})
    if versions:
        lines += ["", "## Software", "", ", ".join(f"{k} {v}" for k, v in versions.items())]
    return "\n".join(lines) + "\n"


def _interval_cell(value: Any) -> str:
    if not isinstance(value, dict) or value.get("value") is None:
        return "—"
    v, low, high = value.get("value"), value.get("low"), value.get("high")
    if low is None or high is None:
        return f"{v:.3f}"
    return f"{v:.3f} ({low:.3f}–{high:.3f})"


def _training_uncertainty(card: dict[str, Any]) -> list[str]:
    """The training-time test split's metrics with intervals and counts, the baselines fitted on
    the same split with the comparison sentence, and the cross-validated estimate."""
    lines: list[str] = []
    metrics = card.get("metrics_ci") or {}
    counts = card.get("test_counts") or {}
    baselines = card.get("baselines") or []
    if metrics:
        lines += ["", "## Test split at training, with 95% intervals", ""]
        if counts.get("label"):
            lines += [f"{counts['label'].capitalize()}: {counts.get('reason', '')}.", ""]
        elif counts:
            lines += [f"Counts: {counts.get('reason', '')}.", ""]
        names = [b.get("label", b.get("name", "")) for b in baselines]
        lines.append("| metric | network | " + " | ".join(_esc(n) for n in names) + " |")
        lines.append("|---|---|" + "---|" * len(names))
        for key, value in metrics.items():
            cells = [_interval_cell(b.get("metrics", {}).get(key)) for b in baselines]
            lines.append(
                f"| {_esc(metric_name(key))} | {_interval_cell(value)} | "
                + " | ".join(cells)
                + " |"
            )
    sentence = (card.get("baseline_comparison") or {}).get("sentence")
    if sentence:
        lines += ["", "## Baseline", "", sentence]
        subset = next(
            (b for b in baselines if 0 < b.get("fit_records", 0) < b.get("development_records", 0)),
            None,
        )
        if subset is not None:
            lines += [
                "",
                f"The baselines were fitted on a random {subset['fit_records']:,} of the "
                f"{subset['development_records']:,} development records.",
            ]
    elif metrics and not baselines:
        lines += ["", "## Baseline", "", "No baseline was fitted for this model."]
    cv = card.get("cross_validation") or {}
    if cv.get("sentence"):
        lines += ["", "## Cross-validation", "", cv["sentence"]]
    return lines


def _step_at(times: list[float], values: list[float], at: float) -> float:
    """The value of a right-continuous step curve (starting at 1) at time ``at``."""
    import bisect

    position = bisect.bisect_right(list(times), at) - 1
    return float(values[position]) if position >= 0 else 1.0


def _survival_performance(report: Any) -> list[str]:
    """The Performance and calibration-over-time sections for a dlcore.survival.SurvivalReport."""
    c = report.c_index
    resamples = getattr(report, "resamples", 0)
    counted = "" if f"{report.n} records" in report.source else f"{report.n} records, "
    lines = [
        f"On the {report.source}: {counted}{report.events} events"
        + (
            f"; the C-index's 95% interval from {resamples} bootstrap resamples (seed 0)."
            if resamples
            else "."
        ),
        "",
        "| metric | value (95% CI) |",
        "|---|---|",
        f"| C-index (Harrell) | {c.value:.3f} ({c.low:.3f}–{c.high:.3f}) |",
    ]
    for at, auc in zip(report.auc_times, report.auc, strict=False):
        lines.append(f"| time-dependent AUC at {at:g} | {auc:.3f} |")
    if report.auc:
        lines.append(f"| mean time-dependent AUC | {report.mean_auc:.3f} |")
    if report.integrated_brier is not None:
        lines.append(f"| integrated Brier score | {report.integrated_brier:.3f} |")
    if report.risk_groups and report.auc_times:
        predicted = {g["group"]: g for g in report.predicted_groups}
        header = " | ".join(f"at {t:g}: observed / predicted" for t in report.auc_times)
        lines += [
            "",
            "## Calibration over time",
            "",
            "Survival of the predicted-risk tertiles: observed (Kaplan–Meier) against the mean "
            "predicted survival.",
            "",
            f"| group | patients | events | {header} |",
            "|---|---|---|" + "---|" * len(report.auc_times),
        ]
        for group in report.risk_groups:
            mean = predicted.get(group.group, {"times": [], "survival": []})
            cells = [
                f"{_step_at(group.times, group.survival, t):.0%} / "
                + (
                    f"{_step_at(mean['times'], mean['survival'], t):.0%}"
                    if mean["survival"]
                    else "—"
                )
                for t in report.auc_times
            ]
            lines.append(
                f"| {_esc(group.group)} | {group.n} | {group.events} | " + " | ".join(cells) + " |"
            )
    return lines


def model_card_html(
    card: dict[str, Any],
    report: Any = None,
    subgroups: Any = None,
    figures: list[Any] | None = None,
) -> str:
    """The model card as one self-contained HTML file (plotly.js inlined once, no network)."""
    import re

    markdown = model_card_markdown(card, report, subgroups)
    body = []
    in_list = in_table = False
    for line in markdown.splitlines():
        text = html.escape(line)
        text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip("|"))]
            if set(line) <= set("|-"):
                continue
            tag = "th" if not in_table else "td"
            if not in_table:
                body.append("<table>")
                in_table = True
            body.append(
                "<tr>"
                + "".join(
                    f"<{tag}>{html.escape(c.replace(chr(92) + '|', '|'))}</{tag}>" for c in cells
                )
                + "</tr>"
            )
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("- "):
            if not in_list:
                body.append("<ul>")
                in_list = True
            body.append(f"<li>{text[2:]}</li>")
            continue
        if in_list:
            body.append("</ul>")
            in_list = False
        if line.startswith("# "):
            body.append(f"<h1>{text[2:]}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{text[3:]}</h2>")
        elif line.strip():
            body.append(f"<p>{text}</p>")
    if in_list:
        body.append("</ul>")
    if in_table:
        body.append("</table>")
    plots = []
    for i, figure in enumerate(figures or []):
        plots.append(
            figure.to_html(full_html=False, include_plotlyjs="inline" if i == 0 else False)
        )
    style = (
        "body{font-family:system-ui,sans-serif;max-width:980px;margin:2rem auto;color:#14212e;line-height:1.5}"
        "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccd5de;padding:.3rem .6rem;text-align:left}"
        "th{background:#eef2f6}code{background:#eef2f6;padding:0 .2rem}h1{color:#1f5f99}"
    )
    title = html.escape(str(card.get("name", "model")))
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Model card: {title}</title>"
        f"<style>{style}</style></head><body>{''.join(body)}"
        + ("<h2>Figures</h2>" + "".join(plots) if plots else "")
        + "</body></html>"
    )
