"""The DICOM viewer speaks CT (issue 14 #18): Hounsfield units on the window sliders and the
image caption, and the standard window presets move the sliders to their level and width."""

from __future__ import annotations

import pytest
from apptools import healthy, open_page, widget

from dlcore.data.dicom import WINDOW_PRESETS, value_unit


def ct_small():
    from pydicom.data import get_testdata_file

    path = get_testdata_file("CT_small.dcm", download=False)
    if not path:
        pytest.skip("pydicom does not ship CT_small.dcm")
    return path


def test_presets_are_the_standard_ct_windows_and_the_unit_follows_the_modality():
    assert WINDOW_PRESETS == {
        "soft tissue": (40.0, 400.0),
        "lung": (-600.0, 1500.0),
        "bone": (400.0, 1800.0),
        "brain": (40.0, 80.0),
    }
    assert value_unit({"Modality": "CT"}) == "HU"
    assert value_unit({"Modality": "OT", "RescaleType": "HU"}) == "HU"
    assert value_unit({"Modality": "MR"}) is None
    assert value_unit({"Modality": "CT", "RescaleType": "US"}) is None  # unspecified


@pytest.mark.parametrize("preset", ["lung", "bone", "brain"])
def test_a_preset_sets_the_window_in_hu(preset):
    from pathlib import Path

    path = Path(ct_small())
    at = open_page("data")
    healthy(at.button_group(key="data_mode").set_value("Medical images").run())
    healthy(
        at.file_uploader(key="data_upload")
        .set_value(("CT_small.dcm", path.read_bytes(), "application/dicom"))
        .run()
    )
    labels = [s.label for s in at.slider]
    assert "Window centre (HU)" in labels and "Window width (HU)" in labels
    healthy(widget(at.selectbox, "Window preset").set_value(preset).run())
    center, width = WINDOW_PRESETS[preset]
    assert widget(at.slider, "Window centre").value == pytest.approx(center)
    assert widget(at.slider, "Window width").value == pytest.approx(width)
    caption = [c for image in at.image for c in image.captions if "window" in c]
    assert caption == [f"CT_small.dcm · window {center:.4g} / {width:.4g} (HU)"]
