"""The medical-image flow through the pages with Streamlit's AppTest: demo digits on the Data page,
a tiny CNN trained on the saved set, the confusion-cell browser, a PNG scored on Predict and
explained (Grad-CAM and SHAP) on Explain; bad uploads; the DICOM viewer; the image knobs on Train.

These tests run in a workspace of their own (the tabular page tests assume only tables there).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from apptools import (
    button,
    figures,
    healthy,
    metrics,
    new_app,
    open_page,
    switched_workspace,
    texts,
    widget,
)
from streamlit.testing.v1 import AppTest

from dlcore.report.wording import percent_text

MODE = "data_mode"
IMAGES = "Medical images"


# -- helpers -----------------------------------------------------------------------------------


def captions(at: AppTest) -> list[str]:
    """Every st.image caption on the page, in order."""
    return [caption for image in at.image for caption in image.captions]


def image_mode(at: AppTest, size: int = 28) -> AppTest:
    healthy(at.button_group(key=MODE).set_value(IMAGES).run())
    healthy(at.selectbox(key="data_image_size").set_value(size).run())
    return at


def png_bytes(image: np.ndarray, scale: int = 2) -> bytes:
    from PIL import Image

    picture = Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image)
    picture = picture.resize((picture.width * scale, picture.height * scale))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def pydicom_file(name: str) -> Path:
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name, download=False)
    if not path:
        pytest.skip(f"pydicom does not ship {name}")
    return Path(str(path))


@pytest.fixture(scope="module", autouse=True)
def image_workspace():
    """A workspace of this module's own, so that image datasets never meet the table tests."""
    with switched_workspace("dlcore-images-") as home:
        yield home


@pytest.fixture(scope="module")
def flow() -> dict:
    """What the flow test leaves for the others: the saved digits and the model trained on them."""
    return {}


# Small and quick (about 3 s), yet it learns: test accuracy about 0.4 (chance 0.1), ROC AUC 0.9.
TINY_CNN = {
    "architecture": "cnn",
    "conv_filters": [8, 16],
    "hidden_units": [32],
    "batch_norm": True,
    "dropout": 0.0,
    "learning_rate": 1e-2,
    "batch_size": 16,
    "epochs": 3,
    "early_stopping_patience": 0,
    "seed": 3,
}


# -- the flow ----------------------------------------------------------------------------------


def test_image_flow_digits_to_heatmaps(flow):
    from dlcore.data.catalog import list_datasets, load_dataset
    from dlcore.models.spec import ModelSpec
    from dlcore.registry import get_evaluation, load_model
    from dlcore.training.pipeline import train_and_register

    # Data: the demo digits at 28 × 28 — counts per class, a sample grid, intensities; save.
    at = image_mode(open_page("data"))
    healthy(button(at, "Demo: handwritten digits").click().run())
    assert texts(at.subheader)[0] == "Handwritten digits"
    shown = metrics(at)
    assert shown["Images"] == "1,797" and shown["Classes"] == "10"
    assert shown["Image size"] == "28 × 28"
    balance = figures(at)["image_class_balance"]["data"][0]
    assert balance["x"] == [str(i) for i in range(10)]
    assert sum(balance["y"]) == 1797 and min(balance["y"]) >= 170
    intensity = figures(at)["intensity_histogram"]["data"]
    assert [t["name"] for t in intensity] == ["gray"]
    assert sum(intensity[0]["y"]) == pytest.approx(1.0)
    grid = at.image  # one st.image (a row of samples) per class
    assert len(grid) == 10
    assert all(len(row.captions) == 6 for row in grid)
    assert all(c.startswith("digit-") for c in captions(at))
    assert at.session_state[MODE] == IMAGES

    healthy(at.text_input(key="name_digits-28").input("digits for the image tests").run())
    healthy(button(at, "Save dataset").click().run())
    saved = next(d for d in list_datasets() if d.name == "digits for the image tests")
    assert saved.kind == "images" and saved.rows == 1797 and saved.task == "multiclass"
    assert "This dataset is saved in the workspace." in texts(at.success)

    # Reopened from the saved-dataset box, it shows in images mode (no schema editor).
    at = open_page("data")
    healthy(at.button_group(key=MODE).set_value("Patient records").run())
    healthy(widget(at.selectbox, "A saved dataset").set_value(saved.id).run())
    assert at.button_group(key=MODE).value == IMAGES
    assert texts(at.subheader)[0] == "digits for the image tests"
    assert metrics(at)["Images"] == "1,797"
    assert not [s for s in at.selectbox if s.label.startswith("Target")]

    # Train a tiny CNN on the saved set through the registered path.
    dataset = load_dataset(saved.id)
    outcome = train_and_register(dataset, ModelSpec(**TINY_CNN), name="tiny digits CNN")
    model_id = outcome.record.id
    assert outcome.report.macro_auc > 0.7  # it learned something: its mistakes mean something
    flow.update(dataset_id=saved.id, model_id=model_id)

    # Models: the test metrics and the confusion-cell browser at the most common mistake.
    at = open_page("models", at)
    healthy(widget(at.selectbox, "Model").set_value(model_id).run())
    assert any("1797 labelled images of 28 × 28 pixels" in t for t in texts(at.markdown))
    assert any("convolution blocks [8, 16]" in t for t in texts(at.caption))
    confusion = np.array(get_evaluation(model_id).confusion)
    off = confusion.copy()
    np.fill_diagonal(off, 0)
    actual, predicted = (
        widget(at.selectbox, "Actual class"),
        widget(at.selectbox, "Predicted class"),
    )
    if off.max() > 0:
        assert (actual.value, predicted.value) == np.unravel_index(off.argmax(), off.shape)
        assert actual.value != predicted.value
    count = int(confusion[actual.value, predicted.value])
    note = next(t for t in texts(at.caption) if "test image(s) of class" in t)
    # the browser counts the matrix's own cases, and says how it decides
    assert note.startswith(f"{count} test image(s) of class {actual.value} predicted ")
    assert any("as in the matrix above" in t for t in texts(at.caption))
    cell = [c for c in captions(at) if " · P(" in c]
    assert len(cell) == min(count, 24)
    assert all(c.startswith(f"predicted {predicted.value} · P({predicted.value}) = ") for c in cell)
    # Another cell: the diagonal of class 1 (correct ones), captioned with their probability.
    healthy(actual.set_value(1).run())
    healthy(widget(at.selectbox, "Predicted class").set_value(1).run())
    correct = [c for c in captions(at) if " · P(1) = " in c]
    assert len(correct) == min(int(confusion[1, 1]), 24)

    # Predict: one uploaded PNG → class probabilities and the decision, as the model gives them.
    loaded = load_model(model_id)
    digit = dataset.images[int(np.flatnonzero(dataset.labels == 7)[0])]
    png = png_bytes(digit)
    from dlcore.data.images import read_images

    expected = np.asarray(
        loaded.model(read_images(png, "seven.png", size=(28, 28), channels=1).images.astype("f4"))
    )[0]
    at = open_page("predict", at)
    healthy(widget(at.selectbox, "Model").set_value(model_id).run())
    uploader = at.file_uploader(key=f"images_{model_id}")
    healthy(uploader.set_value([("seven.png", png, "image/png")]).run())
    assert metrics(at)["Most likely class"] == str(int(expected.argmax()))
    shown = np.asarray(loaded.recalibrator.apply(expected[None]))[0]  # as Predict shows it
    assert metrics(at)["Its probability"] == percent_text(shown.max())
    bars = figures(at)["image_probabilities"]["data"][0]
    assert bars["x"] == [str(i) for i in range(10)]
    assert np.allclose(bars["y"], shown, atol=1e-6)
    assert captions(at) == ["seven.png"]
    stored = at.session_state["explain_image"]
    assert stored["model_id"] == model_id and stored["image"].shape == (28, 28, 1)

    # Explain: the same image, Grad-CAM and SHAP overlays side by side, the opacity changes them.
    at = open_page("explain", at)
    assert widget(at.selectbox, "Model").value == model_id
    assert widget(at.radio, "Which image").value == "The image from Predict"
    assert metrics(at)["Predicted class"] == str(int(expected.argmax()))
    assert captions(at) == ["The image: seven.png"]
    overlays = figures(at)
    assert {"overlay_grad-cam", "overlay_shap"} <= set(overlays)
    for key in ("overlay_grad-cam", "overlay_shap"):
        scale = overlays[key]["data"][1]["marker"]
        assert scale["showscale"] and scale["colorbar"]["ticktext"] == ["none", "strongest"]
    assert any(
        t.startswith("Grad-CAM: where the last convolution layer") for t in texts(at.caption)
    )
    # The small print is the engine's own additivity check for this image (sampled: not 0).
    from dlcore.explain.images import ImageExplainer

    shap = ImageExplainer(loaded.model, loaded.layout, loaded.background()).explain(
        stored["image"], "shap"
    )
    from dlcore.report.wording import points_text

    missed = points_text(shap.additivity_error, signed=False)
    if shap.additivity_error > 0.02:  # a large error is flagged, not shown as routine
        assert any(
            t.startswith("Approximate: SHAP samples") and missed in t for t in texts(at.warning)
        )
    else:
        assert any(f"miss the network's output by {missed}" in t for t in texts(at.caption))
    assert shap.additivity_error < 0.2
    before = figures(at)["overlay_grad-cam"]["data"][0]
    healthy(at.slider(key="heatmap_opacity").set_value(0.9).run())
    after = figures(at)["overlay_grad-cam"]["data"][0]
    assert after != before

    # …or an image of the model's dataset by its number, with its class.
    healthy(widget(at.radio, "Which image").set_value("An image from the model's dataset").run())
    healthy(widget(at.number_input, "Image number").set_value(5).run())
    label = dataset.classes[int(dataset.labels[5])]
    assert captions(at) == [f"The image: digit-5 (class {label})"]


def test_multiclass_evidence_for_another_class(flow):
    if "model_id" not in flow:
        pytest.skip("needs the model of test_image_flow_digits_to_heatmaps")
    at = open_page("explain")
    healthy(widget(at.selectbox, "Model").set_value(flow["model_id"]).run())
    chooser = widget(at.selectbox, "Show the evidence for")
    other = (chooser.value + 1) % 10
    healthy(chooser.set_value(other).run())
    assert any(f"evidence for **{other}**" in t for t in texts(at.caption))
    assert {"overlay_grad-cam", "overlay_shap"} <= set(figures(at))


# -- bad input ---------------------------------------------------------------------------------


def test_bad_image_uploads_show_clear_errors_and_the_page_keeps_working():
    at = image_mode(open_page("data"))
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("scans/broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    uploader = at.file_uploader(key="data_upload")
    healthy(uploader.set_value(("broken.zip", broken.getvalue(), "application/zip")).run())
    errors = texts(at.error)
    assert any(
        "No readable image in 'broken.zip'" in e and "scans/broken.png" in e and "Fix:" in e
        for e in errors
    ), errors

    truncated = pydicom_file("MR_truncated.dcm")
    healthy(
        at.file_uploader(key="data_upload")
        .set_value(("MR_truncated.dcm", truncated.read_bytes(), "application/dicom"))
        .run()
    )
    errors = texts(at.error)
    assert any("'MR_truncated.dcm' is truncated" in e and "Expected" in e for e in errors), errors

    # The page still works: a good PNG is read at the chosen size.
    healthy(at.run())
    image = np.zeros((40, 30, 3), dtype=np.uint8)
    image[10:20, 5:15] = 200
    healthy(
        at.file_uploader(key="data_upload")
        .set_value(("square.png", png_bytes(image, 1), "image/png"))
        .run()
    )
    assert not texts(at.error)
    assert texts(at.subheader)[0].startswith("images ")  # named neutrally, not by the file
    assert metrics(at)["Image size"] == "28 × 28"
    assert any("no classes" in t for t in texts(at.info))


def test_predict_page_refuses_a_broken_image_then_scores_a_good_one(flow):
    if "model_id" not in flow:
        pytest.skip("needs the model of test_image_flow_digits_to_heatmaps")
    model_id = flow["model_id"]
    at = open_page("predict")
    healthy(widget(at.selectbox, "Model").set_value(model_id).run())
    bad = [("broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png")]
    healthy(at.file_uploader(key=f"images_{model_id}").set_value(bad).run())
    assert any("'broken.png' could not be decoded" in e for e in texts(at.error)), texts(at.error)

    # Several files: a table of predictions with the broken one listed as skipped.
    from dlcore.data.catalog import load_dataset

    dataset = load_dataset(flow["dataset_id"])
    files = [(f"digit{i}.png", png_bytes(dataset.images[i]), "image/png") for i in range(3)]
    healthy(at.file_uploader(key=f"images_{model_id}").set_value([*files, *bad]).run())
    assert "3 predictions." in texts(at.success)
    assert any("1 file(s) were skipped" in w for w in texts(at.warning))
    table = next(d.value for d in at.dataframe if "predicted" in d.value.columns)
    assert list(table["file"]) == ["digit0.png", "digit1.png", "digit2.png"]
    assert "predicted" in table.columns
    assert "Download predictions (CSV)" in [b.label for b in at.get("download_button")]


# -- DICOM -------------------------------------------------------------------------------------


def test_dicom_viewer_shows_the_deidentification_of_ct_small():
    from dlcore.data.dicom import auto_window, read_dicom

    path = pydicom_file("CT_small.dcm")
    expected = read_dicom(path)
    at = image_mode(open_page("data"))
    healthy(
        at.file_uploader(key="data_upload")
        .set_value(("CT_small.dcm", path.read_bytes(), "application/dicom"))
        .run()
    )
    assert texts(at.subheader)[0].startswith("images ")  # named neutrally, not by the file
    assert expected.report.summary() in texts(at.success)
    assert texts(at.success)[0].startswith("Removed ")
    removed = next(t for t in texts(at.markdown) if "`PatientName`" in t)
    assert all(f"`{name}`" in removed for name in expected.report.removed)
    center, width = auto_window(expected.frames)  # CT_small has no window of its own
    sliders = {s.label.removesuffix(" (HU)"): s.value for s in at.slider}  # CT: in HU
    assert sliders["Window centre"] == pytest.approx(center, abs=abs(width) / 100)
    assert sliders["Window width"] == pytest.approx(width, rel=0.02)
    facts = next(d.value for d in at.dataframe if "attribute" in d.value.columns)
    facts = dict(zip(facts["attribute"], facts["value"], strict=True))
    assert facts["Modality"] == "CT"
    spacing = expected.meta["PixelSpacing"]
    assert facts["Pixel spacing (mm)"] == f"{spacing[0]:.4g} × {spacing[1]:.4g}"
    assert not [w for w in texts(at.warning) if "burned into" in w]
    viewer = [c for c in captions(at) if c.startswith("CT_small.dcm · window")]
    assert viewer == [f"CT_small.dcm · window {sliders['Window centre']:.4g} / {width:.4g} (HU)"]
    first = at.image[-1].value
    healthy(widget(at.slider, "Window width").set_value(400.0).run())
    assert captions(at)[-1] == f"CT_small.dcm · window {sliders['Window centre']:.4g} / 400 (HU)"
    assert at.image[-1].value != first


def test_dicom_viewer_warns_about_burned_in_text():
    from pydicom import dcmread

    ds = dcmread(pydicom_file("MR_small.dcm"))
    ds.BurnedInAnnotation = "YES"
    buffer = io.BytesIO()
    ds.save_as(buffer)
    at = image_mode(open_page("data"))
    healthy(
        at.file_uploader(key="data_upload")
        .set_value(("burned.dcm", buffer.getvalue(), "application/dicom"))
        .run()
    )
    warnings = [w for w in texts(at.warning) if "burned into its pixels" in w]
    assert warnings and "BurnedInAnnotation = YES" in warnings[0]
    # MR_small carries its own window, which the sliders start from.
    sliders = {s.label: s.value for s in at.slider}
    assert (sliders["Window centre"], sliders["Window width"]) == (600.0, 1600.0)


def test_dicom_demo_has_a_frame_slider_for_the_multiframe_dose():
    at = image_mode(open_page("data"))
    healthy(button(at, "Demo: DICOM").click().run())
    assert texts(at.subheader)[0] == "DICOM demo"
    assert any("no classes" in t for t in texts(at.info))
    healthy(widget(at.selectbox, "DICOM file").set_value("rtdose.dcm").run())
    frame = widget(at.slider, "Frame")
    assert (frame.min, frame.max) == (1, 15)
    healthy(frame.set_value(5).run())
    assert captions(at)[-1].startswith("rtdose.dcm · frame 5 of 15 · window ")
    assert any("RTDOSE" in str(d.value.to_dict()) for d in at.dataframe)


# -- Train -------------------------------------------------------------------------------------


def image_dataset_id(flow) -> str:
    if "dataset_id" in flow:
        return flow["dataset_id"]
    from dlcore.data.catalog import save_dataset
    from dlcore.data.images import load_digits_images

    flow["dataset_id"] = save_dataset(load_digits_images(28))
    return flow["dataset_id"]


def test_train_page_shows_the_image_knobs_and_a_keras_preview(flow):
    from dlcore.models.image import build_image_model
    from dlcore.models.layouts import ImageLayout
    from dlcore.models.spec import default_image_spec

    dataset_id = image_dataset_id(flow)
    at = new_app()
    healthy(at.run())
    at.session_state["current_dataset_id"] = dataset_id
    open_page("train", at)
    assert widget(at.radio, "Architecture").value == "cnn"
    assert not [t for t in at.text_input if t.label.startswith("Hidden layers (units")]
    cnn = default_image_spec(1797, "cnn")
    filters = widget(at.text_input, "Convolution filters")
    assert filters.value == ", ".join(map(str, cnn.conv_filters))
    assert widget(at.multiselect, "Augmentation").options == [
        "flip (mirror left–right)",
        "rotation (rotate up to ±18°)",
        "zoom (zoom in or out up to 10%)",
        "contrast (vary the contrast up to 20%)",
    ]
    layout = ImageLayout(28, 28, 1, "multiclass", [str(i) for i in range(10)])
    shown = int(metrics(at)["Parameters to learn"].replace(",", ""))
    assert shown == build_image_model(cnn, layout).count_params()

    healthy(filters.input("8, 16").run())
    cnn.conv_filters = [8, 16]
    assert int(metrics(at)["Parameters to learn"].replace(",", "")) == (
        build_image_model(cnn, layout).count_params()
    )
    healthy(widget(at.text_input, "Convolution filters").input("8, x").run())
    assert any("Convolution filters '8, x'" in e for e in texts(at.error))

    # The survey's MLP: its own defaults (512 → 256, SGD at 0.01).
    healthy(widget(at.radio, "Architecture").set_value("mlp").run())
    assert widget(at.text_input, "Hidden layers").value == "512, 256"
    assert widget(at.selectbox, "Optimizer").value == "sgd"
    assert widget(at.select_slider, "Learning rate").value == 0.01
    mlp = default_image_spec(1797, "mlp")
    assert int(metrics(at)["Parameters to learn"].replace(",", "")) == (
        build_image_model(mlp, layout).count_params()
    )


def test_train_page_starts_an_image_job(flow):
    from dlcore.training.jobs import list_jobs, wait_for_job

    dataset_id = image_dataset_id(flow)
    at = new_app()
    healthy(at.run())
    at.session_state["current_dataset_id"] = dataset_id
    open_page("train", at)
    healthy(widget(at.text_input, "Convolution filters").input("8").run())
    healthy(widget(at.number_input, "Epochs").set_value(1).run())
    before = {j.id for j in list_jobs(limit=100)}
    healthy(button(at, "Start training").click().run())
    new = [j for j in list_jobs(limit=100) if j.id not in before]
    assert len(new) == 1 and new[0].params["task"] == "multiclass"
    job = wait_for_job(new[0].id, timeout_s=120)
    assert job.status == "succeeded", job.error
    healthy(at.run())
    assert any(t.startswith("Finished: 1 epochs") for t in texts(at.success))
