"""Image networks through the one training path: save/load, explanations that localise, CLI."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from PIL import Image

from dlcore.data.catalog import save_dataset
from dlcore.data.synthetic import QUADRANTS, make_quadrant_images
from dlcore.errors import SchemaMismatchError, UserError
from dlcore.explain.images import ImageExplainer
from dlcore.models.spec import default_image_spec
from dlcore.models.tabular import run_model
from dlcore.predict import predict_images
from dlcore.registry import import_keras_model, load_model
from dlcore.training.pipeline import train_and_register

ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def squares():
    dataset, quadrants = make_quadrant_images(300, size=32, seed=0)
    save_dataset(dataset)
    return dataset, quadrants


@pytest.fixture(scope="module")
def square_cnn(squares):
    """A small CNN that finds the bright square (10 epochs, about 2 s)."""
    dataset, _ = squares
    spec = default_image_spec(len(dataset.images), "cnn")
    spec.conv_filters, spec.hidden_units, spec.epochs, spec.early_stopping_patience = (
        [8, 16],
        [16],
        10,
        0,
    )
    spec.residual, spec.lr_schedule, spec.label_smoothing = False, "constant", 0.0  # plain, fast
    spec.ensemble, spec.test_time_flip = 1, False
    return train_and_register(dataset, spec, name="square finder")


def test_residual_cnn_learns_saves_and_grad_cam_reads_the_last_block(squares):
    """Residual blocks (Add, no Lambda), cosine learning rate and label smoothing: the model
    learns, reloads in safe mode with identical outputs, and Grad-CAM reads the activation after
    the last block's Add and still finds the square."""
    from dlcore.models.image import last_conv_layer

    dataset, quadrants = squares
    spec = default_image_spec(len(dataset.images), "cnn")
    spec.conv_filters, spec.hidden_units, spec.epochs, spec.early_stopping_patience = (
        [8, 16],
        [16],
        6,
        0,
    )
    spec.dropout, spec.augmentation = 0.0, []
    spec.residual, spec.lr_schedule, spec.label_smoothing = True, "cosine", 0.05
    spec.ensemble, spec.test_time_flip = 1, False
    outcome = train_and_register(dataset, spec, name="residual square finder")
    assert outcome.report.roc_auc > 0.95
    loaded = load_model(outcome.record.id)
    kinds = [type(layer).__name__ for layer in loaded.model.layers]
    assert kinds.count("Add") == 2 and "Lambda" not in kinds
    assert last_conv_layer(loaded.model).name == "conv_relu_2"
    images = loaded.layout.inputs(dataset.images[:40])
    np.testing.assert_array_equal(
        run_model(loaded.model, images), run_model(outcome.result.model, images)
    )
    explainer = ImageExplainer(loaded.model, loaded.layout, loaded.background())
    shares = [
        explainer.grad_cam(dataset.images[i]).quadrant_shares()[QUADRANTS[quadrants[i]]]
        for i in _positive_test_images(outcome.result, quadrants, 5)
    ]
    assert np.mean(shares) >= 0.5, shares


def test_default_image_spec_uses_the_tuned_cnn():
    spec = default_image_spec(546, "cnn")
    assert spec.residual and spec.lr_schedule == "cosine"
    assert (spec.ensemble, spec.test_time_flip) == (3, False)  # small sets: an ensemble
    large = default_image_spec(4708, "cnn")
    assert (large.ensemble, large.test_time_flip, large.epochs) == (1, False, 12)
    assert default_image_spec(546, "mlp").residual is False


@pytest.fixture(scope="module")
def square_mlp(squares):
    dataset, _ = squares
    spec = default_image_spec(len(dataset.images), "mlp")
    spec.hidden_units, spec.epochs = [64], 15
    return train_and_register(dataset, spec, name="square mlp")


def test_cnn_learns_and_registers(square_cnn):
    assert square_cnn.report.roc_auc > 0.95
    card = load_model(square_cnn.record.id).card
    assert card["kind"] == "image" and card["layout"]["kind"] == "image"
    assert card["layout"]["height"] == 32 and card["spec"]["architecture"] == "cnn"


def test_save_load_gives_identical_predictions(square_cnn, squares):
    dataset, _ = squares
    loaded = load_model(square_cnn.record.id)
    images = loaded.layout.inputs(dataset.images[:40])
    np.testing.assert_array_equal(
        run_model(loaded.model, images), run_model(square_cnn.result.model, images)
    )
    # the saved model takes raw 0–255 pixels: rescaling is inside it
    assert [layer.name for layer in loaded.model.layers][:2] == ["image", "rescale"]


def test_augmentation_is_inactive_at_inference(squares):
    from dlcore.models.image import build_image_model
    from dlcore.models.layouts import ImageLayout

    spec = default_image_spec(100, "cnn")
    spec.augmentation = ["flip", "rotation", "zoom", "contrast"]
    model = build_image_model(spec, ImageLayout(32, 32, 1, "binary", ["none", "square"], "square"))
    x = squares[0].images[:8].astype(np.float32)
    np.testing.assert_array_equal(
        np.asarray(model(x, training=False)), np.asarray(model(x, training=False))
    )
    assert any(layer.name == "augment_rotation" for layer in model.layers)


def test_test_predictions_are_stored_for_case_review(square_cnn, squares):
    dataset, _ = squares
    stored = load_model(square_cnn.record.id).test_predictions()
    np.testing.assert_array_equal(stored["labels"], dataset.labels[stored["index"]])
    assert stored["output"].shape == (len(stored["index"]), 1)


def _positive_test_images(result, quadrants, n=20):
    return [int(i) for i in result.split.test if quadrants[i] >= 0][:n]


@pytest.mark.parametrize(("method", "least"), [("grad-cam", 0.6), ("shap", 0.5)])
def test_heatmap_mass_falls_in_the_square_quadrant(square_cnn, squares, method, least):
    dataset, quadrants = squares
    loaded = load_model(square_cnn.record.id)
    explainer = ImageExplainer(loaded.model, loaded.layout, loaded.background())
    shares = []
    for i in _positive_test_images(square_cnn.result, quadrants):
        explanation = explainer.explain(dataset.images[i], method=method)
        assert explanation.output_name == "square"
        shares.append(explanation.quadrant_shares()[QUADRANTS[quadrants[i]]])
    # a quarter of the mass would be chance; the square's quadrant must hold most of it
    assert np.mean(shares) >= least, shares


def test_shap_is_roughly_additive(square_cnn, squares):
    dataset, quadrants = squares
    loaded = load_model(square_cnn.record.id)
    explainer = ImageExplainer(loaded.model, loaded.layout, loaded.background())
    explanation = explainer.shap(
        dataset.images[_positive_test_images(square_cnn.result, quadrants)[0]]
    )
    assert explanation.additivity_error < 0.05  # expected gradients sample: ~1e-2, not exact
    # The class asked for decides the sign: the evidence against the square is the mirror image.
    image = dataset.images[_positive_test_images(square_cnn.result, quadrants)[0]]
    for_square, against = explainer.shap(image, output=1), explainer.shap(image, output=0)
    assert for_square.output_name == "square" and against.output_name == "none"
    np.testing.assert_allclose(against.attributions, for_square.attributions, atol=1e-6)
    assert np.corrcoef(for_square.heatmap.ravel(), against.heatmap.ravel())[0, 1] < 0


def test_mlp_gets_saliency_not_grad_cam(square_mlp, squares):
    dataset, quadrants = squares
    loaded = load_model(square_mlp.record.id)
    explainer = ImageExplainer(loaded.model, loaded.layout, loaded.background())
    assert explainer.methods == ["saliency", "shap"]
    with pytest.raises(UserError, match="no convolution layer"):
        explainer.grad_cam(dataset.images[0])
    shares = [
        explainer.explain(dataset.images[i]).quadrant_shares()[QUADRANTS[quadrants[i]]]
        for i in _positive_test_images(square_mlp.result, quadrants, 10)
    ]
    assert np.mean(shares) > 0.35  # chance is 0.25; gradient × input is noisier than Grad-CAM


def test_wrong_image_shape_is_a_clear_error(square_cnn):
    loaded = load_model(square_cnn.record.id)
    with pytest.raises(SchemaMismatchError, match=r"\(32, 32, 1\)"):
        predict_images(loaded.model, loaded.layout, np.zeros((2, 28, 28, 1), np.uint8))
    explainer = ImageExplainer(loaded.model, loaded.layout, None)
    with pytest.raises(UserError, match="shape"):
        explainer.explain(np.zeros((28, 28, 1), np.uint8))


def test_predict_images_table(square_cnn, squares):
    dataset, _ = squares
    loaded = load_model(square_cnn.record.id)
    result = predict_images(loaded.model, loaded.layout, dataset.images[:5], dataset.file_names[:5])
    assert list(result.table.columns) == ["file", "probability_square", "decision", "threshold"]
    decisions = np.where(result.output[:, 0] >= 0.5, "square", "none")
    assert list(result.table["decision"]) == list(decisions)


def test_uploaded_image_model_without_card_is_usable(square_cnn, tmp_path):
    path = load_model(square_cnn.record.id).folder / "model.keras"
    record = import_keras_model(path.read_bytes(), "squares.keras")
    loaded = load_model(record.id)
    assert loaded.kind == "image" and loaded.layout.shape == (32, 32, 1)
    # No training images came with it: Grad-CAM only, no SHAP that would fail.
    assert ImageExplainer(loaded.model, loaded.layout, loaded.background()).methods == ["grad-cam"]


def _cli(*args: str, home) -> subprocess.CompletedProcess:
    env = {**__import__("os").environ, "DLCORE_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "dlcore", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_cli_trains_predicts_and_explains_images(tmp_path, squares):
    dataset, quadrants = squares
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(160):
            png = io.BytesIO()
            Image.fromarray(dataset.images[i, :, :, 0]).save(png, format="PNG")
            archive.writestr(f"set/{dataset.classes[dataset.labels[i]]}/{i}.png", png.getvalue())
    (tmp_path / "squares.zip").write_bytes(buffer.getvalue())
    folder = tmp_path / "new"
    folder.mkdir()
    positive = [i for i in range(160, 300) if quadrants[i] >= 0][:3]
    for i in positive:
        Image.fromarray(dataset.images[i, :, :, 0]).save(folder / f"case{i}.png")
    home = tmp_path / "ws"
    trained = _cli(
        "train",
        "--data",
        str(tmp_path / "squares.zip"),
        "--image-size",
        "32",
        "--conv-filters",
        "8,16",
        "--epochs",
        "3",  # the plumbing of train, predict and explain (localisation: tests above)
        "--json",
        home=home,
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    result = json.loads(trained.stdout)
    assert result["kind"] == "image" and result["split"]["train"] > 0
    assert result["timings"]["ensemble_members"] == 3  # the default under 2,000 images
    assert result["epochs_run"] == 3
    from apptools import run_cli_in_process  # predict and explain in this process: no TF start

    predicted = run_cli_in_process(
        home,
        "predict",
        "--model",
        result["model_id"],
        "--data",
        str(folder),
        "--out",
        str(tmp_path / "p.csv"),
    )
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    assert (tmp_path / "p.csv").read_text().count("\n") == 4
    explained = run_cli_in_process(
        home,
        "explain",
        "--model",
        result["model_id"],
        "--data",
        str(folder),
        "--row",
        "0",
        "--out",
        str(tmp_path / "o.png"),
        "--json",
    )
    assert explained.returncode == 0, explained.stderr[-2000:]
    payload = json.loads(explained.stdout)
    assert (
        payload["method"] == "grad-cam" and abs(sum(payload["quadrant_shares"].values()) - 1) < 1e-6
    )
    assert Image.open(tmp_path / "o.png").size == (32, 32)


def test_merged_members_average_the_logits_over_members_and_mirror_images(squares):
    """merge_image_members is exactly the average of its members' logits over each image and
    its mirror image, so its output does not change when the image is mirrored."""
    from dlcore.models.image import ENSEMBLE_FEATURES, build_image_model, merge_image_members
    from dlcore.models.layouts import ImageLayout

    layout = ImageLayout(32, 32, 1, "binary", ["none", "square"], "square")
    spec = default_image_spec(100, "cnn")
    spec.conv_filters, spec.hidden_units, spec.test_time_flip = [4, 8], [6, 5], True
    members = []
    for seed in (1, 2):
        spec.seed = seed
        members.append(build_image_model(spec, layout))
    merged = merge_image_members(members, spec, layout)
    x = squares[0].images[:16].astype(np.float32)
    mirrored = x[:, :, ::-1]

    def logit(model, images):
        p = np.asarray(model(images, training=False), dtype=np.float64)[:, 0]
        return np.log(p / (1 - p))

    expected = np.mean([logit(m, images) for m in members for images in (x, mirrored)], axis=0)
    np.testing.assert_allclose(logit(merged, x), expected, atol=1e-4)
    np.testing.assert_allclose(logit(merged, mirrored), logit(merged, x), atol=1e-4)
    assert merged.get_layer(ENSEMBLE_FEATURES).output.shape[-1] == 4 * 8  # 2 members × 2 views
    spec.test_time_flip = False
    assert merge_image_members(members[:1], spec, layout) is members[0]


def test_an_image_ensemble_with_mirror_averaging_saves_predicts_and_explains(squares):
    """Two members and the mirror image in one saved model: it learns, reloads in safe mode with
    identical predictions, and Grad-CAM (on the stacked feature maps) and SHAP still work."""
    from dlcore.models.image import ENSEMBLE_FEATURES, last_conv_layer

    dataset, quadrants = squares
    spec = default_image_spec(len(dataset.images), "cnn")
    spec.conv_filters, spec.hidden_units, spec.epochs, spec.early_stopping_patience = (
        [8, 16],
        [16],
        8,
        0,
    )
    spec.residual, spec.lr_schedule, spec.label_smoothing = False, "constant", 0.0
    spec.ensemble, spec.test_time_flip = 2, True
    outcome = train_and_register(dataset, spec, name="square ensemble")
    assert outcome.report.roc_auc > 0.95
    assert outcome.result.timings["ensemble_members"] == 2
    loaded = load_model(outcome.record.id)
    assert last_conv_layer(loaded.model).name == ENSEMBLE_FEATURES
    assert [layer.name for layer in loaded.model.layers].count("tta_mirror") == 1
    images = dataset.images[:40]
    np.testing.assert_array_equal(
        predict_images(loaded.model, loaded.layout, images).output,
        run_model(outcome.result.model, loaded.layout.inputs(images)),
    )
    explainer = ImageExplainer(loaded.model, loaded.layout, loaded.background())
    positives = _positive_test_images(outcome.result, quadrants, 8)
    shares = [
        explainer.grad_cam(dataset.images[i]).quadrant_shares()[QUADRANTS[quadrants[i]]]
        for i in positives
    ]
    assert np.mean(shares) >= 0.5, shares
    explanation = explainer.shap(dataset.images[positives[0]])
    assert explanation.output_name == "square" and explanation.additivity_error < 0.05
