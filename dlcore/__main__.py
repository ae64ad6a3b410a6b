"""Command line over the same functions the app uses.

    python -m dlcore train --data FILE --target COLUMN [spec options] [--json]
    python -m dlcore train --data IMAGES.zip|.npz|FOLDER [--architecture cnn|mlp] [--json]
    python -m dlcore predict --model ID --data FILE --out FILE [--json]
    python -m dlcore explain --model ID --data FILE --row N [--json]
    python -m dlcore evaluate --model ID [--data FILE] [--json]
    python -m dlcore seed-example [--data MNIST FILES] [--json]
    python -m dlcore models [--json]
    python -m dlcore datasets [--json]
    python -m dlcore demo [--json]          trains the demo models
    python -m dlcore prepare-demo           saves the demo data sets and, when missing, a demo model

``--data`` takes a table (CSV, TSV, XLSX, Parquet), image data (a ZIP of class folders, a
MedMNIST-style .npz, a folder, one PNG/JPEG/DICOM image), a saved dataset id (d-…) or demo:KEY
(breast_cancer, diabetes_progression, gbsg2, digits).
Bad input exits with status 2 and a message that says what was wrong and how to fix it.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from dlcore.errors import DlcoreError, UserError

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
    for skipped in dataset.skipped:
        logger.warning("skipped %s: %s", skipped.name, skipped.reason)
    return dataset


def load_data_argument(value: str, target: str | None = None) -> Any:
    """A Dataset from 'demo:KEY', a saved dataset id, or a table file (target set when given)."""
    from dlcore.data import Dataset, infer_schema, load_demo, read_table, set_target
    from dlcore.data.catalog import load_dataset

    if value.startswith("demo:"):
        dataset = load_demo(value.split(":", 1)[1])
    elif value.startswith("d-") and not Path(value).exists():
        dataset = load_dataset(value)
    else:
        table = read_table(value)
        for warning in table.warnings:
            logger.warning(warning)
        dataset = Dataset(
            Path(value).stem, table.frame, infer_schema(table.frame), source=Path(value).name
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


def _spec_from_args(args: argparse.Namespace, task: str, rows: int, *, images: bool = False) -> Any:
    from dlcore.models.spec import ModelSpec, check_spec, default_image_spec, default_spec

    if args.spec:
        spec = ModelSpec.from_json(Path(args.spec).read_text())
    elif images:
        spec = default_image_spec(rows, args.architecture or "cnn")
    else:
        spec = default_spec(task, rows)
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
    }
    for key, value in overrides.items():
        if value is not None:
            setattr(spec, key, value)
    return check_spec(spec, task)


def _units(text: str) -> list[int]:
    try:
        return [int(u) for u in text.replace(" ", "").split(",") if u]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a list of layer sizes such as 64,32"
        ) from None


def cmd_train(args: argparse.Namespace) -> int:
    from dlcore.data import update_columns
    from dlcore.workflows import train_and_register

    if is_image_data(args.data):
        dataset = load_images_argument(args.data, args.image_size, args.channels)
        spec = _spec_from_args(args, dataset.task, len(dataset.images), images=True)
        return _report_training(
            args, train_and_register(dataset, spec, name=args.name, on_event=_epoch_printer(args))
        )
    dataset = load_data_argument(args.data, None if args.time else args.target)
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
    update_columns(
        dataset.schema,
        included={
            **dict.fromkeys(args.include or [], True),
            **dict.fromkeys(args.exclude or [], False),
        },
        frame=dataset.frame,
    )
    spec = _spec_from_args(args, dataset.schema.task, len(dataset.frame))
    return _report_training(
        args, train_and_register(dataset, spec, name=args.name, on_event=_epoch_printer(args))
    )


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
    lines = [
        f"model {record.id}  ({record.name}, version {record.version})",
        f"task {record.task}; {result.epochs_run} epochs (best {result.best_epoch}) in {result.timings['fit_s']:.1f} s",
        "test metrics: " + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items()),
    ]
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
        },
        "\n".join(lines),
    )
    return 0


def cmd_predict(args: argparse.Namespace) -> int:

    from dlcore.data import read_table
    from dlcore.prediction import predict_with_model, with_predictions
    from dlcore.registry import load_model

    loaded = load_model(args.model)
    if loaded.kind == "image":
        layout = loaded.layout
        images = load_images_argument(args.data, (layout.height, layout.width), layout.channels)
        result = predict_with_model(loaded, images.images, images.file_names)
        out, warnings = result.table, [f"skipped {s.name}: {s.reason}" for s in images.skipped]
    else:
        table = read_table(args.data)
        result = predict_with_model(loaded, table.frame)
        out, replaced = with_predictions(table.frame, result.table)
        warnings = [*table.warnings, *replaced]
    out_path = Path(args.out)
    if out_path.suffix.lower() == ".parquet":
        out.to_parquet(out_path, index=False)
    else:
        out.to_csv(out_path, index=False)
    for note in [*warnings, *result.notes]:
        logger.warning(note)
    _emit(
        args,
        {"model_id": loaded.id, "rows": len(out), "out": str(out_path), "notes": result.notes},
        f"wrote {len(out)} predictions to {out_path}"
        + "".join(f"\nnote: {n}" for n in result.notes),
    )
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from dlcore.data import read_table
    from dlcore.explain import TabularExplainer, summarize
    from dlcore.registry import load_model

    loaded = load_model(args.model)
    if loaded.kind == "image":
        return _explain_image(args, loaded)
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
    explanation = explainer.explain(frame.iloc[[args.row]])
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
    from dlcore.explain_images import ImageExplainer

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
        from dlcore.plots import overlay_heatmap

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
    from dlcore.registry import load_model
    from dlcore.workflows import clinical_report, evaluation_data

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
    report = clinical_report(loaded, data, threshold=args.threshold, resamples=args.resamples)
    payload: dict[str, Any] = {
        "model_id": loaded.id,
        "task": report.task,
        "data": data.source,
        "external": data.external,
        "n": report.n,
        "metrics": report.headline(),
        "resamples": args.resamples,
    }
    lines = [f"{loaded.name}: {data.source}"]
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
    from dlcore.seed import reference_spec, run_seed_example

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
    from dlcore.demo import train_demo_models

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
    from dlcore.demo import prepare_demo

    summary = prepare_demo(train_model=not args.no_model)
    _emit(args, summary, "demo ready: " + ", ".join(f"{k}={v}" for k, v in summary.items()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dlcore", description="Clinician deep-learning engine"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="print one JSON object")

    train = sub.add_parser("train", help="train, evaluate and register a model")
    common(train)
    train.add_argument("--data", required=True, help="table file, dataset id or demo:KEY")
    train.add_argument("--target", help="the outcome column (for survival: the event column)")
    train.add_argument("--time", help="survival: the follow-up time column (with --target EVENT)")
    train.add_argument("--name", help="a name for the model")
    train.add_argument("--include", nargs="*", help="columns to use even if excluded by default")
    train.add_argument("--exclude", nargs="*", help="columns to leave out")
    train.add_argument("--spec", help="a JSON file with a ModelSpec")
    train.add_argument("--hidden", type=_units, help="hidden layer sizes, e.g. 64,32")
    train.add_argument("--activation")
    train.add_argument("--dropout", type=float)
    train.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, default=None)
    train.add_argument("--loss")
    train.add_argument("--optimizer")
    train.add_argument("--learning-rate", type=float)
    train.add_argument("--momentum", type=float)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--epochs", type=int)
    train.add_argument("--patience", type=int, help="early-stopping patience (0 = off)")
    train.add_argument("--validation-fraction", type=float)
    train.add_argument("--test-fraction", type=float)
    train.add_argument("--class-weighting", choices=["balanced", "none"])
    train.add_argument("--seed", type=int)
    train.add_argument("--architecture", choices=["mlp", "cnn"], help="for images")
    train.add_argument(
        "--conv-filters", type=_units, help="for a CNN: filters per block, e.g. 32,64,128"
    )
    train.add_argument(
        "--augment", nargs="*", choices=["flip", "rotation", "zoom", "contrast"], help="for images"
    )
    train.add_argument(
        "--image-size", type=int, default=64, help="images are resized to this (default 64)"
    )
    train.add_argument(
        "--channels", type=int, choices=[1, 3], help="1 = grayscale, 3 = colour (default: as read)"
    )
    train.add_argument("--progress", action="store_true", help="print each epoch to stderr")
    train.set_defaults(func=cmd_train)

    predict = sub.add_parser("predict", help="predict for the records of a file")
    common(predict)
    predict.add_argument("--model", required=True)
    predict.add_argument("--data", required=True)
    predict.add_argument("--out", required=True, help="output CSV (or .parquet)")
    predict.set_defaults(func=cmd_predict)

    explain = sub.add_parser("explain", help="explain one record's prediction with SHAP")
    common(explain)
    explain.add_argument("--model", required=True)
    explain.add_argument("--data", required=True)
    explain.add_argument("--row", type=int, default=0, help="row (or image) number, 0 = the first")
    explain.add_argument(
        "--method",
        default="auto",
        choices=["auto", "grad-cam", "saliency", "shap"],
        help="for images",
    )
    explain.add_argument("--out", help="for images: write the heatmap overlay to this PNG")
    explain.set_defaults(func=cmd_explain)

    evaluate = sub.add_parser("evaluate", help="clinical evaluation with confidence intervals")
    common(evaluate)
    evaluate.add_argument("--model", required=True)
    evaluate.add_argument("--data", help="an external cohort (default: the model's test split)")
    evaluate.add_argument(
        "--threshold", type=float, help="decision threshold (default: the model's operating point)"
    )
    evaluate.add_argument(
        "--resamples", type=int, default=1000, help="bootstrap resamples (default 1000)"
    )
    evaluate.set_defaults(func=cmd_evaluate)

    seed = sub.add_parser(
        "seed-example", help="the survey's Keras example (MLP on digits or MNIST)"
    )
    common(seed)
    seed.add_argument(
        "--data", nargs="*", help="MNIST IDX files (or one .npz); default: scikit-learn's digits"
    )
    seed.add_argument("--epochs", type=int, default=10)
    seed.add_argument("--progress", action="store_true", help="print each epoch to stderr")
    seed.set_defaults(func=cmd_seed_example)

    models = sub.add_parser("models", help="list registered models")
    common(models)
    models.set_defaults(func=cmd_models)

    datasets = sub.add_parser("datasets", help="list saved datasets")
    common(datasets)
    datasets.set_defaults(func=cmd_datasets)

    demo = sub.add_parser("demo", help="train the demo models")
    common(demo)
    demo.set_defaults(func=cmd_demo)

    prepare = sub.add_parser("prepare-demo", help="save demo data sets and a demo model if missing")
    common(prepare)
    prepare.add_argument("--no-model", action="store_true", help="only the data sets")
    prepare.set_defaults(func=cmd_prepare_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input, 1 internal error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args))
    except UserError as exc:
        if getattr(args, "json", False):
            sys.stdout.write(json.dumps({"error": exc.message}) + "\n")
        sys.stderr.write(f"error: {exc.message}\n")
        return 2
    except (DlcoreError, Exception) as exc:  # anything else: a short message, details in the log
        logger.debug("internal error", exc_info=True)
        log_path = _write_crash_log()
        message = f"internal error ({type(exc).__name__}): {str(exc)[:300]}"
        if getattr(args, "json", False):
            sys.stdout.write(json.dumps({"error": message, "details": str(log_path)}) + "\n")
        sys.stderr.write(f"{message}\nthe details are in {log_path}\n")
        return 1


def _write_crash_log() -> Path:
    from dlcore.config import get_settings

    folder = get_settings().home / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cli-errors.log"
    with path.open("a") as handle:
        handle.write(traceback.format_exc() + "\n")
    return path


if __name__ == "__main__":
    sys.exit(main())
