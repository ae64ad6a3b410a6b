"""Reading DICOM images: de-identified on import, pixels in modality units, display windows."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import logging
import secrets
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from dlcore.config import get_settings
from dlcore.errors import BadUploadError

logger = logging.getLogger(__name__)

DEID_METHOD = "dlcore basic profile"

# Actions of DICOM PS3.15 Annex E (Basic Application Level Confidentiality Profile):
# X remove, Z empty (zero length), D replace with a dummy value, U replace with a new UID.
# Where the profile allows several actions (e.g. X/Z/D) the strictest one that keeps the file
# valid is chosen: Z for Type 2 attributes of the Patient and Study modules, X for the rest.
_X = """
    PatientBirthTime PatientAge PatientSize PatientWeight OtherPatientIDs OtherPatientIDsSequence
    OtherPatientNames PatientBirthName PatientMotherBirthName PatientAddress
    PatientTelephoneNumbers PatientTelecomInformation MilitaryRank BranchOfService EthnicGroup
    Occupation AdditionalPatientHistory PatientComments MedicalRecordLocator CountryOfResidence
    RegionOfResidence InsurancePlanIdentification ResponsiblePerson ResponsibleOrganization
    PatientReligiousPreference IssuerOfPatientID IssuerOfPatientIDQualifiersSequence
    PatientInsurancePlanCodeSequence PatientPrimaryLanguageCodeSequence
    PatientPrimaryLanguageModifierCodeSequence PatientState PregnancyStatus LastMenstrualDate
    SmokingStatus MedicalAlerts Allergies SpecialNeeds PatientTransportArrangements
    CurrentPatientLocation PatientInstitutionResidence AdmissionID IssuerOfAdmissionIDSequence
    AdmittingDate AdmittingTime AdmittingDiagnosesDescription AdmittingDiagnosesCodeSequence
    DischargeDiagnosisDescription VisitComments ServiceEpisodeID ServiceEpisodeDescription
    PatientSexNeutered ReferencedPatientSequence ReferencedPatientAliasSequence
    ReferencedPatientPhotoSequence ReferencedStudySequence
    InstitutionName InstitutionAddress InstitutionalDepartmentName
    InstitutionalDepartmentTypeCodeSequence InstitutionCodeSequence ReferringPhysicianAddress
    ReferringPhysicianTelephoneNumbers ReferringPhysicianIdentificationSequence
    PerformingPhysicianName PerformingPhysicianIdentificationSequence PhysiciansOfRecord
    PhysiciansOfRecordIdentificationSequence NameOfPhysiciansReadingStudy
    PhysiciansReadingStudyIdentificationSequence OperatorsName OperatorIdentificationSequence
    RequestingPhysician RequestingService ScheduledPerformingPhysicianName
    StationName DeviceSerialNumber PlateID CassetteID GantryID RetrieveAETitle
    PerformedStationAETitle PerformedStationName ScheduledStationAETitle ScheduledStationName
    PerformedLocation
    SeriesDate AcquisitionDate SeriesTime AcquisitionTime AcquisitionDateTime
    InstanceCreationDate InstanceCreationTime OverlayDate OverlayTime CurveDate CurveTime
    TimezoneOffsetFromUTC
    RequestAttributesSequence RequestedProcedureID RequestedProcedureDescription
    RequestedProcedureComments ScheduledProcedureStepID ScheduledProcedureStepDescription
    PerformedProcedureStepID PerformedProcedureStepDescription PerformedProcedureStepStartDate
    PerformedProcedureStepStartTime PerformedProcedureStepEndDate PerformedProcedureStepEndTime
    ReasonForStudy ReasonForTheRequestedProcedure RequestedContrastAgent StudyComments
    PlacerOrderNumberImagingServiceRequest FillerOrderNumberImagingServiceRequest
    OrderEnteredBy OrderEntererLocation OrderCallbackPhoneNumber ImagingServiceRequestComments
    ConfidentialityConstraintOnPatientDataDescription
    StudyDescription SeriesDescription ProtocolName DerivationDescription ImageComments
    AcquisitionComments FrameComments IdentifyingComments TextComments TextString
    PersonAddress PersonTelephoneNumbers ContentSequence IconImageSequence
    ModifiedAttributesSequence OriginalAttributesSequence DigitalSignaturesSequence
    MACParametersSequence EncryptedAttributesSequence DataSetTrailingPadding
    OverlayData OverlayComments
"""
_Z = """
    PatientName PatientID PatientBirthDate PatientSex ReferringPhysicianName StudyID
    AccessionNumber StudyDate StudyTime ContentDate ContentTime
"""
_D = """
    ContrastBolusAgent DetectorID
"""
_U = """
    StudyInstanceUID SeriesInstanceUID SOPInstanceUID FrameOfReferenceUID
    MediaStorageSOPInstanceUID ReferencedSOPInstanceUID ReferencedFrameOfReferenceUID
    InstanceCreatorUID IrradiationEventUID DeviceUID StorageMediaFileSetUID
    SynchronizationFrameOfReferenceUID DimensionOrganizationUID ConcatenationUID
"""
BASIC_PROFILE: dict[str, str] = {
    **{k: "X" for k in _X.split()},
    **{k: "Z" for k in _Z.split()},
    **{k: "D" for k in _D.split()},
    **{k: "U" for k in _U.split()},
}
"""Keyword → action (X remove, Z empty, D dummy, U new UID) of the basic de-identification profile."""

# Removed wherever they are: person names, dates and times, application entity titles (they name
# the sending station) and unknown public elements (they cannot be checked).
_REMOVE_VRS = ("PN", "DA", "DT", "TM", "AE", "UN")
# UIDs that name a kind of object or encoding, not an instance: kept.
_KEEP_UIDS = ("TransferSyntaxUID", "CodingSchemeUID", "ReferencedTransferSyntaxUIDInFile")
_KEPT_KEYWORDS = (
    "Modality",
    "BodyPartExamined",
    "PixelSpacing",
    "SliceThickness",
    "Rows",
    "Columns",
    "NumberOfFrames",
    "PhotometricInterpretation",
    "BitsStored",
    "RescaleType",
)
_DEMO_FILES = ("CT_small.dcm", "MR_small.dcm", "rtdose.dcm")
# pydicom's value validation warns (and logs) with the offending value: a patient name could reach
# a log line. Validation and warnings are switched off while we touch a dataset; the settings are
# process-wide, so the switch is serialised.
_PYDICOM_LOCK = threading.RLock()


@dataclass
class DeidReport:
    """What de-identification did: attribute names only, never their values."""

    removed: list[str] = field(default_factory=list)
    replaced_uids: list[str] = field(default_factory=list)
    private_tags_removed: int = 0
    kept: dict[str, Any] = field(default_factory=dict)
    burned_in_annotation: bool | None = None  # None: the file does not say (tag absent)

    def summary(self) -> str:
        """One plain sentence saying what was removed and replaced."""
        names = ", ".join(self.removed[:5]) + (", …" if len(self.removed) > 5 else "")
        removed = f"Removed {_count(len(self.removed), 'identifying attribute')}"
        if self.removed:
            removed += f" ({names})"
        return (
            f"{removed}, replaced {_count(len(self.replaced_uids), 'UID')}, "
            f"removed {_count(self.private_tags_removed, 'private tag')}."
        )


@dataclass
class DicomImage:
    """A de-identified DICOM image: frames in modality units (or RGB), window and kept metadata.

    ``frames`` is (F, H, W) float32 for grayscale and (F, H, W, 3) uint8 for colour;
    ``photometric`` is the file's PhotometricInterpretation (colour is converted to RGB).
    """

    name: str
    frames: np.ndarray
    photometric: str
    window: tuple[float, float] | None
    meta: dict[str, Any]
    report: DeidReport
    # Pseudonyms of the patient, study and series (keyed hashes made before de-identification,
    # with a key that never leaves the process): images of one patient can be kept together
    # in a split without keeping who the patient is.
    group_keys: dict[str, str] = field(default_factory=dict)

    @property
    def is_color(self) -> bool:
        """True for RGB frames (F, H, W, 3)."""
        return self.frames.ndim == 4


def read_dicom(
    source: bytes | str | Path | BinaryIO,
    name: str | None = None,
    *,
    max_bytes: int | None = None,
) -> DicomImage:
    """Read one DICOM file (bytes, path or binary file object), de-identify it on import.

    Returns a DicomImage with the pixels (modality units for grayscale, RGB uint8 for colour), the
    file's window and the kept non-identifying metadata. Raises BadUploadError, naming the file,
    for a file that is not DICOM, is truncated, holds no image, uses a compression whose decoder
    is not installed, or is larger than ``max_bytes`` (default: the upload limit).
    """
    limit = max_bytes if max_bytes is not None else get_settings().max_upload_bytes
    data, name = _read_source(source, name, limit)
    with _pydicom_quiet():
        ds = _parse(data, name)
        try:
            _check_pixels(ds, name)
            group_keys = _group_keys(ds)
            report = deidentify(ds)
            frames = _decode(ds, name, limit)
            photometric = str(ds.get("PhotometricInterpretation", "") or "MONOCHROME2").upper()
            window = None if frames.ndim == 4 else _file_window(ds)
        except BadUploadError:
            raise
        except Exception as exc:  # malformed headers break pydicom in many ways
            # The exception's text may quote a header value: log only its type.
            logger.warning("unreadable DICOM header (%s)", type(exc).__name__)
            raise BadUploadError(
                f"'{name}' has a malformed DICOM header ({type(exc).__name__}).",
                expected="a DICOM image with a valid header",
                fix="export the image again from the PACS or viewer",
            ) from None
    report.kept["NumberOfFrames"] = int(frames.shape[0])
    logger.info(
        "read DICOM image: %s, %d frame(s) of %dx%d%s",
        report.kept.get("Modality", "unknown modality"),
        *frames.shape[:3],
        " RGB" if frames.ndim == 4 else "",
    )
    return DicomImage(name, frames, photometric, window, report.kept, report, group_keys)


_GROUP_SECRET = secrets.token_bytes(32)
_GROUP_LEVELS = (
    ("patient", "PatientID"),
    ("study", "StudyInstanceUID"),
    ("series", "SeriesInstanceUID"),
)


def _group_keys(ds: Any) -> dict[str, str]:
    """Keyed hashes of the patient id, study and series UIDs that are present (never the values)."""
    keys = {}
    for level, keyword in _GROUP_LEVELS:
        value = str(ds.get(keyword, "") or "").strip()
        if value:
            digest = hmac.new(_GROUP_SECRET, f"{level}:{value}".encode(), hashlib.sha256)
            keys[level] = digest.hexdigest()[:16]
    return keys


def deidentify(ds: Any) -> DeidReport:
    """De-identify a pydicom Dataset in place and return what was done.

    Applies the actions of the BASIC_PROFILE table (PS3.15 Annex E basic profile), replaces
    instance UIDs with new random ones (consistently within the file, file meta included),
    removes private tags, curve and overlay data, every remaining person name (PN), date or time
    (DA, DT, TM), application entity title (AE) and unknown public element (UN), at every
    sequence depth. Sets PatientIdentityRemoved = YES. The pixel data is not touched.
    """
    report = DeidReport()
    removed: dict[str, None] = {}
    uids: dict[str, None] = {}
    uid_map: dict[str, str] = {}
    with _pydicom_quiet():
        stated = str(ds.get("BurnedInAnnotation", "")).strip().upper()
        report.burned_in_annotation = {"YES": True, "NO": False}.get(stated)
        report.private_tags_removed = _clean(ds, removed, uids, uid_map)
        file_meta = getattr(ds, "file_meta", None)
        if file_meta is not None:
            report.private_tags_removed += _clean(file_meta, removed, uids, uid_map)
        if getattr(ds, "preamble", None):
            ds.preamble = b"\x00" * 128  # a preamble may hold another format's header
        ds.PatientIdentityRemoved = "YES"
        ds.DeidentificationMethod = DEID_METHOD
        ds.LongitudinalTemporalInformationModified = "REMOVED"
        report.kept = _kept_metadata(ds)
    report.removed = list(removed)
    report.replaced_uids = list(uids)
    logger.info(
        "de-identified DICOM: %d attributes removed, %d UIDs replaced, %d private tags removed",
        len(report.removed),
        len(report.replaced_uids),
        report.private_tags_removed,
    )
    return report


# Standard CT display windows as (centre, width) in Hounsfield units.
WINDOW_PRESETS: dict[str, tuple[float, float]] = {
    "soft tissue": (40.0, 400.0),
    "lung": (-600.0, 1500.0),
    "bone": (400.0, 1800.0),
    "brain": (40.0, 80.0),
}


def value_unit(meta: dict[str, Any]) -> str | None:
    """The unit of a grayscale DICOM image's values: 'HU' for CT (or RescaleType HU), else the
    file's RescaleType when it names one, else None (arbitrary units)."""
    rescale = str(meta.get("RescaleType", "") or "").strip()
    if rescale.upper() == "HU" or (not rescale and str(meta.get("Modality", "")).upper() == "CT"):
        return "HU"
    return rescale if rescale and rescale.upper() != "US" else None  # US: unspecified


def auto_window(frames: np.ndarray) -> tuple[float, float]:
    """Return (center, width) spanning the 1st to 99th percentile of the finite pixel values."""
    values = np.asarray(frames).ravel()
    if values.size > 2_000_000:  # percentiles of a subsample are as good for a display window
        values = values[:: values.size // 1_000_000]
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 1.0
    low, high = (float(v) for v in np.percentile(values, [1.0, 99.0]))
    if high <= low:
        low, high = float(values.min()), float(values.max())
    if high <= low:
        return low, 1.0
    return (low + high) / 2.0, high - low


def apply_window(
    frame: np.ndarray, center: float, width: float, *, invert: bool = False
) -> np.ndarray:
    """Map values through a linear window to uint8 (0 at center − width/2, 255 at center + width/2).

    Uses the linear VOI LUT function of DICOM PS3.3 C.11.2.1.2 for width ≥ 1, a plain linear clip
    for narrower windows (float data in small units); ``invert`` flips it (for MONOCHROME1).
    Raises ValueError when width is not positive.
    """
    if not np.isfinite(width) or width <= 0:
        raise ValueError(f"Window width must be a positive number; received {width!r}.")
    values = np.asarray(frame, dtype=np.float64)
    if width > 1:
        low = center - 0.5 - (width - 1) / 2
        high = center - 0.5 + (width - 1) / 2
        scaled = ((values - (center - 0.5)) / (width - 1) + 0.5) * 255.0
        out = np.where(values <= low, 0.0, np.where(values > high, 255.0, scaled))
    elif width == 1:  # the standard's limit case: a step at the center
        out = np.where(values > center - 0.5, 255.0, 0.0)
    else:
        out = (values - (center - width / 2)) / width * 255.0
    out = np.nan_to_num(np.clip(out, 0.0, 255.0), nan=0.0)
    result = np.rint(out).astype(np.uint8)
    return 255 - result if invert else result


def to_display(
    image: DicomImage, frame: int = 0, window: tuple[float, float] | None = None
) -> np.ndarray:
    """Return one frame ready to show: uint8 (H, W) for grayscale, (H, W, 3) for colour.

    Grayscale uses ``window`` if given, else the file's window, else auto_window over all frames;
    MONOCHROME1 is inverted so that higher values are brighter. Raises IndexError for a frame
    number outside the image.
    """
    count = image.frames.shape[0]
    if not 0 <= frame < count:
        raise IndexError(f"Frame {frame} does not exist: the image has frames 0 to {count - 1}.")
    if image.is_color:
        return np.ascontiguousarray(image.frames[frame])
    center, width = window or image.window or auto_window(image.frames)
    return apply_window(
        image.frames[frame], center, width, invert=image.photometric == "MONOCHROME1"
    )


def demo_dicom_files() -> list[Path]:
    """Return paths of DICOM images shipped inside the installed pydicom package.

    CT_small.dcm, MR_small.dcm and the multi-frame rtdose.dcm, each only when present and
    decodable without extra packages; never downloads. Returns an empty list without pydicom.
    """
    try:
        from pydicom import dcmread
        from pydicom.data import get_testdata_file
    except ImportError:
        return []
    paths = []
    for file_name in _DEMO_FILES:
        try:
            found = get_testdata_file(file_name, download=False)
        except Exception:  # pydicom looks in optional data packages too; any failure = absent
            found = None
        if not found or not Path(str(found)).is_file():
            continue
        with _pydicom_quiet():
            try:
                header = dcmread(str(found), stop_before_pixels=True)
                syntax = header.file_meta.get("TransferSyntaxUID")
                if syntax is None or _decoder_missing(syntax) is None:
                    paths.append(Path(str(found)))
            except Exception:
                continue
    return paths


# --- reading ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _pydicom_quiet() -> Iterator[None]:
    from pydicom import config

    with _PYDICOM_LOCK, warnings.catch_warnings(), config.disable_value_validation():
        warnings.simplefilter("ignore")
        yield


def _read_source(
    source: bytes | str | Path | BinaryIO, name: str | None, limit: int
) -> tuple[bytes, str]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        if not path.is_file():
            raise BadUploadError(
                f"No file at '{path}'.",
                expected="the path of a readable DICOM file",
                fix="check the path",
            )
        size = path.stat().st_size
        if size > limit:
            raise _too_large(name, size, limit)
        data = path.read_bytes()
    elif isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        data = source.read(limit + 1)
        name = name or Path(str(getattr(source, "name", "") or "upload")).name
    name = name or "upload"
    if len(data) > limit:
        raise _too_large(name, len(data), limit)
    if not data:
        raise BadUploadError(
            f"'{name}' is empty (0 bytes).",
            expected="a DICOM file",
            fix="export the image again from the PACS or viewer and upload that file",
        )
    return data, name


def _too_large(name: str, size: int, limit: int) -> BadUploadError:
    return BadUploadError(
        f"'{name}' is {size / 1e6:.1f} MB.",
        expected=f"a DICOM file of at most {limit / 1e6:.0f} MB",
        fix="upload one series or fewer frames, or raise DLCORE_MAX_UPLOAD_MB",
    )


def _parse(data: bytes, name: str) -> Any:
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    try:
        ds = dcmread(io.BytesIO(data))
    except InvalidDicomError:
        # No 'DICM' marker: older files and some exports have none; pydicom can still read them.
        try:
            ds = dcmread(io.BytesIO(data), force=True)
        except Exception:
            raise _not_dicom(data, name) from None
        if not any(k in ds for k in ("SOPClassUID", "Modality", "PixelData")):
            raise _not_dicom(data, name) from None
    except Exception as exc:
        raise BadUploadError(
            f"'{name}' starts like a DICOM file but could not be read ({type(exc).__name__}).",
            expected="an intact DICOM file",
            fix="export or copy the file again; it may have been cut short or damaged",
        ) from None
    meta = ds.file_meta
    if "TransferSyntaxUID" not in meta:
        # Files without meta information: pydicom knows the encoding it read them with.
        from pydicom.uid import (
            ExplicitVRBigEndian,
            ExplicitVRLittleEndian,
            ImplicitVRLittleEndian,
        )

        implicit, little = ds.original_encoding
        meta.TransferSyntaxUID = (
            ImplicitVRLittleEndian
            if implicit
            else (ExplicitVRLittleEndian if little or little is None else ExplicitVRBigEndian)
        )
    return ds


def _not_dicom(data: bytes, name: str) -> BadUploadError:
    kinds = {
        b"\x89PNG": "a PNG image",
        b"\xff\xd8\xff": "a JPEG image",
        b"PK\x03\x04": "a ZIP archive",
        b"%PDF": "a PDF document",
    }
    kind = next((k for magic, k in kinds.items() if data.startswith(magic)), None)
    what = f"it looks like {kind}" if kind else "it has no 'DICM' marker and could not be parsed"
    return BadUploadError(
        f"'{name}' is not a DICOM file ({what}).",
        expected="a DICOM file (.dcm) as exported from a PACS, a scanner or a DICOM viewer",
        fix="export the image as DICOM; for PNG or JPEG pictures use the image upload instead",
    )


def _decoder_missing(syntax: Any) -> str | None:
    """None when pixel data in this transfer syntax can be decoded here, else what is missing."""
    from pydicom.pixels import get_decoder
    from pydicom.uid import UID

    uid = UID(str(syntax))
    try:
        if not uid.is_transfer_syntax:
            return "it is not a known transfer syntax"
        if not uid.is_encapsulated:
            return None
        decoder = get_decoder(uid)
    except (NotImplementedError, ValueError):
        return "no decoder exists for it in pydicom"
    if decoder.is_available:
        return None
    return "; ".join(decoder.missing_dependencies) or "its decoder is not installed"


def _check_pixels(ds: Any, name: str) -> None:
    from pydicom.uid import UID

    if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        sop = ds.get("SOPClassUID")
        kind = UID(str(sop)).name if sop else ""
        if "Rows" in ds or "Image" in kind:
            raise BadUploadError(
                f"'{name}' describes an image but contains no pixel data.",
                expected="a DICOM image with its pixel data",
                fix="export or copy the file again; it was probably cut short",
            )
        what = f"it is a {kind} object" if kind else "the file holds no pixel data"
        raise BadUploadError(
            f"'{name}' contains no image: {what}.",
            expected="a DICOM image (CT, MR, X-ray, ultrasound, secondary capture, …)",
            fix="upload an image file; plans, structure sets and reports cannot be shown here",
        )
    syntax = ds.file_meta.TransferSyntaxUID
    missing = _decoder_missing(syntax)
    if missing is not None:
        raise BadUploadError(
            f"'{name}' is stored with the transfer syntax '{syntax.name}' ({syntax}), "
            f"which this app cannot decode ({missing}).",
            expected="uncompressed DICOM (Explicit or Implicit VR Little Endian); JPEG and "
            "JPEG 2000 compressed files also need pylibjpeg with its plugins",
            fix="export the images uncompressed from the PACS or viewer (e.g. dcmtk's dcmdjpeg "
            "or gdcmconv --raw), or install pylibjpeg, pylibjpeg-libjpeg and pylibjpeg-openjpeg",
        )
    if "PixelData" in ds and not syntax.is_encapsulated:
        from pydicom.pixels.utils import get_expected_length

        try:
            expected = get_expected_length(ds, unit="bytes")
        except Exception:
            expected = None  # missing Rows/Columns etc.: the decoder below says what is wrong
        received = len(ds.PixelData or b"")
        if isinstance(expected, int) and received < expected:
            raise BadUploadError(
                f"'{name}' is truncated: its pixel data has {received:,} bytes but its header "
                f"(rows × columns × frames × bits) needs {expected:,}.",
                expected="a complete DICOM file",
                fix="copy or export the file again; it was cut short on the way",
            )


def _decode(ds: Any, name: str, limit: int) -> np.ndarray:
    from pydicom.pixels import apply_color_lut, pixel_array

    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    photometric = str(ds.get("PhotometricInterpretation", "")).upper()
    color = samples == 3 or photometric == "PALETTE COLOR"
    try:
        count = int(ds.get("Rows", 0)) * int(ds.get("Columns", 0)) * _int(ds, "NumberOfFrames", 1)
    except (TypeError, ValueError):
        count = 0
    if count * (3 if color else 4) > 20 * limit:
        raise BadUploadError(
            f"'{name}' would expand to {count * (3 if color else 4) / 1e6:,.0f} MB of pixels.",
            expected=f"an image of at most {20 * limit / 1e6:,.0f} MB once decoded",
            fix="upload fewer frames or a smaller image",
        )
    try:
        arr = pixel_array(ds)
        if photometric == "PALETTE COLOR":
            arr = apply_color_lut(arr, ds)
    except Exception as exc:
        detail = " ".join(str(exc).split())[:200]
        syntax = ds.file_meta.TransferSyntaxUID
        if syntax.is_encapsulated:
            raise BadUploadError(
                f"'{name}' is compressed with the transfer syntax '{syntax.name}' ({syntax}) "
                f"and the installed decoder failed on it ({detail}).",
                expected="uncompressed DICOM (Explicit or Implicit VR Little Endian); other JPEG "
                "and JPEG 2000 variants need pylibjpeg with its plugins",
                fix="export the images uncompressed from the PACS or viewer (e.g. dcmtk's "
                "dcmdjpeg or gdcmconv --raw), or install pylibjpeg, pylibjpeg-libjpeg and "
                "pylibjpeg-openjpeg",
            ) from None
        raise BadUploadError(
            f"The pixel data of '{name}' could not be decoded ({type(exc).__name__}: {detail}).",
            expected="a DICOM image whose header (rows, columns, bits, frames) matches its pixels",
            fix="export or copy the file again",
        ) from None
    if color:
        if arr.ndim == 3:
            arr = arr[np.newaxis]
        return _to_uint8_rgb(arr, ds)
    if arr.ndim == 2:
        arr = arr[np.newaxis]
    if arr.ndim != 3:
        raise BadUploadError(
            f"'{name}' has pixel data of an unexpected shape {arr.shape}.",
            expected="grayscale or RGB frames",
            fix="export the image again as a standard DICOM image",
        )
    return _to_modality_units(arr, ds)


def _to_uint8_rgb(arr: np.ndarray, ds: Any) -> np.ndarray:
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if str(ds.get("PhotometricInterpretation", "")).upper() == "PALETTE COLOR":
        top = 65535.0 if arr.dtype.itemsize > 1 else 255.0  # 16-bit palette entries
    else:
        top = float(2 ** _int(ds, "BitsStored", 8 * arr.dtype.itemsize) - 1)
    scaled = np.clip(arr.astype(np.float64) / top * 255.0, 0, 255)
    return np.rint(scaled).astype(np.uint8)


def _to_modality_units(arr: np.ndarray, ds: Any) -> np.ndarray:
    """Apply the Modality LUT or rescale (per frame for enhanced multi-frame), as float32."""
    if "ModalityLUTSequence" in ds:
        from pydicom.pixels import apply_modality_lut

        return apply_modality_lut(arr, ds).astype(np.float32)
    out = arr.astype(np.float32)
    top = _slope_intercept(ds)
    shared = _first_item(ds, "SharedFunctionalGroupsSequence")
    shared_pair = _slope_intercept(_first_item(shared, "PixelValueTransformationSequence"))
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    if top is not None:
        return _rescaled(out, *top)
    if len(per_frame) == out.shape[0]:
        pairs = [
            _slope_intercept(_first_item(item, "PixelValueTransformationSequence")) or shared_pair
            for item in per_frame
        ]
        if any(pairs):
            for i, pair in enumerate(pairs):
                if pair is not None:
                    out[i] = _rescaled(out[i], *pair)
            return out
    if shared_pair is not None:
        return _rescaled(out, *shared_pair)
    scaling = _float(ds.get("DoseGridScaling"))
    if str(ds.get("Modality", "")).upper() == "RTDOSE" and scaling is not None:
        return (arr.astype(np.float64) * scaling).astype(np.float32)  # dose in Gy
    return out


def _rescaled(arr: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    return (arr.astype(np.float64) * slope + intercept).astype(np.float32)


def _slope_intercept(item: Any) -> tuple[float, float] | None:
    if item is None:
        return None
    slope, intercept = _float(item.get("RescaleSlope")), _float(item.get("RescaleIntercept"))
    if slope is None and intercept is None:
        return None
    return (1.0 if slope is None else slope), (0.0 if intercept is None else intercept)


def _file_window(ds: Any) -> tuple[float, float] | None:
    shared = _first_item(ds, "SharedFunctionalGroupsSequence")
    first = _first_item(ds, "PerFrameFunctionalGroupsSequence")
    for item in (
        ds,
        _first_item(shared, "FrameVOILUTSequence"),
        _first_item(first, "FrameVOILUTSequence"),
    ):
        if item is None:
            continue
        center, width = _float(item.get("WindowCenter")), _float(item.get("WindowWidth"))
        if center is not None and width is not None and width > 0:
            return center, width
    return None


def _kept_metadata(ds: Any) -> dict[str, Any]:
    shared = _first_item(ds, "SharedFunctionalGroupsSequence")
    measures = _first_item(shared, "PixelMeasuresSequence")
    kept: dict[str, Any] = {}
    for keyword in _KEPT_KEYWORDS:
        value = ds.get(keyword)
        if value in (None, "") and measures is not None:
            value = measures.get(keyword)
        if value in (None, ""):
            continue
        if keyword == "PixelSpacing":
            spacing = [_float(v) for v in (value if _is_multi(value) else [value])]
            if all(v is not None for v in spacing):
                kept[keyword] = spacing
        elif keyword == "SliceThickness":
            if (thickness := _float(value)) is not None:
                kept[keyword] = thickness
        elif keyword in ("Rows", "Columns", "NumberOfFrames", "BitsStored"):
            with contextlib.suppress(TypeError, ValueError):
                kept[keyword] = int(value)
        else:
            kept[keyword] = str(value)
    return kept


# --- de-identification --------------------------------------------------------------------------


def _clean(
    ds: Any, removed: dict[str, None], uids: dict[str, None], uid_map: dict[str, str]
) -> int:
    """Apply the profile to one dataset and its sequences; return the private tags removed."""
    from pydicom.tag import Tag

    private = 0
    for key in list(ds.keys()):
        tag = Tag(key)
        if tag.is_private:
            del ds[tag]
            private += 1
            continue
        group = tag.group
        try:
            elem = ds[tag]
        except Exception:  # a value that cannot even be parsed cannot be checked: drop it
            del ds[tag]
            removed[str(tag)] = None
            continue
        keyword = elem.keyword or str(tag)
        action = BASIC_PROFILE.get(keyword)
        curve = 0x5000 <= group <= 0x50FF  # retired curve data
        if curve or (action is None and elem.VR in _REMOVE_VRS):
            action = "X"
        if action == "X":
            del ds[tag]
            removed[keyword] = None
        elif action == "Z":
            if not _is_empty(elem.value):
                elem.value = [] if elem.VR == "SQ" else None
                removed[keyword] = None
        elif action == "D":
            if not _is_empty(elem.value):
                elem.value = _dummy(elem.VR)
                removed[keyword] = None
        elif elem.VR == "SQ":
            for item in elem.value:
                private += _clean(item, removed, uids, uid_map)
        elif (
            elem.VR == "UI"
            and not _is_empty(elem.value)
            and (action == "U" or _is_instance_uid(keyword, elem.value))
        ):
            elem.value = _new_uids(elem.value, uid_map)
            uids[keyword] = None
    return private


def _is_instance_uid(keyword: str, value: Any) -> bool:
    from pydicom.uid import UID

    if "ClassUID" in keyword or keyword in _KEEP_UIDS:
        return False
    values = value if _is_multi(value) else [value]
    return any(UID(str(v)).is_private for v in values if v)


def _new_uids(value: Any, uid_map: dict[str, str]) -> Any:
    from pydicom.uid import UID, generate_uid

    def new(old: Any) -> str:
        old = str(old)
        if not old or not UID(old).is_private:  # DICOM-defined UIDs identify nobody
            return old
        if old not in uid_map:
            uid_map[old] = str(generate_uid(prefix=None))  # 2.25.<random 128-bit number>
        return uid_map[old]

    if _is_multi(value):
        return [new(v) for v in value]
    return new(value)


def _dummy(vr: str) -> Any:
    if vr in ("IS", "DS"):
        return "0"
    if vr in ("LO", "SH", "LT", "ST", "UT", "UC", "CS"):
        return "ANONYMIZED"
    return None


# --- small helpers ------------------------------------------------------------------------------


def _is_multi(value: Any) -> bool:
    return isinstance(value, list | tuple) or type(value).__name__ == "MultiValue"


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str | bytes | list | tuple) or _is_multi(value):
        return len(value) == 0
    return False


def _first_item(ds: Any, keyword: str) -> Any:
    if ds is None:
        return None
    sequence = ds.get(keyword)
    return sequence[0] if sequence else None


def _float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if _is_multi(value):
        if len(value) == 0:
            return None
        value = value[0]
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def _int(ds: Any, keyword: str, default: int) -> int:
    try:
        return int(ds.get(keyword) or default)
    except (TypeError, ValueError):
        return default


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
