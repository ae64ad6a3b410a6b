"""Saving and loading models: one folder per model (model.keras, card.json, background, split,
evaluation), written atomically, indexed in the store, loaded in Keras' safe mode.

The model file is the contract: a registered model loads to the same predictions it gave before
saving, and only ``.keras`` files are ever accepted from outside (no pickle, no HDF5, no SavedModel).
"""

from __future__ import annotations

import io
import json
import logging
import platform
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from dlcore.config import get_settings
from dlcore.errors import (
    BadUploadError,
    ConfigError,
    NotFoundError,
    SchemaMismatchError,
    UnsupportedFileError,
    UserError,
)
from dlcore.evaluate.calibration import Recalibrator
from dlcore.evaluate.metrics import Report, key_metric, report_from_dict, report_to_dict
from dlcore.fsutil import (
    atomic_folder,
    neutral_name,
    new_id,
    read_json,
    sha256_bytes,
    sha256_file,
    write_json,
)
from dlcore.governance.accounts import Account, acting
from dlcore.models.layouts import layout_from_dict
from dlcore.store import ModelRow, get_store, utcnow

logger = logging.getLogger(__name__)

MODEL_FILE = "model.keras"
CARD_FILE = "card.json"
BACKGROUND_FILE = "background.parquet"
EVALUATION_FILE = "evaluation.json"
SPLIT_FILE = "split.json"
BACKGROUND_IMAGES_FILE = "background.npz"
TEST_PREDICTIONS_FILE = "test_predictions.npz"
# Molecule models: the training molecules' SMILES and packed Morgan bits (applicability domain).
TRAINING_MOLECULES_FILE = "training_molecules.npz"
BACKGROUND_ROWS = 100
IMAGE_BACKGROUND = 50
DEFAULT_INTENDED_USE = (
    "Research and teaching: decision support for clinicians and clinical researchers, under "
    "clinical oversight. Not a medical device; not validated for clinical decisions."
)
_ALLOWED_MEMBERS = ("config.json", "metadata.json", "model.weights.h5")
_REFUSED_LAYERS = ("Lambda", "TFSMLayer")
_ALLOWED_MODULES = ("keras", "dlcore.models.layers")
MAX_ARCHIVE_MEMBERS = 200
# config.json and metadata.json of a real model are kilobytes (a few MB for very deep ones).
MAX_CONFIG_BYTES = 32 * 1024 * 1024
_VERSION_ATTEMPTS = 50


@dataclass
class ModelRecord:
    """One registered model as listed: id, name, version, task, dataset, created, key metric."""

    id: str
    name: str
    version: int
    task: str
    kind: str
    dataset_name: str
    created: str
    key_metric_name: str
    key_metric_value: float | None
    dataset_id: str | None = None


@dataclass
class LoadedModel:
    """A model loaded from the registry: the Keras model, its card and its layout."""

    id: str
    model: Any
    card: dict[str, Any]
    layout: Any  # TabularLayout or ImageLayout
    folder: Path

    @property
    def name(self) -> str:
        return str(self.card.get("name", self.id))

    @property
    def task(self) -> str:
        return self.layout.task

    @property
    def version(self) -> int:
        return int(self.card.get("version", 1))

    @property
    def threshold(self) -> float:
        """The decision threshold for a binary model (the operating point, else 0.5)."""
        return float(self.card.get("operating_point", {}).get("threshold", 0.5))

    @property
    def recalibrator(self) -> Recalibrator:
        """The recalibration fitted for this model (the identity when none was fitted)."""
        return Recalibrator.from_dict(self.card.get("calibration"))

    def split(self) -> dict[str, Any] | None:
        """The stored train/validation/test positions and the labelled rows' index, if any."""
        path = self.folder / SPLIT_FILE
        return read_json(path) if path.is_file() else None

    @property
    def kind(self) -> str:
        return "image" if getattr(self.layout, "kind", "tabular") == "image" else "tabular"

    def background(self) -> pd.DataFrame | np.ndarray | None:
        """The training sample kept for explanations (records, or images), if any."""
        images = self.folder / BACKGROUND_IMAGES_FILE
        if images.is_file():
            with np.load(images, allow_pickle=False) as archive:
                return archive["images"]
        path = self.folder / BACKGROUND_FILE
        return pd.read_parquet(path) if path.is_file() else None

    def test_predictions(self) -> dict[str, np.ndarray] | None:
        """For image models: test-split positions, labels and outputs (to browse cases by cell)."""
        path = self.folder / TEST_PREDICTIONS_FILE
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as archive:
            return {k: archive[k] for k in archive.files}

    def training_molecules(self) -> dict[str, np.ndarray] | None:
        """For molecule models: the training SMILES and packed fingerprints, if kept."""
        path = self.folder / TRAINING_MOLECULES_FILE
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as archive:
            return {k: archive[k] for k in archive.files}

    def evaluation(self) -> Report | None:
        """The test-split evaluation saved at training time, if any."""
        path = self.folder / EVALUATION_FILE
        return report_from_dict(read_json(path)) if path.is_file() else None


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on (recorded in its card)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for package in (
        "keras",
        "tensorflow-cpu",
        "tensorflow",
        "numpy",
        "pandas",
        "scikit-learn",
        "shap",
    ):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            continue
    return out


def check_workspace_writable() -> None:
    """Refuse a workspace whose models folder cannot be written (before an hour of training).

    Raises ConfigError naming the folder.
    """
    import os

    folder = get_settings().models_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"The workspace folder {get_settings().home} cannot be written ({type(exc).__name__}).",
            expected="a folder this account can write (models and datasets are saved there)",
            fix="set DLCORE_HOME to a writable folder, or fix the folder's permissions",
        ) from None


def _next_version(name: str) -> int:
    with get_store().session() as session:
        current = session.scalar(select(func.max(ModelRow.version)).where(ModelRow.name == name))
    return int(current or 0) + 1


def _index(card: dict[str, Any], folder: Path) -> ModelRecord:
    """Add the model to the index under the card's version; when another registration took that
    version meanwhile (the unique (name, version) constraint), take the next and rewrite the card."""
    for attempt in range(_VERSION_ATTEMPTS):
        try:
            return _insert_row(card, folder)
        except IntegrityError:
            card["version"] = _next_version(card["name"])
            write_json(folder / CARD_FILE, card)
            import random
            import time

            time.sleep(random.uniform(0.001, 0.01) * (1 + attempt))
    raise RuntimeError("no free version number for the model (too many concurrent registrations)")


def _insert_row(card: dict[str, Any], folder: Path) -> ModelRecord:
    key = card.get("key_metric") or {}
    row = ModelRow(
        id=card["id"],
        name=card["name"],
        version=card["version"],
        task=card["task"],
        kind=card.get("kind", "tabular"),
        dataset_name=card.get("dataset", {}).get("name", ""),
        dataset_id=card.get("dataset", {}).get("id"),
        key_metric_name=key.get("name", ""),
        key_metric_value=key.get("value"),
        checksum=card["model_sha256"],
        path=str(folder),
        created=_parse_created(card.get("created")),
    )
    with get_store().session() as session:
        session.add(row)
        session.commit()
    return _record(row)


def _parse_created(text: str | None) -> Any:
    import datetime as dt

    if not text:
        return utcnow()
    return dt.datetime.fromisoformat(text.rstrip("Z"))


def _record(row: ModelRow) -> ModelRecord:
    return ModelRecord(
        row.id,
        row.name,
        row.version,
        row.task,
        row.kind,
        row.dataset_name,
        row.created.isoformat(timespec="seconds") if row.created else "",
        row.key_metric_name,
        row.key_metric_value,
        row.dataset_id,
    )


def register(
    model: Any,
    card: dict[str, Any],
    *,
    background: pd.DataFrame | np.ndarray | None = None,
    evaluation: Report | None = None,
    split: dict[str, Any] | None = None,
    test_predictions: dict[str, np.ndarray] | None = None,
    actor: Account | None = None,
    training_molecules: dict[str, np.ndarray] | None = None,
) -> ModelRecord:
    """Save a Keras model and its card atomically as a new registered model; returns its record.

    ``card`` needs at least 'name' and 'layout'; id, version, created time, checksum, key metric
    and library versions are filled in here. ``actor`` must be allowed to train (admin, trainer);
    raises PermissionDeniedError otherwise. Concurrent registrations under one name get distinct
    versions (a unique constraint, and a retry with the next version).
    """
    actor = acting(actor, "train")
    settings = get_settings()
    model_id = new_id("m")
    card = dict(card)
    card["id"] = model_id
    card["version"] = _next_version(card["name"])
    card["created"] = utcnow().isoformat(timespec="seconds") + "Z"
    card["task"] = card["layout"]["task"]
    card.setdefault("kind", "tabular")
    card.setdefault("intended_use", DEFAULT_INTENDED_USE)
    card.setdefault("registered_by", actor.username)
    card["library_versions"] = library_versions()
    if evaluation is not None:
        name, value = key_metric(evaluation)
        card["key_metric"] = {"name": name, "value": value}
        card["metrics"] = evaluation.headline()
    final = settings.models_dir / model_id
    with atomic_folder(final) as folder:
        model.save(folder / MODEL_FILE)
        card["model_sha256"] = sha256_file(folder / MODEL_FILE)
        if isinstance(background, np.ndarray):
            np.savez_compressed(folder / BACKGROUND_IMAGES_FILE, images=background)
        elif background is not None:
            background.to_parquet(folder / BACKGROUND_FILE, index=False)
        if test_predictions is not None:
            np.savez_compressed(folder / TEST_PREDICTIONS_FILE, **test_predictions)
        if training_molecules is not None:
            np.savez_compressed(folder / TRAINING_MOLECULES_FILE, **training_molecules)
        if evaluation is not None:
            write_json(folder / EVALUATION_FILE, report_to_dict(evaluation))
        if split is not None:
            write_json(folder / SPLIT_FILE, split)
        write_json(folder / CARD_FILE, card)
    record = _index(card, final)
    logger.info("registered model %s (%s v%d)", model_id, card["task"], card["version"])
    return record


def list_models() -> list[ModelRecord]:
    """Registered models, newest first."""
    with get_store().session() as session:
        rows = session.scalars(
            select(ModelRow).order_by(ModelRow.created.desc(), ModelRow.id)
        ).all()
    return [_record(r) for r in rows if Path(r.path).is_dir()]


_MODEL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _folder(model_id: str) -> Path:
    if not _MODEL_ID.fullmatch(str(model_id)):  # an id, never a path (no '/', '\\' or '..')
        raise NotFoundError(
            "The model was named by something that is not a model id.",
            expected="the id of a registered model, such as m-3f2a9c1b7d (not a file path)",
            fix="list the models (python -m dlcore models) and pick one of their ids",
        )
    with get_store().session() as session:
        row = session.get(ModelRow, model_id)
    folder = Path(row.path) if row is not None else get_settings().models_dir / model_id
    if not (folder / CARD_FILE).is_file():
        raise NotFoundError(
            f"There is no model '{model_id}' in the registry.",
            expected="the id of a registered model",
            fix="list the models (python -m dlcore models) and pick one of their ids",
        )
    return folder


def get_card(model_id: str) -> dict[str, Any]:
    """A registered model's card. Raises NotFoundError for an unknown id."""
    return read_json(_folder(model_id) / CARD_FILE)


def get_evaluation(model_id: str) -> Report | None:
    """A registered model's test-split evaluation, read without loading the model (or None)."""
    path = _folder(model_id) / EVALUATION_FILE
    return report_from_dict(read_json(path)) if path.is_file() else None


def update_card(model_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Merge ``changes`` into a model's card (atomically) and the index; returns the new card."""
    folder = _folder(model_id)
    card = read_json(folder / CARD_FILE)
    card.update(changes)
    write_json(folder / CARD_FILE, card)
    with get_store().session() as session:
        row = session.get(ModelRow, model_id)
        if row is not None and "name" in changes:
            row.name = card["name"]
            session.commit()
    return card


def _audit_model(actor: Account, action: str, model_id: str, card: dict[str, Any]) -> None:
    """The audit row of a change to a registered model (its id and version; never its name,
    which a person typed and could name a patient)."""
    from dlcore.governance import audit

    version = card.get("version")
    audit.record(
        actor.username,
        action,
        role=actor.role,
        object_type="model",
        object_id=model_id,
        model_id=model_id,
        model_version=int(version) if isinstance(version, int | float) else None,
    )


def rename_model(model_id: str, name: str, *, actor: Account | None = None) -> dict[str, Any]:
    """Give a model a new display name (its id and files stay), as ``actor``, and write the
    audit row; returns the new card.

    Raises PermissionDeniedError unless ``actor`` may rename models (admin, trainer);
    UserError for an empty or overlong name; NotFoundError for an unknown id.
    """
    actor = acting(actor, "rename_model")
    name = name.strip()
    if not name or len(name) > 120:
        raise UserError(
            f"The new name has {len(name)} characters.",
            expected="a name of 1 to 120 characters",
            fix="type a short descriptive name",
        )
    card = update_card(model_id, {"name": name})
    _audit_model(actor, "model_rename", model_id, card)
    return card


def delete_model(model_id: str, *, actor: Account | None = None) -> None:
    """Delete a registered model (its folder and its index row), as ``actor``, and write the
    audit row.

    Raises PermissionDeniedError unless ``actor`` may delete models (admin, trainer).
    """
    actor = acting(actor, "delete_model")
    folder = _folder(model_id)
    try:
        card = read_json(folder / CARD_FILE)
    except (OSError, ValueError):  # a damaged card does not keep a model from being deleted
        card = {}
    shutil.rmtree(folder)
    with get_store().session() as session:
        row = session.get(ModelRow, model_id)
        if row is not None:
            session.delete(row)
            session.commit()
    logger.info("deleted model %s", model_id)
    _audit_model(actor, "model_delete", model_id, card)


def load_model(model_id: str) -> LoadedModel:
    """Load a registered model in Keras' safe mode, after checking its file's checksum.

    Raises NotFoundError for an unknown id and BadUploadError when the file changed on disk.
    """
    folder = _folder(model_id)  # before importing Keras: an unknown id fails fast
    keras = _keras_with_layers()
    card = read_json(folder / CARD_FILE)
    path = folder / MODEL_FILE
    checksum = sha256_file(path)
    if card.get("model_sha256") and checksum != card["model_sha256"]:
        raise BadUploadError(
            f"The file of model '{model_id}' does not match the checksum in its card.",
            expected="the model file as it was registered",
            fix="the file was changed or damaged on disk: delete the model and register it again",
        )
    model = keras.saving.load_model(path, safe_mode=True, compile=False)
    return LoadedModel(model_id, model, card, layout_from_dict(card["layout"]), folder)


def _keras_with_layers() -> Any:
    from dlcore.models import layers  # noqa: F401  (registers dlcore's layers for safe loading)
    from dlcore.models.keras_runtime import import_keras

    return import_keras()


def export_bundle(model_id: str) -> bytes:
    """A ZIP with the model file and its card, for download."""
    folder = _folder(model_id)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(folder / MODEL_FILE, MODEL_FILE)
        archive.write(folder / CARD_FILE, CARD_FILE)
    return buffer.getvalue()


def check_keras_archive(data: bytes, filename: str) -> dict[str, Any]:
    """Check an uploaded ``.keras`` file before Keras reads it; returns its parsed config.json.

    Refuses other file kinds (pickle, joblib, HDF5, SavedModel, ...), archives with unexpected,
    absolute or '..' members or excessive sizes, and configs with Lambda or TFSMLayer layers or
    modules outside Keras and dlcore. Raises UnsupportedFileError or BadUploadError.
    """
    suffix = Path(filename).suffix.lower()
    if suffix != ".keras":
        kind = {
            ".h5": "an HDF5 (.h5) model",
            ".hdf5": "an HDF5 model",
            ".pkl": "a pickle file",
            ".pickle": "a pickle file",
            ".joblib": "a joblib (pickle) file",
            ".pb": "a TensorFlow SavedModel",
            ".pt": "a PyTorch file",
            ".onnx": "an ONNX model",
            ".zip": "a ZIP archive",
        }.get(suffix, f"a '{suffix or 'unnamed'}' file")
        raise UnsupportedFileError(
            f"Received '{filename}', {kind}.",
            expected="a Keras 3 model file (.keras); pickle, HDF5 and SavedModel files are never "
            "loaded because they can run code",
            fix="in Keras 3, save the model with model.save('name.keras') and upload that file",
        )
    limit = get_settings().max_upload_bytes
    if len(data) > limit:
        raise BadUploadError(
            f"'{filename}' is {len(data) / 1e6:.0f} MB.",
            expected=f"at most {limit / 1e6:.0f} MB",
            fix="raise DLCORE_MAX_UPLOAD_MB for larger models",
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise BadUploadError(
            f"'{filename}' is not a Keras 3 model archive (it is not a ZIP file).",
            expected="a file written by Keras 3's model.save('name.keras')",
            fix="save the model again with Keras 3; older Keras wrote HDF5 files, which are refused",
        ) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ARCHIVE_MEMBERS:
            raise BadUploadError(
                f"'{filename}' holds {len(infos)} files.",
                expected=f"a Keras archive of at most {MAX_ARCHIVE_MEMBERS} files",
                fix="upload the .keras file exactly as Keras saved it",
            )
        total = 0
        for info in infos:
            member = info.filename
            if member.startswith(("/", "\\")) or ".." in Path(member).parts or ":" in member:
                raise BadUploadError(
                    f"'{filename}' contains an unsafe path '{member}'.",
                    expected="only Keras' own members (config.json, metadata.json, model.weights.h5, assets/)",
                    fix="upload the .keras file exactly as Keras saved it",
                )
            if member not in _ALLOWED_MEMBERS and not member.startswith("assets/"):
                raise BadUploadError(
                    f"'{filename}' contains an unexpected member '{member}'.",
                    expected="only config.json, metadata.json, model.weights.h5 and assets/",
                    fix="upload the .keras file exactly as Keras saved it",
                )
            total += info.file_size
        if total > 4 * limit:
            raise BadUploadError(
                f"'{filename}' expands to {total / 1e6:.0f} MB.",
                expected="an archive that is not a compression bomb",
                fix="upload the .keras file exactly as Keras saved it",
            )
        if "config.json" not in archive.namelist() or "model.weights.h5" not in archive.namelist():
            raise BadUploadError(
                f"'{filename}' lacks config.json or model.weights.h5.",
                expected="a complete Keras 3 model archive",
                fix="save the whole model with model.save('name.keras'), not only its weights",
            )
        config_size = archive.getinfo("config.json").file_size
        if config_size > MAX_CONFIG_BYTES:
            raise BadUploadError(
                f"The config.json inside '{filename}' would inflate to {config_size / 1e6:.0f} MB.",
                expected=f"a model configuration of at most {MAX_CONFIG_BYTES / 1e6:.0f} MB "
                "(real ones are kilobytes)",
                fix="upload the .keras file exactly as Keras saved it",
            )
        try:
            with archive.open("config.json") as handle:
                # The directory's size can lie: read at most the cap, whatever it says.
                raw = handle.read(MAX_CONFIG_BYTES + 1)
            if len(raw) > MAX_CONFIG_BYTES:
                raise BadUploadError(
                    f"The config.json inside '{filename}' is larger than its archive says.",
                    expected="an intact Keras archive",
                    fix="upload the .keras file exactly as Keras saved it",
                )
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            if isinstance(exc, RecursionError):
                raise
            raise BadUploadError(
                f"The config.json inside '{filename}' could not be read from the archive.",
                expected="an intact Keras archive",
                fix="upload the .keras file exactly as Keras saved it",
            ) from None
        try:
            config = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            raise BadUploadError(
                f"The config.json inside '{filename}' is not valid JSON.",
                expected="a Keras model configuration",
                fix="save the model again with Keras 3",
            ) from None
    _check_config(config, filename)
    return config


def _check_config(config: Any, filename: str) -> None:
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            class_name = node.get("class_name")
            if class_name in _REFUSED_LAYERS:
                raise BadUploadError(
                    f"'{filename}' contains a {class_name} layer.",
                    expected=f"a model without {' or '.join(_REFUSED_LAYERS)} layers: they run "
                    "arbitrary code or external graphs when loaded",
                    fix="rebuild the model with standard Keras layers",
                )
            module = node.get("module")
            if isinstance(module, str) and class_name and not module.startswith(_ALLOWED_MODULES):
                raise BadUploadError(
                    f"'{filename}' names code from module '{module}' ({class_name}).",
                    expected="layers from Keras itself or from this app",
                    fix="rebuild the model with standard Keras layers",
                )
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def import_keras_model(
    data: bytes,
    filename: str,
    *,
    name: str | None = None,
    card_json: bytes | None = None,
    actor: Account | None = None,
) -> ModelRecord:
    """Validate, safe-load and register an uploaded ``.keras`` model (optionally with its card.json).

    Without a card, the inputs are read from the model (one per column, as dlcore builds them).
    Without a name, the model gets a neutral one (its task and the date), never the file's name,
    which can name a patient; the card keeps only the file name's SHA-256.
    Raises UnsupportedFileError / BadUploadError / SchemaMismatchError / PermissionDeniedError.
    """
    actor = acting(actor, "train")
    from dlcore.models.tabular import layout_from_model

    keras = _keras_with_layers()
    check_keras_archive(data, filename)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.keras"
        path.write_bytes(data)
        try:
            model = keras.saving.load_model(path, safe_mode=True, compile=False)
        except Exception as exc:  # Keras raises many types for bad archives; all mean "refused"
            reason = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            raise BadUploadError(
                f"Keras could not load '{filename}' in safe mode: {reason}",
                expected="a Keras 3 model made of standard layers (or this app's own)",
                fix="save the model again with Keras 3 (model.save('name.keras')) and upload it",
            ) from None
    source_card: dict[str, Any] = {}
    if card_json:
        try:
            source_card = json.loads(card_json)
            layout = layout_from_dict(source_card["layout"])
        except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
            raise BadUploadError(
                "The card.json given with the model is not a model card from this app.",
                expected="the card.json downloaded together with the model",
                fix="upload the card from the same download, or no card at all",
            ) from None
        if getattr(layout, "kind", "tabular") == "image":
            expected_inputs = {str(tuple(layout.shape))}
            actual_inputs = {str(tuple(t.shape)[1:]) for t in model.inputs}
        else:
            expected_inputs = {f.input for f in layout.features}
            actual_inputs = {t.name.split(":")[0] for t in model.inputs}
        if expected_inputs != actual_inputs:
            raise SchemaMismatchError(
                f"The card describes inputs {sorted(expected_inputs)[:8]}, the model has "
                f"{sorted(actual_inputs)[:8]}.",
                expected="the card that was downloaded with this model",
                fix="upload the matching card.json, or the model alone",
            )
    else:
        layout = layout_from_model(model)
    card = {
        key: source_card[key]
        for key in (
            "spec",
            "metrics",
            "history",
            "best_epoch",
            "dataset",
            "intended_use",
            "operating_point",
        )
        if key in source_card
    }
    card.update(
        {
            "name": (name or source_card.get("name") or neutral_name("uploaded", layout.task))[
                :120
            ],
            "kind": "image" if getattr(layout, "kind", "tabular") == "image" else "tabular",
            "layout": layout.to_dict(),
            "source": {
                "kind": "upload",
                "filename_sha256": sha256_bytes(Path(filename).name.encode()),
                "upload_sha256": sha256_bytes(data),
                "original_id": source_card.get("id"),
            },
        }
    )
    if "metrics" in card:
        card["metrics_note"] = "metrics as reported by the uploaded card, not recomputed here"
    return register(model, card, actor=actor)
