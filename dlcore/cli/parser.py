"""The command line's parser."""

from __future__ import annotations

import argparse
from typing import Any

from dlcore.cli.commands import (
    _class_names,
    _units,
    cmd_audit,
    cmd_datasets,
    cmd_demo,
    cmd_doctor,
    cmd_evaluate,
    cmd_explain,
    cmd_models,
    cmd_predict,
    cmd_prepare_demo,
    cmd_seed_example,
    cmd_train,
)


def _whole_number(option: str, minimum: int, example: int) -> Any:
    """An argparse type: a whole number of at least ``minimum``, refused with what/expected/fix."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(
                f"{option} is '{text}'. Expected a whole number of at least {minimum}. "
                f"Fix: pass {option} with a number such as {example}."
            )
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dlcore", description="Clinician deep-learning engine"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="print one JSON object")
        p.add_argument(
            "--user",
            help="the local account to act as (default DLCORE_USER); with DLCORE_AUTH on, its "
            "password comes from DLCORE_PASSWORD or a prompt",
        )
        p.add_argument(
            "--show-values",
            action="store_true",
            help="show data values and file names in warnings (for your own terminal; by "
            "default standard error names columns and counts only)",
        )

    train = sub.add_parser("train", help="train, evaluate and register a model")
    common(train)
    train.add_argument("--data", required=True, help="table file, dataset id or demo:KEY")
    train.add_argument("--target", help="the outcome column (for survival: the event column)")
    train.add_argument("--time", help="survival: the follow-up time column (with --target EVENT)")
    train.add_argument(
        "--treatment",
        help="a randomised trial's arm column: trains a treatment-effect network (one outcome "
        "head per arm) that estimates each patient's benefit (with a yes/no --target)",
    )
    train.add_argument(
        "--propensity-weight",
        type=float,
        help="with --treatment: add a DragonNet-style propensity head with this loss weight",
    )
    train.add_argument("--name", help="a name for the model")
    train.add_argument("--include", nargs="*", help="columns to use even if excluded by default")
    train.add_argument("--exclude", nargs="*", help="columns to leave out")
    train.add_argument(
        "--group",
        help="the column that identifies patients: each patient's rows stay in one part of the "
        "split (default: detected when a patient identifier repeats; 'none' splits by row)",
    )
    train.add_argument(
        "--positive",
        help="the outcome of concern of a two-class target (default: by meaning, such as 1, yes, "
        "malignant or died, else the rarer class)",
    )
    train.add_argument(
        "--censored",
        choices=["limit", "half"],
        default="limit",
        help="values such as <5 or >100: read as the limit itself (default), or half of it for "
        "values below a detection limit",
    )
    train.add_argument(
        "--class-names",
        type=_class_names,
        help="names for numbered image labels (.npz), e.g. 0=malignant,1=benign",
    )
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
        "--image-size",
        type=_whole_number("--image-size", 8, 64),
        default=64,
        help="images are resized to this (default 64)",
    )
    train.add_argument(
        "--channels", type=int, choices=[1, 3], help="1 = grayscale, 3 = colour (default: as read)"
    )
    train.add_argument(
        "--cv",
        type=int,
        help="repeated stratified k-fold cross-validation with this many folds before the final "
        "model (default: 5 for tables under 500 records, else off; 0 turns it off)",
    )
    train.add_argument(
        "--cv-repeats", type=int, default=2, help="repeats of the cross-validation (default 2)"
    )
    train.add_argument(
        "--search",
        action="store_true",
        help="search the network's settings with Ray Tune (ASHA) on the validation split first",
    )
    train.add_argument(
        "--budget-trials", type=int, default=16, help="search: at most this many trials (16)"
    )
    train.add_argument(
        "--budget-minutes", type=float, default=30.0, help="search: at most this long (30)"
    )
    train.add_argument(
        "--smiles", help="the column of SMILES to read as molecules (found by itself when left out)"
    )
    train.add_argument(
        "--molecule-split",
        choices=["scaffold", "random"],
        help="molecules: scaffold (Bemis–Murcko, the default) or random split",
    )
    train.add_argument("--fingerprint-radius", type=int, help="molecules: Morgan radius (2)")
    train.add_argument("--fingerprint-bits", type=int, help="molecules: Morgan length (2048)")
    train.add_argument("--progress", action="store_true", help="print each epoch to stderr")
    train.set_defaults(func=cmd_train)

    predict = sub.add_parser("predict", help="predict for the records of a file")
    common(predict)
    predict.add_argument("--model", required=True)
    predict.add_argument("--data", help="a table file of records (or --smiles for molecules)")
    predict.add_argument(
        "--smiles", nargs="+", help="molecule models: one or more SMILES instead of --data"
    )
    predict.add_argument(
        "--out", required=True, help="output file: .csv, .xlsx or .parquet (never the input)"
    )
    predict.add_argument(
        "--uncertainty",
        action="store_true",
        help="tabular models with dropout: add runs_low_80, runs_high_80 and runs_agree from "
        "30 runs with dropout left on",
    )
    predict.set_defaults(func=cmd_predict)

    explain = sub.add_parser("explain", help="explain one record's prediction with SHAP")
    common(explain)
    explain.add_argument("--model", required=True)
    explain.add_argument("--data", help="a table file of records (or --smiles for molecules)")
    explain.add_argument(
        "--smiles", help="molecule models: the SMILES to explain instead of --data"
    )
    explain.add_argument("--row", type=int, default=0, help="row (or image) number, 0 = the first")
    explain.add_argument(
        "--method",
        default="auto",
        choices=["auto", "grad-cam", "saliency", "shap"],
        help="for images",
    )
    explain.add_argument(
        "--out",
        help="images: write the heatmap overlay to this PNG; molecules: the atom heatmap",
    )
    explain.set_defaults(func=cmd_explain)

    evaluate = sub.add_parser("evaluate", help="clinical evaluation with confidence intervals")
    common(evaluate)
    evaluate.add_argument("--model", required=True)
    evaluate.add_argument("--data", help="an external cohort (default: the model's test split)")
    evaluate.add_argument(
        "--threshold", type=float, help="decision threshold (default: the model's operating point)"
    )
    evaluate.add_argument(
        "--resamples",
        type=_whole_number("--resamples", 10, 1000),
        default=1000,
        help="bootstrap resamples (default 1000)",
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

    doctor = sub.add_parser(
        "doctor",
        help="check the workspace and database (checksums, integrity, audit chain) and repair "
        "what is safe (orphaned temporary folders, dead jobs); exit 3 when problems remain",
    )
    common(doctor)
    doctor.set_defaults(func=cmd_doctor)

    audit = sub.add_parser("audit", help="export the audit trail (admins)")
    common(audit)
    audit.add_argument("--out", required=True, help="output file: .csv, .xlsx or .parquet")
    audit.add_argument("--username", help="only this account's rows")
    audit.add_argument("--action", help="only this action")
    audit.set_defaults(func=cmd_audit)
    return parser
