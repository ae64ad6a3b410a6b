"""DICOM reading, de-identification and display windows, on files shipped inside pydicom."""

from __future__ import annotations

import copy
import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom import config as pydicom_config
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from dlcore.data.dicom import (
    BASIC_PROFILE,
    DEID_METHOD,
    DeidReport,
    DicomImage,
    apply_window,
    auto_window,
    deidentify,
    demo_dicom_files,
    read_dicom,
    to_display,
)
from dlcore.errors import BadUploadError

ROOT = Path(__file__).resolve().parents[3]

# The attributes the profile table must cover (the design brief's list).
REQUIRED_KEYWORDS = """
    PatientName PatientID PatientBirthDate PatientBirthTime PatientSex PatientAge
    PatientSize PatientWeight OtherPatientIDs OtherPatientIDsSequence OtherPatientNames
    PatientBirthName PatientMotherBirthName PatientAddress PatientTelephoneNumbers MilitaryRank
    BranchOfService EthnicGroup Occupation AdditionalPatientHistory PatientComments
    MedicalRecordLocator CountryOfResidence RegionOfResidence InsurancePlanIdentification
    ResponsiblePerson PatientReligiousPreference IssuerOfPatientID InstitutionName
    InstitutionAddress InstitutionalDepartmentName InstitutionCodeSequence
    ReferringPhysicianName ReferringPhysicianAddress ReferringPhysicianTelephoneNumbers
    PerformingPhysicianName PhysiciansOfRecord NameOfPhysiciansReadingStudy OperatorsName
    RequestingPhysician ScheduledPerformingPhysicianName StationName DeviceSerialNumber
    AccessionNumber StudyID StudyDate SeriesDate AcquisitionDate ContentDate StudyTime
    SeriesTime AcquisitionTime ContentTime AcquisitionDateTime InstanceCreationDate
    InstanceCreationTime RequestAttributesSequence AdmittingDiagnosesDescription
    DerivationDescription ImageComments StudyDescription SeriesDescription ProtocolName
    StudyInstanceUID SeriesInstanceUID SOPInstanceUID FrameOfReferenceUID
    MediaStorageSOPInstanceUID ReferencedSOPInstanceUID
"""

# Identifying values that CT_small.dcm carries (checked against the file in test_fixture_values).
CT_IDENTIFIERS = ("CompressedSamples^CT1", "1CT1", "ABCD1234", "JFK IMAGING CENTER", "CT01_OC0")


def _file(name: str) -> Path:
    found = get_testdata_file(name, download=False)
    assert found, f"{name} should ship inside the installed pydicom package"
    return Path(str(found))


def _dataset(name: str):
    return pydicom.dcmread(_file(name))


def _to_bytes(ds) -> bytes:
    buffer = io.BytesIO()
    with pydicom_config.disable_value_validation():
        ds.save_as(buffer)
    return buffer.getvalue()


def _original_uids(ds) -> dict[str, str]:
    uids = {
        k: str(ds[k].value)
        for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID")
    }
    uids["MediaStorageSOPInstanceUID"] = str(ds.file_meta.MediaStorageSOPInstanceUID)
    return uids


def test_fixture_values():
    ds = _dataset("CT_small.dcm")
    assert str(ds.PatientName) == CT_IDENTIFIERS[0]
    assert ds.PatientID == CT_IDENTIFIERS[1]
    assert ds.InstitutionName == CT_IDENTIFIERS[3]
    assert ds.StationName == CT_IDENTIFIERS[4]
    assert any(item.PatientID == CT_IDENTIFIERS[2] for item in ds.OtherPatientIDsSequence)


# --- reading ------------------------------------------------------------------------------------


def test_ct_small_in_hounsfield_units():
    ds = _dataset("CT_small.dcm")
    expected = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(
        ds.RescaleIntercept
    )
    image = read_dicom(_file("CT_small.dcm"))
    assert isinstance(image, DicomImage)
    assert image.name == "CT_small.dcm"
    assert image.frames.shape == (1, 128, 128)
    assert image.frames.dtype == np.float32
    assert float(ds.RescaleIntercept) == -1024.0
    np.testing.assert_allclose(image.frames[0], expected)
    assert image.frames.min() < 0  # air and fat are negative in HU, raw values are not
    assert not image.is_color
    assert image.photometric == "MONOCHROME2"
    assert image.window is None  # CT_small carries no window
    assert image.meta is image.report.kept
    assert image.meta["Modality"] == "CT"
    assert image.meta["PixelSpacing"] == [float(v) for v in ds.PixelSpacing]
    assert all(isinstance(v, float) for v in image.meta["PixelSpacing"])
    assert image.meta["Rows"] == 128 and image.meta["NumberOfFrames"] == 1
    assert "Manufacturer" not in image.meta and "StudyDescription" not in image.meta
    json.dumps(image.meta)  # plain Python values, ready for a model card


def test_mr_small_keeps_the_file_window():
    ds = _dataset("MR_small.dcm")
    image = read_dicom(_file("MR_small.dcm").read_bytes(), "scan.dcm")
    assert image.name == "scan.dcm"
    assert image.frames.shape == (1, 64, 64)
    np.testing.assert_array_equal(image.frames[0], ds.pixel_array.astype(np.float32))
    assert image.window == (float(ds.WindowCenter), float(ds.WindowWidth)) == (600.0, 1600.0)
    assert image.meta["Modality"] == "MR"
    assert image.meta["PixelSpacing"] == [0.3125, 0.3125]
    display = to_display(image)
    np.testing.assert_array_equal(display, apply_window(image.frames[0], 600.0, 1600.0))


def test_read_from_a_binary_file_object():
    stream = io.BytesIO(_file("MR_small.dcm").read_bytes())
    stream.name = "folder/mr.dcm"
    image = read_dicom(stream)
    assert image.name == "mr.dcm"
    assert image.frames.shape == (1, 64, 64)


def test_multiframe_rtdose_in_gray():
    ds = _dataset("rtdose.dcm")
    image = read_dicom(_file("rtdose.dcm"))
    assert image.frames.shape == (int(ds.NumberOfFrames), 10, 10) == (15, 10, 10)
    expected = ds.pixel_array.astype(np.float64) * float(ds.DoseGridScaling)
    np.testing.assert_allclose(image.frames, expected, rtol=1e-6)
    assert image.meta["NumberOfFrames"] == 15
    shown = [to_display(image, frame=i) for i in range(15)]
    assert all(s.shape == (10, 10) and s.dtype == np.uint8 for s in shown)
    with pytest.raises(IndexError):
        to_display(image, frame=15)


def test_colour_files_become_rgb():
    rgb = read_dicom(_file("SC_rgb_small_odd.dcm"))
    assert rgb.is_color
    assert rgb.frames.shape == (1, 3, 3, 3) and rgb.frames.dtype == np.uint8
    np.testing.assert_array_equal(rgb.frames[0], _dataset("SC_rgb_small_odd.dcm").pixel_array)
    assert to_display(rgb).shape == (3, 3, 3)
    assert rgb.window is None

    ybr = read_dicom(_file("SC_ybr_full_422_uncompressed.dcm"))
    assert ybr.is_color and ybr.photometric == "YBR_FULL_422"
    assert ybr.frames.shape == (1, 100, 100, 3)
    # converted to RGB: the same picture as pydicom's own YBR → RGB conversion
    ds = _dataset("SC_ybr_full_422_uncompressed.dcm")
    raw = pydicom.pixels.pixel_array(ds, as_rgb=False)
    rgb_reference = pydicom.pixels.convert_color_space(raw, "YBR_FULL", "RGB")
    assert np.abs(ybr.frames[0].astype(int) - rgb_reference.astype(int)).max() <= 1

    two = read_dicom(_file("SC_rgb_rle_16bit_2frame.dcm"))
    assert two.frames.shape == (2, 100, 100, 3) and two.frames.dtype == np.uint8
    assert two.frames.max() > 200  # 16-bit samples scaled to the full 8-bit range


# --- de-identification --------------------------------------------------------------------------


def _values_left(ds) -> list[str]:
    """Problems found in a de-identified dataset: descriptions, never values."""
    problems = []
    for elem in ds.iterall():
        if elem.tag.is_private:
            problems.append(f"private {elem.tag}")
        empty = elem.value in (None, "", b"") or (elem.VR == "SQ" and len(elem.value) == 0)
        if elem.VR in ("PN", "DA", "DT", "TM") and not empty:
            problems.append(f"{elem.VR} {elem.keyword}")
        action = BASIC_PROFILE.get(elem.keyword)
        if action in ("X", "Z") and not empty:
            problems.append(f"{action} {elem.keyword}")
        if action == "D" and elem.value != "ANONYMIZED":
            problems.append(f"D {elem.keyword}")
    return problems


def test_deidentify_ct_small():
    ds = _dataset("CT_small.dcm")
    original = copy.deepcopy(ds)
    uids = _original_uids(ds)
    private = sum(1 for elem in original.iterall() if elem.tag.is_private)
    assert private > 100  # the GE private groups

    report = deidentify(ds)

    assert _values_left(ds) == []
    assert _values_left(original) != []  # the check finds identifiers when they are there
    for keyword, old in uids.items():
        new = ds.file_meta[keyword].value if keyword.startswith("Media") else ds[keyword].value
        assert new != old and str(new).startswith("2.25.")
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert ds.SOPClassUID == original.SOPClassUID
    assert ds.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
    assert ds.PatientIdentityRemoved == "YES"
    assert ds.DeidentificationMethod == DEID_METHOD
    assert "OtherPatientIDsSequence" not in ds

    assert isinstance(report, DeidReport)
    for keyword in ("PatientName", "PatientID", "InstitutionName", "StationName", "StudyDate"):
        assert keyword in report.removed
    assert "PatientBirthDate" not in report.removed  # it was already empty: nothing removed
    assert {"StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"} <= set(report.replaced_uids)
    assert report.private_tags_removed == private
    assert report.kept["Modality"] == "CT"
    text = " ".join([str(report), repr(report), report.summary()])
    for value in (*CT_IDENTIFIERS, "20040119", *uids.values()):
        assert value not in text

    np.testing.assert_array_equal(ds.pixel_array, original.pixel_array)
    # nothing identifying survives in the bytes a de-identified file would be saved with
    saved = _to_bytes(ds)
    for value in (*CT_IDENTIFIERS, "20040119", "19970430", uids["StudyInstanceUID"]):
        assert value.encode() not in saved
    assert CT_IDENTIFIERS[0].encode() in _to_bytes(original)


def test_summary_is_one_plain_sentence():
    report = deidentify(_dataset("CT_small.dcm"))
    summary = report.summary()
    assert summary.startswith(f"Removed {len(report.removed)} identifying attributes (")
    assert f"replaced {len(report.replaced_uids)} UIDs" in summary
    assert summary.endswith(f"removed {report.private_tags_removed} private tags.")
    assert summary.count(".") == 1 and "\n" not in summary
    assert DeidReport(private_tags_removed=1).summary() == (
        "Removed 0 identifying attributes, replaced 0 UIDs, removed 1 private tag."
    )


def test_deidentify_nested_sequences():
    ds = _dataset("CT_small.dcm")
    sop_instance = str(ds.SOPInstanceUID)
    inner = Dataset()
    inner.CodeValue = "121311"
    inner.PersonName = "Nested^Deeper"
    inner.InstitutionName = "Hidden Hospital"
    item = Dataset()
    item.ReferencedSOPClassUID = ds.SOPClassUID
    item.ReferencedSOPInstanceUID = sop_instance
    item.VerifyingObserverName = "Doe^Jane"
    item.ObservationDateTime = "20200101120000"
    item.PurposeOfReferenceCodeSequence = [inner]
    block = item.private_block(0x0009, "ACME 1.0", create=True)
    block.add_new(0x10, "LO", "Private^Note")
    ds.ReferencedImageSequence = [item]
    ds.BurnedInAnnotation = "YES"

    report = deidentify(ds)

    assert _values_left(ds) == []
    kept_item = ds.ReferencedImageSequence[0]
    # a reference to this very image follows it to its new UID; the class UID is kept
    assert kept_item.ReferencedSOPInstanceUID == ds.SOPInstanceUID != sop_instance
    assert kept_item.ReferencedSOPClassUID == ds.SOPClassUID
    assert kept_item.PurposeOfReferenceCodeSequence[0].CodeValue == "121311"
    assert "InstitutionName" not in kept_item.PurposeOfReferenceCodeSequence[0]
    assert {"VerifyingObserverName", "ObservationDateTime", "PersonName"} <= set(report.removed)
    assert report.burned_in_annotation is True
    saved = _to_bytes(ds)
    for value in ("Doe^Jane", "Nested^Deeper", "Hidden Hospital", "Private^Note", "ACME"):
        assert value.encode() not in saved
        assert value not in repr(report)


def test_read_dicom_reports_burned_in_text():
    ds = _dataset("MR_small.dcm")
    assert read_dicom(_to_bytes(ds), "plain.dcm").report.burned_in_annotation is None  # not said
    ds.BurnedInAnnotation = "YES"
    assert read_dicom(_to_bytes(ds), "burned.dcm").report.burned_in_annotation is True


def test_no_identifier_reaches_a_log_line(caplog):
    ds = _dataset("CT_small.dcm")
    # an invalid UID makes pydicom's value validation warn, quoting the value, when it is read
    with pydicom_config.disable_value_validation():
        ds.StudyInstanceUID = "1.2.3.SecretMarker"
        ds.PatientName = "SecretMarker^Patient"
    data = _to_bytes(ds)
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        image = read_dicom(data, "upload.dcm")
    assert image.report.removed
    assert caplog.records  # our own log lines are there ...
    assert "SecretMarker" not in caplog.text  # ... without the identifiers
    assert "CompressedSamples" not in caplog.text

    caplog.clear()
    with caplog.at_level(logging.DEBUG), pytest.warns(UserWarning):
        [elem for elem in pydicom.dcmread(io.BytesIO(data))]  # plain pydicom does log it
    assert "SecretMarker" in caplog.text


def test_profile_table_names_real_dicom_keywords():
    from pydicom.datadict import repeater_has_keyword, tag_for_keyword

    unknown = [
        k for k in BASIC_PROFILE if tag_for_keyword(k) is None and not repeater_has_keyword(k)
    ]
    assert unknown == []
    assert set(BASIC_PROFILE.values()) == {"X", "Z", "D", "U"}
    required = REQUIRED_KEYWORDS.split()
    assert [k for k in required if k not in BASIC_PROFILE] == []
    assert BASIC_PROFILE["PatientSex"] == "Z"
    assert BASIC_PROFILE["StudyInstanceUID"] == "U"


# --- display ------------------------------------------------------------------------------------


def test_apply_window_maps_the_window_onto_0_255():
    center, width = 40.0, 400.0
    edges = apply_window(np.array([center - width / 2, center + width / 2]), center, width)
    assert edges.tolist() == [0, 255]
    values = np.linspace(-1000, 1000, 501)
    mapped = apply_window(values, center, width)
    assert mapped.dtype == np.uint8
    assert np.all(np.diff(mapped.astype(int)) >= 0)
    assert mapped[values < center - width / 2].max() == 0
    assert mapped[values > center + width / 2].min() == 255
    assert 120 <= int(apply_window(np.array([center]), center, width)[0]) <= 135
    inverted = apply_window(values, center, width, invert=True)
    np.testing.assert_array_equal(inverted, 255 - mapped)
    # narrow windows on float data (e.g. dose in Gy) still span the range
    narrow = apply_window(np.array([0.9, 1.0, 1.1]), 1.0, 0.2).tolist()
    assert narrow[0] == 0 and narrow[2] == 255 and 127 <= narrow[1] <= 128
    with pytest.raises(ValueError):
        apply_window(values, center, 0.0)


def test_auto_window_inside_the_data_range():
    frames = read_dicom(_file("CT_small.dcm")).frames
    center, width = auto_window(frames)
    low, high = center - width / 2, center + width / 2
    assert frames.min() <= low < high <= frames.max()
    assert np.percentile(frames, 1) == pytest.approx(low)
    assert np.percentile(frames, 99) == pytest.approx(high)
    assert auto_window(np.full((4, 4), 7.0)) == (7.0, 1.0)


def test_monochrome1_is_inverted_for_display():
    ds = _dataset("CT_small.dcm")
    normal = read_dicom(_to_bytes(ds), "m2.dcm")
    ds.PhotometricInterpretation = "MONOCHROME1"
    inverted = read_dicom(_to_bytes(ds), "m1.dcm")
    assert inverted.photometric == "MONOCHROME1"
    np.testing.assert_array_equal(inverted.frames, normal.frames)
    for window in ((40.0, 400.0), None):
        shown_normal = to_display(normal, window=window)
        shown_inverted = to_display(inverted, window=window)
        assert len(np.unique(shown_normal)) > 50  # a real picture, not a flat frame
        np.testing.assert_array_equal(shown_inverted, 255 - shown_normal)


# --- files we refuse ----------------------------------------------------------------------------


def test_not_dicom_names_the_file():
    with pytest.raises(BadUploadError, match=r"'notes\.dcm' is not a DICOM file"):
        read_dicom(b"these are my notes, not an image\n" * 20, "notes.dcm")
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    with pytest.raises(BadUploadError, match="PNG"):
        read_dicom(png, "xray.dcm")
    with pytest.raises(BadUploadError, match="empty"):
        read_dicom(b"", "empty.dcm")
    with pytest.raises(BadUploadError, match="No file"):
        read_dicom(ROOT / "no-such-file.dcm")


def test_truncated_files():
    with pytest.raises(BadUploadError, match=r"'MR_truncated\.dcm' is truncated") as caught:
        read_dicom(_file("MR_truncated.dcm"))
    assert "8,130" in str(caught.value) and "8,192" in str(caught.value)
    data = _file("CT_small.dcm").read_bytes()
    for cut in (200, 5000, len(data) // 2):
        with pytest.raises(BadUploadError, match=r"cut-ct\.dcm"):
            read_dicom(data[:cut], "cut-ct.dcm")


def test_a_dicom_without_pixels_says_so():
    with pytest.raises(BadUploadError, match="contains no image: it is a RT Plan Storage"):
        read_dicom(_file("rtplan.dcm"))


def test_compressed_files_decode_or_name_the_transfer_syntax():
    try:
        image = read_dicom(_file("JPEG2000.dcm"))
    except BadUploadError as error:
        assert "JPEG 2000" in str(error) and "'JPEG2000.dcm'" in str(error)
    else:
        assert image.frames.shape == (1, 1024, 256)
        assert image.meta["Modality"] == "NM"
    # JPEG-LS needs a plugin that the app does not require
    try:
        image = read_dicom(_file("MR_small_jpeg_ls_lossless.dcm"))
    except BadUploadError as error:
        assert "JPEG-LS" in str(error) and "uncompressed" in str(error)
    else:
        np.testing.assert_array_equal(image.frames, read_dicom(_file("MR_small.dcm")).frames)


def test_oversize_files_are_refused_before_reading():
    path = _file("CT_small.dcm")
    with pytest.raises(BadUploadError, match=r"CT_small\.dcm' is 0\.0 MB"):
        read_dicom(path, max_bytes=1000)
    with pytest.raises(BadUploadError, match=r"big\.dcm"):
        read_dicom(path.read_bytes(), "big.dcm", max_bytes=1000)


# --- demo files and imports ---------------------------------------------------------------------


def test_demo_dicom_files_read():
    paths = demo_dicom_files()
    names = [p.name for p in paths]
    assert {"CT_small.dcm", "MR_small.dcm"} <= set(names)
    images = [read_dicom(p) for p in paths]
    assert all(p.is_file() for p in paths)
    assert all(to_display(image).dtype == np.uint8 for image in images)
    assert any(image.frames.shape[0] > 1 for image in images)


def test_importing_the_module_does_not_load_pydicom():
    code = (
        "import json, sys; import dlcore.data.dicom; "
        "print(json.dumps('pydicom' in sys.modules or 'streamlit' in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) is False


def test_burned_in_text_is_yes_no_or_not_stated():
    stated = {}
    for value in ("YES", "NO", None):
        ds = _dataset("CT_small.dcm")
        if value is None:
            if "BurnedInAnnotation" in ds:
                del ds.BurnedInAnnotation
        else:
            ds.BurnedInAnnotation = value
        stated[value] = deidentify(ds).burned_in_annotation
    assert stated == {"YES": True, "NO": False, None: None}  # absent is not "no"
