"""The registry: save/load gives identical predictions, the card, export/import, and safe refusals."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from dlcore.errors import BadUploadError, NotFoundError, SchemaMismatchError, UnsupportedFileError
from dlcore.fsutil import sha256_file
from dlcore.models.layouts import input_names, to_model_inputs
from dlcore.models.tabular import run_model
from dlcore.registry import (
    BACKGROUND_FILE,
    CARD_FILE,
    MODEL_FILE,
    check_keras_archive,
    delete_model,
    export_bundle,
    get_card,
    import_keras_model,
    list_models,
    load_model,
    register,
    rename_model,
)


@pytest.fixture(scope="module")
def records(breast_cancer):
    return breast_cancer.frame.sample(40, random_state=0)


@pytest.fixture(scope="module")
def keras_bytes(tiny_binary) -> bytes:
    """The registered tiny model's .keras file, as an upload would bring it."""
    loaded = load_model(tiny_binary.record.id)
    return (loaded.folder / MODEL_FILE).read_bytes()


def _output(model, layout, frame) -> np.ndarray:
    from dlcore.predict import check_records

    typed, _ = check_records(layout, frame)
    return run_model(model, to_model_inputs(layout, typed))


def _register_copy(tiny_binary, name: str):
    """Register the tiny model again under another name (cheap: no training)."""
    result = tiny_binary.result
    return register(result.model, {"name": name, "layout": result.layout.to_dict()})


def _rewrite_archive(data: bytes, edit_config=None, extra: dict[str, bytes] | None = None) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "config.json" and edit_config is not None:
                config = json.loads(content)
                edit_config(config)
                content = json.dumps(config).encode()
            target.writestr(info.filename, content)
        for name, content in (extra or {}).items():
            target.writestr(name, content)
    return buffer.getvalue()


# -- save and load ---------------------------------------------------------------------------


def test_loaded_model_gives_identical_predictions(tiny_binary, records):
    loaded = load_model(tiny_binary.record.id)
    in_memory = _output(tiny_binary.result.model, tiny_binary.result.layout, records)
    from_file = _output(loaded.model, loaded.layout, records)
    assert from_file.shape == (40, 1)
    assert np.array_equal(in_memory, from_file)
    assert loaded.layout == tiny_binary.result.layout
    assert loaded.task == "binary"
    assert loaded.threshold == 0.5


def test_card_contents(tiny_binary, breast_cancer):
    record = tiny_binary.record
    card = get_card(record.id)
    loaded = load_model(record.id)
    assert card["id"] == record.id
    assert card["name"] == "tiny breast cancer"
    assert card["spec"]["hidden_units"] == [16, 8]
    assert card["spec"]["epochs"] == 2
    assert card["layout"]["features"][0]["name"] == "mean radius"
    assert card["layout"]["positive_class"] == "malignant"
    assert card["schema_fingerprint"] == breast_cancer.schema.fingerprint()
    assert card["dataset"]["fingerprint"] == breast_cancer.fingerprint()
    assert card["dataset"]["rows"] == 569
    versions = card["library_versions"]
    assert {"python", "keras", "numpy", "pandas"} <= set(versions)
    assert len(card["history"]["loss"]) == 2 and len(card["history"]["val_loss"]) == 2
    assert card["created"].endswith("Z")
    assert card["model_sha256"] == sha256_file(loaded.folder / MODEL_FILE)
    assert card["key_metric"]["name"] == "roc_auc"
    assert card["key_metric"]["value"] == pytest.approx(tiny_binary.report.roc_auc)
    assert card["metrics"]["roc_auc"] == pytest.approx(tiny_binary.report.roc_auc)
    assert card["intended_use"]
    assert (loaded.folder / BACKGROUND_FILE).is_file()
    background = loaded.background()
    assert list(background.columns) == loaded.layout.names
    assert len(background) == 100
    evaluation = loaded.evaluation()
    assert evaluation is not None and evaluation.roc_auc == pytest.approx(
        card["metrics"]["roc_auc"]
    )


def test_list_models_contains_it(tiny_binary):
    listed = {m.id: m for m in list_models()}
    assert tiny_binary.record.id in listed
    mine = listed[tiny_binary.record.id]
    assert mine.task == "binary"
    assert mine.key_metric_name == "roc_auc"
    assert mine.key_metric_value == pytest.approx(tiny_binary.report.roc_auc)
    assert mine.dataset_name == "Breast cancer diagnosis (Wisconsin)"


def test_versions_count_up_per_name(tiny_binary):
    first = _register_copy(tiny_binary, "versioned model")
    second = _register_copy(tiny_binary, "versioned model")
    assert (first.version, second.version) == (1, 2)
    assert first.id != second.id


def test_rename(tiny_binary):
    record = _register_copy(tiny_binary, "to be renamed")
    card = rename_model(record.id, "  renamed model  ")
    assert card["name"] == "renamed model"
    assert get_card(record.id)["name"] == "renamed model"
    assert {m.id: m.name for m in list_models()}[record.id] == "renamed model"
    from dlcore.errors import UserError

    with pytest.raises(UserError):
        rename_model(record.id, "   ")


def test_delete_removes_folder_and_row(breast_cancer):
    from dlcore.models.spec import ModelSpec
    from dlcore.training.pipeline import train_and_register

    outcome = train_and_register(
        breast_cancer, ModelSpec(hidden_units=[4], epochs=1, seed=2), name="to delete"
    )
    model_id = outcome.record.id
    folder = load_model(model_id).folder
    assert folder.is_dir()
    delete_model(model_id)
    assert not folder.exists()
    assert model_id not in {m.id for m in list_models()}
    from dlcore.store import ModelRow, get_store

    with get_store().session() as session:
        assert session.get(ModelRow, model_id) is None
    with pytest.raises(NotFoundError):
        load_model(model_id)


def test_unknown_id_is_not_found():
    with pytest.raises(NotFoundError) as info:
        get_card("m-doesnotexist")
    assert "m-doesnotexist" in str(info.value)


def test_tampered_model_file_is_refused(tiny_binary):
    record = _register_copy(tiny_binary, "tampered")
    path = load_model(record.id).folder / MODEL_FILE
    with path.open("ab") as handle:
        handle.write(b"appended bytes")
    with pytest.raises(BadUploadError) as info:
        load_model(record.id)
    assert "checksum" in str(info.value)
    assert record.id in str(info.value)


# -- export and import -----------------------------------------------------------------------


def test_export_bundle(tiny_binary):
    data = export_bundle(tiny_binary.record.id)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == sorted([MODEL_FILE, CARD_FILE])
        assert json.loads(archive.read(CARD_FILE)) == get_card(tiny_binary.record.id)
        model_bytes = archive.read(MODEL_FILE)
    folder = load_model(tiny_binary.record.id).folder
    assert model_bytes == (folder / MODEL_FILE).read_bytes()


def test_import_with_card_round_trip(tiny_binary, records):
    data = export_bundle(tiny_binary.record.id)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        model_bytes, card_bytes = archive.read(MODEL_FILE), archive.read(CARD_FILE)
    record = import_keras_model(model_bytes, "shared.keras", card_json=card_bytes)
    assert record.id != tiny_binary.record.id
    card = get_card(record.id)
    assert card["source"]["kind"] == "upload"
    assert card["source"]["original_id"] == tiny_binary.record.id
    assert card["name"] == "tiny breast cancer"
    assert card["metrics"] == get_card(tiny_binary.record.id)["metrics"]
    assert "metrics_note" in card
    loaded = load_model(record.id)
    assert loaded.layout == tiny_binary.result.layout
    expected = _output(tiny_binary.result.model, tiny_binary.result.layout, records)
    assert np.array_equal(_output(loaded.model, loaded.layout, records), expected)


def test_import_without_card_round_trip(tiny_binary, keras_bytes, records):
    record = import_keras_model(keras_bytes, "bare.keras", name="bare upload")
    loaded = load_model(record.id)
    assert loaded.name == "bare upload"
    assert loaded.task == "binary"
    layout = tiny_binary.result.layout
    # without a card, the original column names and their order come back from the model itself
    assert loaded.layout.names == layout.names
    assert [f.input for f in loaded.layout.features] == [
        input_names(layout.names)[c] for c in layout.names
    ]
    assert set(loaded.layout.kinds.values()) == {"numeric"}
    expected = _output(tiny_binary.result.model, layout, records)
    np.testing.assert_array_equal(_output(loaded.model, loaded.layout, records), expected)


def test_import_with_a_mismatched_card_is_refused(tiny_binary, keras_bytes, tiny_regression):
    other_card = json.dumps(get_card(tiny_regression.record.id)).encode()
    with pytest.raises(SchemaMismatchError):
        import_keras_model(keras_bytes, "model.keras", card_json=other_card)
    with pytest.raises(BadUploadError):
        import_keras_model(keras_bytes, "model.keras", card_json=b"not json")


@pytest.mark.parametrize("filename", ["model.pkl", "model.h5", "model.joblib", "model.pickle"])
def test_pickle_family_and_hdf5_are_refused(keras_bytes, filename):
    with pytest.raises(UnsupportedFileError) as info:
        import_keras_model(keras_bytes, filename)
    assert filename in str(info.value)
    assert ".keras" in str(info.value)


def test_random_bytes_named_keras_are_refused():
    garbage = np.random.default_rng(0).bytes(5000)
    with pytest.raises(BadUploadError) as info:
        import_keras_model(garbage, "random.keras")
    assert "not a ZIP" in str(info.value)


def test_archive_with_parent_path_is_refused(keras_bytes):
    evil = _rewrite_archive(keras_bytes, extra={"../evil": b"#!/bin/sh\n"})
    with pytest.raises(BadUploadError) as info:
        import_keras_model(evil, "evil.keras")
    assert "../evil" in str(info.value)
    absolute = _rewrite_archive(keras_bytes, extra={"/etc/evil": b"x"})
    with pytest.raises(BadUploadError):
        check_keras_archive(absolute, "absolute.keras")
    unexpected = _rewrite_archive(keras_bytes, extra={"payload.py": b"import os"})
    with pytest.raises(BadUploadError, match="unexpected member"):
        check_keras_archive(unexpected, "extra.keras")


def test_config_with_a_lambda_layer_is_refused(keras_bytes):
    def add_lambda(config):
        config["config"]["layers"].append(
            {
                "module": "keras.layers",
                "class_name": "Lambda",
                "config": {"name": "evil", "function": {"class_name": "__lambda__"}},
                "registered_name": None,
            }
        )

    edited = _rewrite_archive(keras_bytes, add_lambda)
    with pytest.raises(BadUploadError) as info:
        import_keras_model(edited, "lambda.keras")
    assert "Lambda" in str(info.value)


def test_real_keras_lambda_model_is_refused(tmp_path):
    from dlcore.models.keras_runtime import import_keras

    keras = import_keras()
    inputs = keras.Input(shape=(1,), name="x")
    outputs = keras.layers.Dense(1)(keras.layers.Lambda(lambda t: t * 2.0)(inputs))
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    with pytest.raises(BadUploadError, match="Lambda"):
        import_keras_model(path.read_bytes(), "lambda.keras")


def test_config_naming_module_os_is_refused(keras_bytes):
    def point_at_os(config):
        config["config"]["layers"][-1]["module"] = "os"
        config["config"]["layers"][-1]["class_name"] = "system"

    edited = _rewrite_archive(keras_bytes, point_at_os)
    with pytest.raises(BadUploadError) as info:
        import_keras_model(edited, "os.keras")
    assert "'os'" in str(info.value)


def test_refused_uploads_register_nothing(keras_bytes):
    before = {m.id for m in list_models()}
    for data, name in [(keras_bytes, "x.pkl"), (b"junk", "x.keras")]:
        with pytest.raises((UnsupportedFileError, BadUploadError)):
            import_keras_model(data, name)
    assert {m.id for m in list_models()} == before


def test_import_without_card_reads_categories_from_the_model(tiny_cohort, cohort_dataset):
    record = register(tiny_cohort.model, {"name": "cohort", "layout": tiny_cohort.layout.to_dict()})
    data = (load_model(record.id).folder / MODEL_FILE).read_bytes()
    imported = load_model(import_keras_model(data, "cohort.keras").id)
    kinds = imported.layout.kinds
    assert kinds["smoking"] == "categorical" and kinds["age"] == "numeric"
    smoking = next(f for f in imported.layout.features if f.name == "smoking")
    assert smoking.categories == ["current", "former", "never"]
    frame = cohort_dataset.frame.head(20)
    expected = _output(tiny_cohort.model, tiny_cohort.layout, frame)
    assert np.array_equal(_output(imported.model, imported.layout, frame), expected)
