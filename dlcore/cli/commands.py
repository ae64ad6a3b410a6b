"""One function per command of ``python -m dlcore``."""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from dlcore.cli.session import remember_columns
from dlcore.errors import UserError
from dlcore.fsutil import file_source, neutral_name, write_table

logger = logging.getLogger("dlcore.cli")


def _clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return _clean(value.item())
    return value


def _emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    args.emitted = payload  # the audit row of the command takes its ids and counts from here
    if args.json:
        sys.stdout.write(json.dumps(_clean(payload)) + "\n")
    else:
        sys.stdout.write(text.rstrip() + "\n")


IMAGE_SUFFIXES = (".npz", ".zip", ".png", ".jpg", ".jpeg", ".dcm", ".dicom")


def is_image_data(value: str) -> bool:
    """Whether a --data argument names image data (an .npz, a ZIP, an image, a folder, demo:digits)."""
    return (
        value == "demo:digits"
        or Path(value).is_dir()
        or Path(value).suffix.lower() in IMAGE_SUFFIXES
    )


def load_images_argument(value: str, size: int, channels: int | None = None) -> Any:
    """An ImageDataset from demo:digits, a saved image dataset id, or an image file/ZIP/.npz/folder."""
    from dlcore.data.catalog import load_dataset
    from dlcore.data.images import load_digits_images, read_images

    if value == "demo:digits":
        return load_digits_images()
    if value.startswith("d-") and not Path(value).exists():
        return load_dataset(value)
    dataset = read_images(value, size=size, channels=channels)
    if dataset.skipped:  # names quoted: stderr hides them unless --show-values
        logger.warning("skipped %d file(s)", len(dataset.skipped))
    for skipped in dataset.skipped:
        logger.warning("skipped '%s': %s", skipped.name, skipped.reason)
    return dataset


def load_data_argument(value: str, target: str | None = None, censored: str = "limit") -> Any:
    """A Dataset from 'demo:KEY', a saved dataset id, or a table file (target set when given)."""
    from dlcore.data import Dataset, infer_schema, load_demo, read_table, set_target
    from dlcore.data.catalog import load_dataset

    if value.startswith("demo:"):
        dataset = load_demo(value.split(":", 1)[1])
    elif value.startswith("d-") and not Path(value).exists():
        dataset = load_dataset(value)
    else:
        table = read_table(value, censored=censored)
        remember_columns(table.frame.columns)
        for warning in table.warnings:
            logger.warning(warning)
        # A neutral name, and the file only as its name's hash: file names can name a patient.
        dataset = Dataset(
            neutral_name("table"), table.frame, infer_schema(table.frame), source=file_source(value)
        )
    if target is not None and target != dataset.schema.target:
        if target not in dataset.frame.columns:
            raise UserError(
                f"There is no column '{target}' in the data.",
                expected="one of: " + ", ".join(map(str, dataset.frame.columns[:30])),
                fix="pass the outcome column's exact name to --target",
            )
        set_target(dataset.schema, dataset.frame, target)
    return dataset


def _spec_from_args(
    args: argparse.Namespace, task: str, rows: int, *, images: bool = False, molecules: bool = False
) -> Any:
    from dlcore.models.spec import check_spec, default_image_spec, default_spec

    if args.spec:
        spec = _read_spec(args.spec)
    elif images:
        spec = default_image_spec(rows, args.architecture or "cnn")
    else:
        spec = default_spec(task, rows, molecules=molecules)
    overrides = {
        "architecture": args.architecture,
        "conv_filters": args.conv_filters,
        "augmentation": args.augment,
        "hidden_units": args.hidden,
        "activation": args.activation,
        "dropout": args.dropout,
        "batch_norm": args.batch_norm,
        "loss": args.loss,
        "optimizer": args.optimizer,
        "learning_rate": args.learning_rate,
        "momentum": args.momentum,
        "batch_size": args.batch_size,
        "epochs": args.epochs,
        "early_stopping_patience": args.patience,
        "validation_fraction": args.validation_fraction,
        "test_fraction": args.test_fraction,
        "class_weighting": args.class_weighting,
        "seed": args.seed,
        "molecule_split": getattr(args, "molecule_split", None),
        "fingerprint_radius": getattr(args, "fingerprint_radius", None),
        "fingerprint_bits": getattr(args, "fingerprint_bits", None),
    }
    for key, value in overrides.items():
        if value is not None:
            setattr(spec, key, value)
    return check_spec(spec, task)


def _read_spec(path_text: str) -> Any:
    """The ModelSpec in a JSON file; raises InvalidSpecError for a missing, unreadable or
    malformed file."""
    from dlcore.errors import InvalidSpecError
    from dlcore.models.spec import ModelSpec

    path = Path(path_text)
    if not path.is_file():
        raise InvalidSpecError(
            f"--spec names '{path_text}', which is not a file.",
            expected="a JSON file with a model specification",
            fix="check the path, or leave --spec out to use the defaults",
        )
    if path.stat().st_size > 1_000_000:
        raise InvalidSpecError(
            f"--spec names a file of {path.stat().st_size / 1e6:.1f} MB.",
            expected="a small JSON file with a model specification",
            fix="check you named the right file",
        )
    try:
        return ModelSpec.from_json(path.read_text(encoding="utf-8"))
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError) as exc:
        raise InvalidSpecError(
            f"--spec '{path.name}' is not a model specification ({type(exc).__name__}).",
            expected='a JSON object of ModelSpec fields, such as {"hidden_units": [32, 16], '
            '"epochs": 20}',
            fix="write the settings as JSON (the card.json of a model holds one under 'spec')",
        ) from None


def check_out(out: str, inputs: list[str | None]) -> Path:
    """The output path of a command, checked before any work: a known table format, an existing
    folder, and never one of the inputs. Raises UserError."""
    from dlcore.fsutil import TABLE_FORMATS

    path = Path(out)
    if path.suffix.lower() not in TABLE_FORMATS:
        raise UserError(
            f"--out names a file with the extension {path.suffix or '(none)'}.",
            expected="a file name ending in .csv, .xlsx or .parquet (the format follows it)",
            fix="name the output file with one of those extensions",
        )
    if not path.parent.is_dir():
        raise UserError(
            f"--out names a file in the folder '{path.parent}', which does not exist.",
            expected="a file in an existing folder",
            fix="create the folder first, or write the file elsewhere",
        )
    if path.is_dir():
        raise UserError(
            f"--out '{path}' is a folder.",
            expected="a file name",
            fix="add a file name such as predictions.csv",
        )
    for given in inputs:
        if given and Path(given).exists() and path.exists() and path.samefile(given):
            raise UserError(
                f"--out '{path.name}' is the input file itself.",
                expected="an output file other than the data read",
                fix="write the results to a new file name",
            )
    return path


def _units(text: str) -> list[int]:
    try:
        return [int(u) for u in text.replace(" ", "").split(",") if u]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a list of layer sizes. Expected whole numbers separated by commas. "
            "Fix: pass layer sizes such as 64,32"
        ) from None


def cmd_train(args: argparse.Namespace) -> int:
    from dlcore.data import update_columns
    from dlcore.training.pipeline import train_and_register

    if is_image_data(args.data):
        dataset = load_images_argument(args.data, args.image_size, args.channels)
        _image_choices(args, dataset)
        spec = _spec_from_args(args, dataset.task, len(dataset.images), images=True)
        if args.search:
            return _search_and_report(args, dataset, spec)
        return _report_training(
            args, train_and_register(dataset, spec, name=args.name, on_event=_epoch_printer(args))
        )
    dataset = load_data_argument(
        args.data, None if args.time else args.target, getattr(args, "censored", "limit")
    )
    if args.time:
        from dlcore.data.schema import set_survival_target

        if not args.target:
            raise UserError(
                "--time was given without --target.",
                expected="--target naming the event column (did the event happen?) with --time",
                fix="add --target EVENT_COLUMN",
            )
        set_survival_target(dataset.schema, dataset.frame, args.time, args.target)
    if dataset.schema.target is None:
        raise UserError(
            "No target column was given.",
            expected="--target COLUMN naming the outcome to predict",
            fix="add --target and the outcome column's name",
        )
    if args.smiles:
        from dlcore.data.schema import set_molecule_column

        set_molecule_column(dataset.schema, dataset.frame, args.smiles)
    update_columns(
        dataset.schema,
        included={
            **dict.fromkeys(args.include or [], True),
            **dict.fromkeys(args.exclude or [], False),
        },
        frame=dataset.frame,
    )
    if getattr(args, "treatment", None):
        from dlcore.data.treatment import set_treatment_column

        set_treatment_column(dataset.schema, dataset.frame, args.treatment)
    _table_choices(args, dataset)
    task = dataset.schema.task
    from dlcore.data.schema import molecule_columns

    spec = _spec_from_args(
        args, task, len(dataset.frame), molecules=bool(molecule_columns(dataset.schema))
    )
    from dlcore.training.cv import check_folds, default_cv_folds

    if args.search:
        return _search_and_report(args, dataset, spec)
    folds = args.cv if args.cv is not None else default_cv_folds(task, len(dataset.frame))
    if dataset.schema.treatment_column:
        from dataclasses import replace

        folds = 0  # the treatment task is judged on its held-out trial records (Qini, benefit)
        if getattr(args, "propensity_weight", None) is not None:
            spec = replace(spec, propensity_weight=float(args.propensity_weight))
    if folds:
        from dlcore.training.fit import prepare_data

        check_folds(task, prepare_data(dataset).y, folds)
    return _report_training(
        args,
        train_and_register(
            dataset,
            spec,
            name=args.name,
            on_event=_epoch_printer(args),
            cv_folds=folds,
            cv_repeats=args.cv_repeats,
        ),
    )


def _search_and_report(args: argparse.Namespace, dataset: Any, spec: Any) -> int:
    """``train --search``: Ray Tune over the spec's knobs, then the chosen settings registered."""
    from dlcore.training.search import check_budget, search_and_register

    check_budget(args.budget_trials, args.budget_minutes)
    outcome, found = search_and_register(
        dataset,
        spec,
        trials=args.budget_trials,
        minutes=args.budget_minutes,
        name=args.name,
        on_event=_epoch_printer(args),
    )
    args.search_result = found.to_card()
    return _report_training(args, outcome)


def _class_names(text: str) -> dict[int, str]:
    """argparse type of --class-names: '0=malignant,1=benign'."""
    from dlcore.data.classes import parse_class_names

    try:
        return parse_class_names(text)
    except UserError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def _image_choices(args: argparse.Namespace, dataset: Any) -> None:
    """--class-names and --positive for images; the grouping announced on stderr."""
    from dlcore.data.classes import apply_class_names, choose_positive

    if getattr(args, "class_names", None):
        apply_class_names(dataset, args.class_names)
    if getattr(args, "positive", None):
        dataset.positive_class = choose_positive(dataset.classes, args.positive)
    if dataset.positive_class:
        sys.stderr.write(f"positive class: {dataset.positive_class}\n")
    groups = dataset.groups
    if groups is not None:
        sys.stderr.write(
            f"split by {dataset.group_name}: {len(set(groups.tolist()))} groups, each kept in one part\n"
        )


def _table_choices(args: argparse.Namespace, dataset: Any) -> None:
    """--group and --positive applied; what is left out (and why) kept for --json and named on
    stderr — column names only, never values."""
    from dlcore.data.schema import set_group_column, set_positive_class

    schema = dataset.schema
    if getattr(args, "group", None):
        wanted = None if args.group.lower() == "none" else args.group
        set_group_column(schema, dataset.frame, wanted)
    if getattr(args, "positive", None):
        set_positive_class(schema, args.positive)
    args.excluded = schema.excluded
    args.leakage_included = schema.leakage_included
    leaked = schema.leakage_excluded
    if leaked:
        sys.stderr.write(
            "left out as possible leakage: "
            + ", ".join(leaked)
            + " (the reasons are in --json 'excluded'; --include COL uses one anyway)\n"
        )
    if schema.leakage_included:
        sys.stderr.write(
            "used at your request although flagged as possible leakage: "
            + ", ".join(schema.leakage_included)
            + "\n"
        )
    if schema.group_column:
        sys.stderr.write(f"split by patient: {schema.group_reason}\n")
    if schema.positive_class and schema.task in ("binary", "survival"):
        sys.stderr.write(f"positive class of '{schema.target}': {schema.positive_class}\n")


def _epoch_printer(args: argparse.Namespace) -> Any:
    def on_event(event: Any) -> None:
        if event.kind == "epoch" and not args.json and args.progress:
            logs = " ".join(f"{k}={v:.4g}" for k, v in event.logs.items())
            sys.stderr.write(f"epoch {event.epoch}/{event.epochs} {logs}\n")

    return on_event


def _report_training(args: argparse.Namespace, outcome: Any) -> int:
    record, report, result = outcome.record, outcome.report, outcome.result
    assert record is not None and report is not None  # nothing cancels a command-line run
    metrics = report.headline()
    summary = outcome.summary or {}
    counts = summary.get("test_counts") or {}
    lines = [
        f"model {record.id}  ({record.name}, version {record.version})",
        f"task {record.task}; {result.epochs_run} epochs (best {result.best_epoch}) in {result.timings['fit_s']:.1f} s",
    ]
    if counts.get("label"):
        lines.append(f"TEST SPLIT: {counts['label'].upper()} ({counts['reason']})")
    elif counts:
        lines.append(f"test split: {counts['reason']}")
    if summary.get("metrics_ci"):
        lines.append(
            "test metrics (95% CI): "
            + ", ".join(f"{k} {_interval_text(v)}" for k, v in summary["metrics_ci"].items())
        )
    else:
        lines.append("test metrics: " + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items()))
    for baseline in summary.get("baselines") or []:
        lines.append(
            f"baseline {baseline['label']}: "
            + ", ".join(f"{k} {_interval_text(v)}" for k, v in baseline["metrics"].items())
        )
    comparison = summary.get("baseline_comparison") or {}
    if comparison.get("sentence"):
        lines.append(comparison["sentence"])
    if summary.get("cross_validation"):
        lines.append(summary["cross_validation"]["sentence"])
    treatment = summary.get("treatment")
    if treatment:
        lines.extend(_treatment_lines(treatment))
    recalibration = outcome.recalibration or {}
    if recalibration.get("reason"):
        lines.append(f"calibration: {recalibration['reason']}")
    search = getattr(args, "search_result", None)
    if search:
        lines.append(
            f"search: {search['trials_run']} trials ({len(search['lost_trials'])} lost) in "
            f"{search['elapsed_s']:.0f} s; validation loss {search['best_val_loss']:.4f} "
            f"(default settings {search['default_val_loss'] or float('nan'):.4f})"
            + _search_auc_text(search)
            + _lost_trials_text(search)
            + "; chosen "
            + ", ".join(f"{k}={v}" for k, v in search["chosen_settings"].items())
        )
    _emit(
        args,
        {
            "model_id": record.id,
            "name": record.name,
            "version": record.version,
            "task": record.task,
            "kind": record.kind,
            "metrics": metrics,
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "split": result.split.sizes(),
            "timings": result.timings,
            "excluded": getattr(args, "excluded", {}),
            "leakage_included": getattr(args, "leakage_included", {}),
            "group": result.split.group,
            "split_method": result.split.method,
            "molecule_notes": result.data.notes[:20],
            "positive_class": getattr(result.layout, "positive_class", None),
            "metrics_ci": summary.get("metrics_ci"),
            "test_counts": counts,
            "judgement": counts.get("label") or "judgeable",
            "baselines": summary.get("baselines", []),
            "baseline_comparison": summary.get("baseline_comparison"),
            "baseline_sentence": comparison.get("sentence", ""),
            "cross_validation": summary.get("cross_validation"),
            "recalibration": outcome.recalibration,
            "search": getattr(args, "search_result", None),
            "treatment": treatment,
        },
        "\n".join(lines),
    )
    return 0


def _lost_trials_text(search: dict[str, Any]) -> str:
    """Each lost trial with its reason (the error's kind and first line), for the summary."""
    lost = [t for t in search.get("trials", []) if t.get("status") == "lost"]
    return "".join(
        f"; trial {t['number']} lost: {t.get('reason') or 'no reason given'}" for t in lost
    )


def _search_auc_text(search: dict[str, Any]) -> str:
    """The chosen and default trials' validation AUC (binary outcomes), for the summary line."""
    best, default = search.get("best_val_auc"), search.get("default_val_auc")
    if best is None:
        return ""
    shown = "–" if default is None else f"{default:.3f}"
    return f", validation AUC {best:.3f} (default settings {shown})"


def _treatment_lines(section: dict[str, Any]) -> list[str]:
    """The treatment task in a few lines: the arms' check, the trial's effect, the Qini area of
    ours and of the T-learner, with their CIs."""
    check = section["check"]
    lines = [check["sentence"], *check.get("warnings", [])]
    lines.append(section["overall_effect"]["sentence"])
    lines.append("network: " + section["uplift"]["sentence"])
    t = section["baselines"]["t_learner"]
    lines.append(
        f"baseline T-learner (2 x gradient boosting): Qini area {t['qini_area']:.4f} "
        f"(95% CI {t['qini_low']:.4f} to {t['qini_high']:.4f})"
    )
    return lines


def _interval_text(value: dict[str, Any]) -> str:
    """'0.912 (0.871–0.947)' from an interval dict (value, low, high)."""
    v, low, high = value.get("value"), value.get("low"), value.get("high")
    if v is None or not math.isfinite(v):
        return "—"
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return f"{v:.3f}"
    return f"{v:.3f} ({low:.3f}–{high:.3f})"


def check_threshold(value: float | None) -> None:
    """Refuse a decision threshold outside 0–1 (or NaN); raises UserError."""
    if value is None:
        return
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise UserError(
            f"--threshold {value} was given.",
            expected="a probability between 0 and 1, such as 0.3",
            fix="pass --threshold with a value from 0 to 1 (leave it out for the model's operating point)",
        )


def cmd_predict(args: argparse.Namespace) -> int:

    from dlcore.data import read_table
    from dlcore.predict import predict_with_model, with_predictions
    from dlcore.registry import load_model

    out_path = check_out(args.out, [args.data] if args.data else [])
    loaded = load_model(args.model)
    uncertainty: dict[str, Any] | None = None
    if getattr(args, "smiles", None) or not args.data:
        return _predict_smiles(args, loaded, out_path)
    if loaded.kind == "image":
        layout = loaded.layout
        images = load_images_argument(args.data, (layout.height, layout.width), layout.channels)
        result = predict_with_model(loaded, images.images, images.file_names)
        out, warnings = result.table, [f"skipped {s.name}: {s.reason}" for s in images.skipped]
    else:
        table = read_table(args.data)
        remember_columns(table.frame.columns)
        result = predict_with_model(loaded, table.frame)
        predictions = result.table
        if getattr(args, "uncertainty", False):
            spread = _batch_uncertainty(loaded, table.frame)
            predictions = predictions.join(spread.columns(predictions.index))
            uncertainty = {
                "samples": spread.samples,
                "method": spread.method,
                "disagree": int(len(spread.agree) - spread.agree.sum()),
                "summary": spread.summary(),
            }
        out, replaced = with_predictions(table.frame, predictions)
        warnings = [*table.warnings, *replaced]
    write_table(out, out_path)  # CSV and XLSX cells neutralised for spreadsheets
    for note in [*warnings, *result.notes]:
        logger.warning(note)
    payload = {"model_id": loaded.id, "rows": len(out), "out": str(out_path), "notes": result.notes}
    if uncertainty:
        payload["uncertainty"] = uncertainty
    _emit(
        args,
        payload,
        f"wrote {len(out)} predictions to {out_path}"
        + "".join(f"\nnote: {n}" for n in result.notes)
        + (f"\n{uncertainty['summary']}" if uncertainty else ""),
    )
    return 0


def _batch_uncertainty(loaded: Any, frame: Any) -> Any:
    """``predict --uncertainty``: the runs' spread per record, or exit 2 saying why there is none."""
    from dlcore.predict import prediction_uncertainty

    spread = None
    if loaded.kind == "tabular":
        spread = prediction_uncertainty(
            loaded.model, loaded.layout, frame, recalibrator=loaded.recalibrator
        )
    if spread is None:
        raise UserError(
            f"Model '{loaded.id}' ({loaded.kind}, {loaded.layout.task}) gives no per-record "
            "spread.",
            expected="a tabular binary or regression model with dropout (the default networks)",
            fix="leave out --uncertainty for this model",
        )
    return spread


def _molecule_column(loaded: Any) -> str:
    infos = getattr(loaded.layout, "molecule_features", [])
    if not infos:
        raise UserError(
            f"Model '{loaded.id}' takes no molecules.",
            expected="--data with a table of records for this model",
            fix="pass --data FILE instead of --smiles",
        )
    return infos[0].name


def _predict_smiles(args: argparse.Namespace, loaded: Any, out_path: Any) -> int:
    """``predict --smiles S1 S2 ...``: molecule models whose only input is the molecule."""
    import pandas as pd

    from dlcore.predict import predict_with_model, with_predictions

    if not args.smiles:
        raise UserError(
            "Neither --data nor --smiles was given.",
            expected="--data FILE (records) or --smiles SMILES... (molecule models)",
            fix="add one of them",
        )
    column = _molecule_column(loaded)
    frame = pd.DataFrame({column: list(args.smiles)})
    result = predict_with_model(loaded, frame)
    out, _ = with_predictions(frame, result.table)
    write_table(out, out_path)
    for note in result.notes:
        logger.warning(note)
    rows = out.to_dict(orient="records")
    _emit(
        args,
        {
            "model_id": loaded.id,
            "rows": len(out),
            "out": str(out_path),
            "notes": result.notes,
            "predictions": rows,
        },
        f"wrote {len(out)} predictions to {out_path}"
        + "".join(f"\nnote: {n}" for n in result.notes),
    )
    return 0


def _explain_molecule(args: argparse.Namespace, loaded: Any) -> int:
    """``explain --smiles S [--out mol.png]``: atom contributions, sentences and the heatmap."""
    import pandas as pd

    from dlcore.data import read_table
    from dlcore.explain.molecules import MoleculeExplainer

    column = _molecule_column(loaded)
    if args.smiles:
        records = pd.DataFrame({column: [args.smiles]})
    else:
        records = read_table(args.data).frame
        if not 0 <= args.row < len(records):
            raise UserError(
                f"Row {args.row} was asked for; the data has {len(records)} rows.",
                expected=f"a row number from 0 to {len(records) - 1} (0 is the first record)",
                fix="pass a row number in that range to --row",
            )
        records = records.iloc[[args.row]]
    explainer = MoleculeExplainer(loaded.model, loaded.layout, loaded.background())
    explanation = explainer.explain(records)[0]
    lines = [*explanation.summary(), ""]
    atoms = explanation.atoms()
    lines += [f"atom {r.atom:>3} {r.element:<3} {r.contribution:+.4f}" for r in atoms.itertuples()]
    if args.out:
        out = Path(args.out)
        if out.suffix.lower() != ".png":
            raise UserError(
                f"--out is '{out.name}'.",
                expected="a .png file for the atom heatmap",
                fix="give a file name ending in .png",
            )
        if not out.parent.is_dir():
            raise UserError(
                f"The folder of --out ('{out.parent}') does not exist.",
                expected="an existing folder",
                fix="create the folder first, or write elsewhere",
            )
        out.write_bytes(explanation.heatmap_png())
        lines.append(f"wrote the atom heatmap to {out}")
    _emit(
        args,
        {
            "model_id": loaded.id,
            "smiles": explanation.smiles,
            "output": explanation.output_name,
            "prediction": explanation.output,
            "base_value": explanation.base_value,
            "atoms": [
                {"atom": int(r.atom), "element": r.element, "contribution": float(r.contribution)}
                for r in atoms.itertuples()
            ],
            "groups": [
                {"name": g.name, "atoms": g.atoms, "contribution": g.contribution}
                for g in explanation.groups
            ],
            "fingerprint_total": explanation.fingerprint_total,
            "absent_bits": explanation.absent_bits,
            "descriptors": explanation.descriptors.to_dict(orient="records"),
            "other": explanation.other.to_dict(orient="records"),
            "summary": explanation.summary(),
            "method": explanation.method,
            "additivity_error": explanation.additivity_error,
            "out": args.out,
        },
        "\n".join(lines),
    )
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from dlcore.data import read_table
    from dlcore.explain.summary import on_shown_probability, summarize
    from dlcore.explain.tabular import TabularExplainer
    from dlcore.registry import load_model

    loaded = load_model(args.model)
    if loaded.kind == "image":
        return _explain_image(args, loaded)
    if getattr(args, "smiles", None) or getattr(loaded.layout, "molecule_features", []):
        return _explain_molecule(args, loaded)
    if not args.data:
        raise UserError(
            "No --data was given.",
            expected="--data FILE with the records to explain",
            fix="add --data",
        )
    frame = read_table(args.data).frame
    if not 0 <= args.row < len(frame):
        raise UserError(
            f"Row {args.row} was asked for; the data has {len(frame)} rows.",
            expected=f"a row number from 0 to {len(frame) - 1} (0 is the first record)",
            fix="pass a row number in that range to --row",
        )
    background = loaded.background()
    explainer = TabularExplainer(
        loaded.model, loaded.layout, background if background is not None else frame
    )
    explanation = on_shown_probability(
        explainer.explain(frame.iloc[[args.row]]), loaded.recalibrator
    )
    table = explanation.contributions(0)
    k = explanation.output_index(0)
    summary = summarize(explanation, 0)
    lines = [summary, "", f"{'feature':<32} {'value':>14} {'contribution':>14}"]
    lines += [
        f"{r.feature:<32} {r.value!s:>14} {r.contribution:>+14.4f}" for r in table.itertuples()
    ]
    _emit(
        args,
        {
            "model_id": loaded.id,
            "row": args.row,
            "output": explanation.output_names[k],
            "prediction": float(explanation.outputs[0, k]),
            "base_value": float(explanation.base_values[k]),
            "contributions": [
                {"feature": r.feature, "value": r.value, "contribution": float(r.contribution)}
                for r in table.itertuples()
            ],
            "summary": summary,
            "method": explanation.method,
            "additivity_error": explanation.additivity_error,
        },
        "\n".join(lines),
    )
    return 0


def _explain_image(args: argparse.Namespace, loaded: Any) -> int:
    from dlcore.explain.images import ImageExplainer

    layout = loaded.layout
    images = load_images_argument(args.data, (layout.height, layout.width), layout.channels)
    if not 0 <= args.row < len(images.images):
        raise UserError(
            f"Image {args.row} was asked for; the data has {len(images.images)} image(s).",
            expected=f"a number from 0 to {len(images.images) - 1}",
            fix="pass an image number in that range to --row",
        )
    explainer = ImageExplainer(loaded.model, layout, loaded.background())
    explanation = explainer.explain(images.images[args.row], method=args.method)
    shares = explanation.quadrant_shares()
    peak = np.unravel_index(int(np.argmax(explanation.heatmap)), explanation.heatmap.shape)
    lines = [
        f"{images.file_names[args.row]}: predicted {explanation.output_name} "
        f"({float(explanation.probabilities.max()):.1%}); {explanation.method} heatmap",
        "evidence by quadrant: " + ", ".join(f"{k} {v:.0%}" for k, v in shares.items()),
    ]
    if args.out:
        from dlcore.plots.explain import overlay_heatmap

        overlay_heatmap(images.images[args.row], explanation.heatmap).save(args.out)
        lines.append(f"wrote the overlay to {args.out}")
    _emit(
        args,
        {
            "model_id": loaded.id,
            "file": images.file_names[args.row],
            "method": explanation.method,
            "explained_class": explanation.output_name,
            "probabilities": explanation.probabilities.tolist(),
            "quadrant_shares": shares,
            "peak": [int(peak[0]), int(peak[1])],
            "additivity_error": explanation.additivity_error,
            "overlay": args.out,
        },
        "\n".join(lines),
    )
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from dlcore.data import read_table
    from dlcore.evaluate.model_report import clinical_report, evaluation_data
    from dlcore.registry import load_model

    check_threshold(args.threshold)
    loaded = load_model(args.model)
    records, source = None, None
    if args.data:
        if loaded.kind == "image":
            layout = loaded.layout
            records = load_images_argument(
                args.data, (layout.height, layout.width), layout.channels
            )
        else:
            records = read_table(args.data).frame
        source = f"external cohort {Path(args.data).name} ({len(records.images) if hasattr(records, 'images') else len(records)} records)"
    data = evaluation_data(loaded, records, source=source)
    from dlcore.evaluate.metrics import reportability

    verdict = reportability(loaded.layout.task, data.y)
    report = clinical_report(loaded, data, threshold=args.threshold, resamples=args.resamples)
    payload: dict[str, Any] = {
        "test_counts": verdict.to_dict(),
        "judgement": verdict.label or "judgeable",
        "model_id": loaded.id,
        "task": report.task,
        "data": data.source,
        "external": data.external,
        "n": report.n,
        "metrics": report.headline(),
        "resamples": args.resamples,
    }
    lines = [f"{loaded.name}: {data.source}"]
    if data.cohort_shift is not None:
        payload["cohort_shift"] = data.cohort_shift.to_dict()
        lines.append(f"against the training data: {data.cohort_shift.sentence}")
        lines += [f"  {c.column}: " + "; ".join(c.flags) for c in data.cohort_shift.flagged[:10]]
    if verdict.label:
        lines.append(f"{verdict.label.upper()}: {verdict.reason}")
    if report.task == "binary":
        payload["calibration"] = {
            "recalibration": report.calibrated,
            "brier": report.calibration.brier,
            "ece": report.calibration.ece,
            "slope": report.calibration.slope,
            "intercept": report.calibration.intercept,
            "calibration_in_the_large": report.calibration.calibration_in_the_large,
        }
        payload["operating_point"] = {
            "threshold": report.threshold,
            "chosen": loaded.card.get("operating_point", {"preset": "default 0.5"}),
            "confusion": report.confusion,
        }
        lines.append(
            f"prevalence {report.prevalence:.1%}; ROC AUC {report.auc}; PR AUC {report.pr_auc}"
        )
        lines.append(
            f"at threshold {report.threshold:.3f}: "
            + ", ".join(f"{k} {v}" for k, v in report.at_threshold.items())
        )
        c = report.calibration
        lines.append(
            f"calibration ({report.calibrated}): Brier {c.brier:.3f}, ECE {c.ece:.3f}, slope {c.slope:.2f}, "
            f"calibration-in-the-large {c.calibration_in_the_large:+.2f}"
        )
    elif report.task == "survival":
        lines.append(f"{report.n} records, {report.events} events; C-index {report.c_index}")
        lines += [
            f"time-dependent AUC at {t:g}: {a:.3f}"
            for t, a in zip(report.auc_times, report.auc, strict=False)
        ]
        if report.integrated_brier is not None:
            lines.append(f"integrated Brier score {report.integrated_brier:.3f}")
        payload["metrics"]["c_index"] = report.c_index.to_dict()
        payload["metrics"]["auc_at"] = {
            f"{t:g}": float(a) for t, a in zip(report.auc_times, report.auc, strict=False)
        }
        payload["resamples"] = report.resamples
    else:
        lines += [
            f"{k}: {v['value']:.3f} ({v['low']:.3f}–{v['high']:.3f})"
            for k, v in report.headline().items()
        ]
    if report.task == "survival":
        lines.append(f"95% interval of the C-index from {report.resamples} bootstrap resamples")
    else:
        lines.append(f"95% intervals from {args.resamples} stratified bootstrap resamples")
    _emit(args, payload, "\n".join(lines))
    return 0


def cmd_seed_example(args: argparse.Namespace) -> int:
    from dlcore.teach.reference_example import reference_spec, run_seed_example

    images = None
    if args.data:
        paths = [Path(p) for p in args.data]
        if len(paths) == 1 and paths[0].suffix.lower() == ".npz":
            from dlcore.data.images import read_npz

            images = read_npz(paths[0].read_bytes(), paths[0].name)
        else:
            from dlcore.data.images import read_mnist_idx

            missing = [str(p) for p in paths if not p.is_file()]
            if missing:
                raise UserError(
                    f"No file at {', '.join(missing)}.",
                    expected="MNIST IDX files or an .npz",
                    fix="check the paths",
                )
            images = read_mnist_idx({p.name: p.read_bytes() for p in paths})
    outcome = run_seed_example(images, epochs=args.epochs, on_event=_epoch_printer(args))
    report, result = outcome.report, outcome.result
    spec = reference_spec(args.epochs)
    lines = [
        f"model {outcome.record.id}: MLP 784 → 512 relu → 256 relu → {len(result.layout.classes)} softmax, "
        f"SGD lr {spec.learning_rate}, batch {spec.batch_size}, {result.epochs_run} epochs in {result.timings['fit_s']:.1f} s",
        f"test accuracy {report.accuracy:.3f} on {report.n} images (macro ROC AUC {report.macro_auc:.3f})",
    ]
    _emit(
        args,
        {
            "model_id": outcome.record.id,
            "test_accuracy": report.accuracy,
            "macro_auc": report.macro_auc,
            "test_images": report.n,
            "epochs": result.epochs_run,
            "history": result.history,
            "fit_s": result.timings["fit_s"],
        },
        "\n".join(lines),
    )
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from dlcore.registry import list_models

    models = list_models()
    lines = [f"{'id':<14} {'v':>2} {'task':<10} {'metric':<16} name"]
    for m in models:
        metric = (
            f"{m.key_metric_name} {m.key_metric_value:.3f}"
            if m.key_metric_value is not None
            else "—"
        )
        lines.append(f"{m.id:<14} {m.version:>2} {m.task:<10} {metric:<16} {m.name}")
    _emit(
        args,
        {"models": [asdict(m) for m in models]},
        "\n".join(lines) if models else "no models yet",
    )
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from dlcore.data.catalog import list_datasets

    datasets = list_datasets()
    lines = [f"{d.id:<14} {d.rows:>7} rows  {d.task or '—':<10} {d.name}" for d in datasets]
    _emit(
        args,
        {"datasets": [asdict(d) for d in datasets]},
        "\n".join(lines) if datasets else "no datasets yet",
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from dlcore.training.demo_models import train_demo_models

    records = train_demo_models(force=True)
    _emit(
        args,
        {
            "models": [
                {"model_id": r.id, "name": r.name, r.key_metric_name: r.key_metric_value}
                for r in records
            ]
        },
        "\n".join(
            f"trained {r.id}: {r.name} ({r.key_metric_name} {r.key_metric_value:.3f})"
            for r in records
        ),
    )
    return 0


def cmd_prepare_demo(args: argparse.Namespace) -> int:
    from dlcore.training.demo_models import prepare_demo

    summary = prepare_demo(train_model=not args.no_model)
    _emit(args, summary, "demo ready: " + ", ".join(f"{k}={v}" for k, v in summary.items()))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from dlcore.doctor import run_doctor

    report = run_doctor()
    lines = [f"fixed: {f}" for f in report.fixed] + [f"PROBLEM: {p}" for p in report.problems]
    lines += [f"{k.replace('_', ' ')}: {v}" for k, v in report.checked.items()]
    lines.append("all well" if report.ok else f"{len(report.problems)} problem(s) need a person")
    _emit(args, report.to_dict(), "\n".join(lines))
    return 0 if report.ok else 3


def cmd_audit(args: argparse.Namespace) -> int:
    from dlcore.governance.audit import audit_frame

    out_path = check_out(args.out, [])
    frame = audit_frame(username=args.username, action=args.action, limit=1_000_000)
    kind = write_table(frame, out_path)
    _emit(
        args,
        {"rows": len(frame), "out": str(out_path), "format": kind},
        f"wrote {len(frame)} audit row(s) to {out_path}",
    )
    return 0
