"""Medical images into datasets: PNG/JPEG files, a ZIP of one folder per class, MedMNIST-style
``.npz`` archives and DICOM files, each checked file by file.

Every image becomes a uint8 array (H, W, C) of the chosen size. A corrupt, truncated, oversized or
unreadable file is listed with its reason and skipped; it never stops the rest.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from dlcore.config import get_settings
from dlcore.errors import BadUploadError, UnsupportedFileError
from dlcore.fsutil import file_source, neutral_name

logger = logging.getLogger(__name__)

PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg")
DICOM_SUFFIXES = (".dcm", ".dicom")
MAX_IMAGE_PIXELS = 40_000_000  # Pillow's decompression-bomb guard, lower than its default
MAX_ZIP_MEMBERS = 20_000
DEFAULT_SIZE = 64
MAX_CLASSES = 1_000
MAX_NPZ_MEMBERS = 64
_CHUNK = 1 << 20


def _unpacked_limit() -> int:
    """How much an archive may hold once unpacked: four times the upload limit."""
    return get_settings().max_upload_bytes * 4


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    """A member's bytes, read in chunks and stopped past ``cap`` (whatever the directory says).

    Raises BadUploadError for a member larger than ``cap``.
    """
    if info.file_size > cap:
        raise BadUploadError(
            f"A file in the archive would unpack to {info.file_size / 1e6:.0f} MB.",
            expected=f"images of at most {cap / 1e6:.0f} MB each",
            fix="leave the oversized file out of the archive, or raise DLCORE_MAX_UPLOAD_MB",
        )
    chunks, size = [], 0
    with archive.open(info) as handle:
        while chunk := handle.read(_CHUNK):
            size += len(chunk)
            if size > cap:
                raise BadUploadError(
                    "A file in the archive unpacks to more than its directory says.",
                    expected="an intact ZIP archive",
                    fix="compress the images again and upload the new archive",
                )
            chunks.append(chunk)
    return b"".join(chunks)


@dataclass
class SkippedFile:
    """A file that was not used, and why."""

    name: str
    reason: str


_FRAME_SUFFIX = re.compile(r"#frame\d+$")


@dataclass
class ImageDataset:
    """Images (N, H, W, C) uint8 with class labels, file names and where they came from.

    ``labels`` holds class indices into ``classes`` (None for unlabelled images to score).
    ``predefined_split`` maps 'train'/'validation'/'test' to image positions when the source
    came split (MedMNIST). ``dicom`` holds, per DICOM file, its de-identification summary and the
    non-identifying metadata kept.
    """

    name: str
    images: np.ndarray
    labels: np.ndarray | None
    classes: list[str]
    file_names: list[str]
    source: str = ""
    description: str = ""
    id: str | None = None
    positive_class: str | None = None
    predefined_split: dict[str, np.ndarray] | None = None
    skipped: list[SkippedFile] = field(default_factory=list)
    dicom: dict[str, dict[str, Any]] = field(default_factory=dict)
    kind: str = "images"
    notes: list[str] = field(default_factory=list)  # how the upload was read (not stored)

    @property
    def task(self) -> str:
        return "binary" if len(self.classes) == 2 else "multiclass"

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    @property
    def groups(self) -> np.ndarray | None:
        """Per image, what it belongs to, so the split keeps each in one part: the folder below
        its class folder when there is one ('covid/patient_07/slice3.png': one patient), else the
        file it came from (the frames of a multi-frame DICOM). None when every image stands alone.
        """
        keys = np.array(self._group_keys()[0], dtype=object)
        return keys if len(set(keys.tolist())) < len(keys) else None

    @property
    def group_name(self) -> str:
        level = self._dicom_level()
        if level:
            return f"DICOM {level} (its images kept together)"
        if self._group_keys()[1]:
            return "patient folder (a folder below the class folder)"
        return "source file (the frames of one DICOM file)"

    def _dicom_level(self) -> str | None:
        """The coarsest DICOM grouping — patient, else study, else series — that every DICOM
        image has and that gives at least three groups (an id shared by every file, such as
        'ANON', is a placeholder, not one patient)."""
        infos = [self.dicom.get(_FRAME_SUFFIX.sub("", n)) for n in self.file_names]
        keys = [i.get("group_keys") or {} for i in infos if i]
        if not keys:
            return None
        for level in ("patient", "study", "series"):
            values = [k.get(level) for k in keys]
            if all(values) and len(set(values)) >= 3:
                return level
        return None

    def _group_keys(self) -> tuple[list[str], bool]:
        keys, by_folder = [], False
        level = self._dicom_level()
        for i, name in enumerate(self.file_names):
            key = _FRAME_SUFFIX.sub("", name)
            info = self.dicom.get(key) if level else None
            if info and (info.get("group_keys") or {}).get(level):
                keys.append(f"{level}:{info['group_keys'][level]}")
                continue
            parts = PurePosixPath(key).parts
            label = None
            if self.labels is not None and i < len(self.labels):
                label = self.classes[int(self.labels[i])]
            places = [j for j, part in enumerate(parts[:-1]) if part == label]
            if places and places[-1] < len(parts) - 2:
                key, by_folder = "/".join(parts[: places[-1] + 2]), True
            keys.append(key)
        return keys, by_folder

    def fingerprint(self) -> str:
        """A short content hash of the pixels and labels."""
        digest = hashlib.sha256(np.ascontiguousarray(self.images).tobytes())
        if self.labels is not None:
            digest.update(np.ascontiguousarray(self.labels).tobytes())
        return digest.hexdigest()[:16]

    def class_counts(self) -> dict[str, int]:
        """Images per class."""
        if self.labels is None:
            return {}
        counts = np.bincount(self.labels, minlength=len(self.classes))
        return {c: int(n) for c, n in zip(self.classes, counts, strict=True)}


def _pillow() -> Any:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    return Image


def conform(
    array: np.ndarray, size: int | tuple[int, int] | None, channels: int | None
) -> np.ndarray:
    """An image as uint8 (H, W, C): resized (bilinear) to ``size`` and converted to 1 or 3 channels."""
    image_module = _pillow()
    if array.ndim == 2:
        array = array[:, :, None]
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    if channels == 1 and array.shape[2] == 3:
        array = np.asarray(image_module.fromarray(array).convert("L"))[:, :, None]
    elif channels == 3 and array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    elif array.shape[2] == 4:
        array = array[:, :, :3]
    if size is not None:
        height, width = (size, size) if isinstance(size, int) else size
        if array.shape[:2] != (height, width):
            mode_image = image_module.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
            resized = np.asarray(
                mode_image.resize((width, height), image_module.Resampling.BILINEAR)
            )
            array = resized[:, :, None] if resized.ndim == 2 else resized
    return array


def decode_frames(
    data: bytes,
    name: str,
    *,
    size: int | tuple[int, int] | None = None,
    channels: int | None = None,
) -> tuple[list[np.ndarray], dict[str, Any] | None]:
    """Decode one file into its images: one for PNG/JPEG, one per frame for multi-frame DICOM.

    Returns (images as uint8 (H, W, C), DICOM info or None). DICOM is de-identified on import
    and windowed (the file's window, else automatic; MONOCHROME1 inverted). Raises as
    ``decode_image`` does.
    """
    if Path(name).suffix.lower() in DICOM_SUFFIXES or data[128:132] == b"DICM":
        from dlcore.data.dicom import read_dicom, to_display

        dicom = read_dicom(data, name)
        info = {
            "summary": dicom.report.summary(),
            "kept": dicom.meta,
            "frames": int(dicom.frames.shape[0]),
            "burned_in_annotation": dicom.report.burned_in_annotation,
            "group_keys": dicom.group_keys,
        }
        frames = [
            conform(to_display(dicom, frame), size, channels)
            for frame in range(dicom.frames.shape[0])
        ]
        return frames, info
    image, _ = decode_image(data, name, size=size, channels=channels)
    return [image], None


def decode_image(
    data: bytes,
    name: str,
    *,
    size: int | tuple[int, int] | None = None,
    channels: int | None = None,
) -> tuple[np.ndarray, dict[str, Any] | None]:
    """Decode one PNG, JPEG or DICOM file to uint8 (H, W, C); returns (image, DICOM info or None).

    For a multi-frame DICOM file this is its first frame (``decode_frames`` gives them all).
    Raises BadUploadError for corrupt, truncated, oversized or undecodable files and
    UnsupportedFileError for other kinds of file.
    """
    suffix = Path(name).suffix.lower()
    if suffix in DICOM_SUFFIXES or data[128:132] == b"DICM":
        frames, info = decode_frames(data, name, size=size, channels=channels)
        return frames[0], info
    if suffix not in PICTURE_SUFFIXES and not (
        data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff"
    ):
        raise UnsupportedFileError(
            f"Received '{name}', which is not an image this app reads.",
            expected="PNG, JPEG or DICOM (.dcm) images",
            fix="export the image as PNG or JPEG, or upload the DICOM file",
        )
    image_module = _pillow()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", image_module.DecompressionBombWarning)
            with image_module.open(io.BytesIO(data)) as probe:
                probe.verify()
            with image_module.open(io.BytesIO(data)) as opened:
                opened.load()
                # A phone or scanner photo says in EXIF which way is up: show it that way.
                image = _pillow_ops().exif_transpose(opened) or opened
                if image.mode in ("RGBA", "LA", "PA") or (
                    image.mode == "P" and "transparency" in image.info
                ):
                    # Transparent pixels become white, not whatever colour they hide.
                    rgba = image.convert("RGBA")
                    background = image_module.new("RGBA", rgba.size, (255, 255, 255, 255))
                    image = image_module.alpha_composite(background, rgba).convert(
                        "L" if image.mode == "LA" else "RGB"
                    )
                mode = "RGB" if image.mode in ("RGB", "RGBA", "P", "CMYK", "YCbCr", "LA") else "L"
                if image.mode in ("I;16", "I;16B", "I", "F"):
                    values = np.asarray(image, dtype=np.float64)
                    lo, hi = np.percentile(values, [0.5, 99.5])
                    array = np.clip((values - lo) / max(hi - lo, 1e-9) * 255, 0, 255).astype(
                        np.uint8
                    )
                else:
                    array = np.asarray(image.convert(mode))
    except (image_module.DecompressionBombError, image_module.DecompressionBombWarning):
        raise BadUploadError(
            f"'{name}' claims more than {MAX_IMAGE_PIXELS:,} pixels.",
            expected="an image of ordinary size (a decompression bomb is refused)",
            fix="downscale the image before uploading it",
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        reason = (
            "not a recognisable image"
            if "cannot identify image file" in str(exc)
            else (str(exc)[:120] or type(exc).__name__)
        )
        raise BadUploadError(
            f"'{name}' could not be decoded as an image ({reason}).",
            expected="an intact PNG or JPEG file",
            fix="open it in an image viewer; if it does not show, export it again",
        ) from None
    return conform(array, size, channels), None


def _pillow_ops() -> Any:
    from PIL import ImageOps

    return ImageOps


def _check_size(data: bytes, name: str) -> None:
    limit = get_settings().max_upload_bytes
    if len(data) > limit:
        raise BadUploadError(
            f"'{name}' is {len(data) / 1e6:.1f} MB.",
            expected=f"at most {limit / 1e6:.0f} MB",
            fix="upload fewer or smaller images, or raise DLCORE_MAX_UPLOAD_MB",
        )


def _safe_member(member: str) -> bool:
    path = PurePosixPath(member.replace("\\", "/"))
    return not (member.startswith(("/", "\\")) or ".." in path.parts or ":" in member)


SPLIT_FOLDERS = {
    "train": "train", "training": "train", "val": "validation", "valid": "validation",
    "validation": "validation", "dev": "validation", "test": "test", "testing": "test",
}  # fmt: skip
NOT_IMAGES = (".txt", ".csv", ".tsv", ".json", ".md", ".xml", ".pdf", ".html", ".xlsx", ".xls",
              ".doc", ".docx", ".py", ".ini", ".db", ".log", ".yaml", ".yml")  # fmt: skip


def class_folders(paths: list[PurePosixPath]) -> tuple[list[str | None], list[str | None]]:
    """The class of each image path in an archive, and its split folder when there is one.

    The class level is the first folder level where the images' folders differ (wrapper folders
    every image shares are skipped); when the folders there are split names (train, val, test),
    the classes are one level deeper. Images above the class level are unlabelled (None). A
    single class folder gives that class.
    """
    folders = [p.parts[:-1] for p in paths]
    if not folders:
        return [], []
    depth = 0
    while True:
        values = {f[depth] if len(f) > depth else None for f in folders}
        if len(values) > 1 or None in values:
            break
        depth += 1
    if values == {None}:  # one folder (after wrappers) holds everything: that is the class
        return [f[-1] if f else None for f in folders], [None] * len(folders)
    named = {v.lower() for v in values if v is not None}
    if named <= set(SPLIT_FOLDERS) and all(len(f) > depth + 1 for f in folders):
        return (
            [f[depth + 1] for f in folders],
            [SPLIT_FOLDERS[f[depth].lower()] for f in folders],
        )
    return [f[depth] if len(f) > depth else None for f in folders], [None] * len(folders)


def read_image_zip(
    data: bytes, name: str = "images.zip", *, size: int = DEFAULT_SIZE, channels: int | None = None
) -> ImageDataset:
    """Read a ZIP of images, one folder per class (images at the top level are unlabelled).

    Nothing is written to disk. Members with absolute paths or '..' are refused; caps on count,
    total size and per-image pixels apply. Unreadable images are skipped with their reason.
    Raises BadUploadError when the archive itself is unusable or holds no readable image.
    """
    _check_size(data, name)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise BadUploadError(
            f"'{name}' is not a ZIP archive.",
            expected="a .zip with one folder of images per class",
            fix="compress the class folders into a ZIP and upload it",
        ) from None
    limit = get_settings().max_upload_bytes * 4
    skipped: list[SkippedFile] = []
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > MAX_ZIP_MEMBERS:
            raise BadUploadError(
                f"'{name}' holds {len(infos):,} files.",
                expected=f"at most {MAX_ZIP_MEMBERS:,} files",
                fix="split the images into several archives",
            )
        if sum(i.file_size for i in infos) > limit:
            raise BadUploadError(
                f"'{name}' expands to {sum(i.file_size for i in infos) / 1e6:.0f} MB.",
                expected=f"at most {limit / 1e6:.0f} MB once unpacked (a ZIP bomb is refused)",
                fix="upload fewer images per archive",
            )
        usable = []
        for info in infos:
            member = info.filename
            base = PurePosixPath(member).name
            if (
                member.startswith("__MACOSX/")
                or base.startswith(".")
                or base in ("Thumbs.db", "desktop.ini")
            ):
                continue
            if not _safe_member(member):
                skipped.append(SkippedFile(member, "unsafe path (absolute or '..'): refused"))
                continue
            usable.append(info)
        usable.sort(key=lambda i: i.filename)
        # Windows archives name members with backslashes: the folders are the same.
        paths = {i.filename: PurePosixPath(i.filename.replace("\\", "/")) for i in usable}
        pictures = [i for i in usable if paths[i.filename].suffix.lower() not in NOT_IMAGES]
        classes_of, splits_of = class_folders([paths[i.filename] for i in pictures])
        class_of = {i.filename: c for i, c in zip(pictures, classes_of, strict=True)}
        split_of = {i.filename: s for i, s in zip(pictures, splits_of, strict=True)}
        images, labels_text, names, dicom, image_splits = [], [], [], {}, []
        target_size = size
        member_cap, unpacked = get_settings().max_upload_bytes, 0
        for info in usable:
            member = info.filename
            if unpacked + info.file_size > limit:
                raise BadUploadError(
                    f"'{name}' unpacks to more than {limit / 1e6:.0f} MB.",
                    expected=f"at most {limit / 1e6:.0f} MB once unpacked (a ZIP bomb is refused)",
                    fix="upload fewer images per archive",
                )
            try:
                raw = _read_member(archive, info, member_cap)
                unpacked += len(raw)
                frames, meta = decode_frames(raw, member, size=target_size, channels=channels)
            except (BadUploadError, UnsupportedFileError) as exc:
                skipped.append(SkippedFile(member, exc.received))
                continue
            except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
                skipped.append(
                    SkippedFile(
                        member, f"could not be read from the archive ({type(exc).__name__})"
                    )
                )
                continue
            channels = channels or frames[0].shape[2]
            for i, frame in enumerate(frames):
                images.append(frame)
                labels_text.append(class_of.get(member))
                names.append(member if len(frames) == 1 else f"{member}#frame{i + 1}")
                image_splits.append(split_of.get(member))
            if meta is not None:
                dicom[member] = meta
    if not images:
        raise BadUploadError(
            f"No readable image in '{name}' ({len(skipped)} file(s) skipped"
            + (f", for example '{skipped[0].name}': {skipped[0].reason}" if skipped else "")
            + ").",
            expected="PNG, JPEG or DICOM images in one folder per class",
            fix="check the archive's contents and upload it again",
        )
    dataset = _assemble(name, images, labels_text, names, skipped, dicom, source=file_source(name))
    found = {s for s in image_splits if s}
    if found:
        split_by_name = dict(zip(names, image_splits, strict=True))
        kept = [split_by_name[n] for n in dataset.file_names]
        if {"train", "validation", "test"} <= found:
            dataset.predefined_split = {
                part: np.flatnonzero(np.array(kept) == part)
                for part in ("train", "validation", "test")
            }
            dataset.notes.append(
                "The archive's train, validation and test folders are kept as the split; the "
                "classes are the folders inside them."
            )
        else:
            dataset.notes.append(
                f"The archive's {', '.join(sorted(found))} folders are merged and split anew "
                "(a train, a validation and a test folder would be kept as they are); the "
                "classes are the folders inside them."
            )
    return dataset


def _assemble(
    name: str,
    images: list[np.ndarray],
    labels_text: list[str | None],
    names: list[str],
    skipped: list[SkippedFile],
    dicom: dict[str, dict[str, Any]],
    *,
    source: str,
) -> ImageDataset:
    stacked = np.stack(images).astype(np.uint8)
    labelled = [t for t in labels_text if t is not None]
    labels = None
    classes: list[str] = []
    if labelled:
        if len(labelled) < len(labels_text):
            keep = [i for i, t in enumerate(labels_text) if t is not None]
            for i, t in enumerate(labels_text):
                if t is None:
                    skipped.append(
                        SkippedFile(
                            names[i], "not inside a class folder: left out of the labelled set"
                        )
                    )
            stacked = stacked[keep]
            names = [names[i] for i in keep]
            labels_text = [labels_text[i] for i in keep]
        classes = sorted(set(labelled))
        index = {c: i for i, c in enumerate(classes)}
        labels = np.array([index[t] for t in labels_text], dtype=np.int64)
    for item in skipped:
        logger.info("skipped an image: %s", item.reason)
    return ImageDataset(
        name=neutral_name("images"),
        images=stacked,
        labels=labels,
        classes=classes,
        file_names=names,
        source=source,
        skipped=skipped,
        dicom=dicom,
        positive_class=guess_positive_image_class(classes, _class_counts(labels, classes)),
    )


def _class_counts(labels: np.ndarray | None, classes: list[str]) -> dict[str, int] | None:
    if labels is None:
        return None
    found = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(classes))
    return {c: int(found[i]) for i, c in enumerate(classes)}


def guess_positive_image_class(
    classes: list[str], counts: dict[str, int] | None = None
) -> str | None:
    """For two classes: the one named like a finding (COVID, pneumonia, malignant, ...), else the
    other of one named like its absence (normal, benign, other), else the rarer; see
    dlcore.data.classes. None unless two classes."""
    from dlcore.data.classes import positive_by_meaning

    return positive_by_meaning(classes, counts)


def read_npz(
    data: bytes, name: str = "images.npz", *, classes: list[str] | None = None
) -> ImageDataset:
    """Read a MedMNIST-style archive: train_/val_/test_ images and labels (or images/labels).

    Labels may be (N,) or (N, 1) integers. The given split is kept as the predefined split. Loaded
    with ``allow_pickle=False``. Raises BadUploadError for missing or inconsistent arrays.
    """
    _check_size(data, name)
    _check_npz_members(data, name)
    try:
        archive = np.load(io.BytesIO(data), allow_pickle=False)
        arrays = {key: archive[key] for key in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise BadUploadError(
            f"'{name}' could not be read as a NumPy .npz archive ({str(exc)[:100]}).",
            expected="a .npz with train_images, train_labels (and val_/test_ parts), without pickled objects",
            fix="save it with numpy.savez of plain arrays",
        ) from None
    parts = [p for p in ("train", "val", "test") if f"{p}_images" in arrays]
    if not parts and "images" in arrays:
        arrays = {"train_images": arrays["images"], "train_labels": arrays.get("labels")}
        parts = ["train"]
    if not parts:
        raise BadUploadError(
            f"'{name}' holds arrays {sorted(arrays)[:8]}.",
            expected="train_images and train_labels (MedMNIST layout), optionally val_ and test_ parts",
            fix="rename the arrays, or upload a ZIP of class folders",
        )
    for part in parts:
        x = arrays[f"{part}_images"]
        if np.issubdtype(x.dtype, np.inexact):
            bad = int(x.size - np.count_nonzero(np.isfinite(x)))
            if bad:  # inf would stretch the scale and turn every image black
                raise BadUploadError(
                    f"'{name}': {part}_images holds {bad:,} value(s) that are not finite "
                    "(inf or NaN).",
                    expected="finite pixel values",
                    fix="replace inf and NaN pixels (for example with numpy.nan_to_num) and "
                    "save the archive again",
                )
    numeric = [
        arrays[f"{p}_images"]
        for p in parts
        if np.issubdtype(arrays[f"{p}_images"].dtype, np.number) and arrays[f"{p}_images"].size
    ]
    value_range = (
        (min(float(np.nanmin(a)) for a in numeric), max(float(np.nanmax(a)) for a in numeric))
        if numeric
        else (0.0, 255.0)
    )
    images, labels, split, start = [], [], {}, 0
    for part in parts:
        x = arrays[f"{part}_images"]
        y = arrays.get(f"{part}_labels")
        if y is None:
            raise BadUploadError(
                f"'{name}' has {part}_images but no {part}_labels.",
                expected=f"{part}_labels with one class per image",
                fix="add the labels array",
            )
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1 or len(y) != len(x):
            raise BadUploadError(
                f"'{name}': {part}_labels has shape {tuple(y.shape)} for {len(x)} images.",
                expected="labels of shape (N,) or (N, 1), one per image (multi-label is not supported)",
                fix="store one class index per image",
            )
        if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[3] not in (1, 3)):
            raise BadUploadError(
                f"'{name}': {part}_images has shape {tuple(x.shape)}.",
                expected="(N, H, W) grayscale or (N, H, W, 1 or 3) images",
                fix="reshape the images array",
            )
        if len(x) == 0:
            raise BadUploadError(
                f"'{name}': {part}_images is empty.",
                expected=f"at least one image in {part}_images",
                fix=f"leave the empty {part} arrays out of the archive",
            )
        if not np.issubdtype(y.dtype, np.integer):
            whole = np.issubdtype(y.dtype, np.number) and np.all(np.mod(y, 1) == 0)
            if not whole:
                raise BadUploadError(
                    f"'{name}': {part}_labels holds {y.dtype} values such as {y.ravel()[0]!r}.",
                    expected="whole-number class indices 0, 1, 2, …",
                    fix="store the class of each image as an integer index",
                )
        if not np.issubdtype(x.dtype, np.number):
            raise BadUploadError(
                f"'{name}': {part}_images holds {x.dtype} values.",
                expected="pixel values as numbers (uint8 0–255, or floats 0–1)",
                fix="store the images as a numeric array",
            )
        if x.dtype != np.uint8:
            low, high = value_range  # over every part: the same scaling for train and test
            if low >= 0 and high <= 1.0:
                x = x * 255
            elif low < 0 or high > 255:  # CT numbers, 16-bit: scale the range, do not clip it
                x = (x - low) / max(high - low, 1e-9) * 255
            x = np.clip(np.nan_to_num(x), 0, 255).astype(np.uint8)
        x = x if x.ndim == 4 else x[:, :, :, None]
        if images and x.shape[1:] != images[0].shape[1:]:
            raise BadUploadError(
                f"'{name}': {part}_images are {tuple(x.shape[1:])}, but {parts[0]}_images are "
                f"{tuple(images[0].shape[1:])}.",
                expected="images of one size and colour in every part",
                fix="resize every part to the same size before saving the archive",
            )
        images.append(x)
        labels.append(y.astype(np.int64))
        key = {"val": "validation"}.get(part, part)
        split[key] = np.arange(start, start + len(x))
        start += len(x)
    stacked = np.concatenate(images)
    y_all = np.concatenate(labels)
    values = np.unique(y_all)
    if values.min() < 0:
        raise BadUploadError(
            f"'{name}' has negative labels.",
            expected="class indices 0, 1, 2, …",
            fix="recode the labels",
        )
    n_classes = int(values.max()) + 1
    if n_classes > min(MAX_CLASSES, max(len(stacked), 2)):
        # Checked before one class name is made: a label of 10^9 must not build 10^9 names.
        raise BadUploadError(
            f"'{name}' has a label {n_classes - 1:,} for {len(stacked):,} images.",
            expected=f"class indices 0 … K-1 with K at most {MAX_CLASSES:,} and at most the "
            "number of images",
            fix="recode the labels as 0, 1, 2, … (one per class)",
        )
    names_of_classes = classes or [str(i) for i in range(n_classes)]
    if len(split) < 3:
        split = None  # without all three parts the app makes its own seeded split
    return ImageDataset(
        name=neutral_name("images"),
        images=stacked,
        labels=y_all,
        classes=names_of_classes,
        file_names=[f"{name}#{i}" for i in range(len(stacked))],
        source=file_source(name),
        predefined_split=split,
        positive_class=guess_positive_image_class(
            names_of_classes, _class_counts(y_all, names_of_classes)
        ),
    )


def _check_npz_members(data: bytes, name: str) -> None:
    """Refuse an .npz before anything is inflated: too many members, members that unpack beyond
    the cap (from the ZIP directory), or .npy headers whose shape × dtype claim more than the cap
    or more than the member holds (a header claiming 10^15 bytes)."""
    limit = _unpacked_limit()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return  # not a ZIP: np.load says so below
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_NPZ_MEMBERS:
            raise BadUploadError(
                f"'{name}' holds {len(infos):,} arrays.",
                expected=f"at most {MAX_NPZ_MEMBERS} arrays (train_/val_/test_ images and labels)",
                fix="save only the image and label arrays",
            )
        total = sum(info.file_size for info in infos)
        if total > limit:
            raise BadUploadError(
                f"'{name}' would unpack to {total / 1e6:,.0f} MB.",
                expected=f"at most {limit / 1e6:,.0f} MB once unpacked (a compression bomb is "
                "refused)",
                fix="upload a smaller archive, or raise DLCORE_MAX_UPLOAD_MB",
            )
        for info in infos:
            if not info.filename.endswith(".npy"):
                continue
            shape, dtype = _npy_header(archive, info, name)
            claimed = dtype.itemsize
            for dim in shape:
                claimed *= int(dim)
            if claimed > limit or claimed > info.file_size:
                raise BadUploadError(
                    f"'{name}': the array {info.filename[:-4]!r} claims shape {tuple(shape)} of "
                    f"{dtype} ({claimed / 1e6:,.0f} MB) in a member of {info.file_size / 1e6:,.1f} MB.",
                    expected=f"arrays that hold what their header says, at most {limit / 1e6:,.0f} MB",
                    fix="save the arrays again with numpy.savez_compressed",
                )


def _npy_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> tuple[Any, Any]:
    fmt = np.lib.format
    try:
        with archive.open(info) as handle:
            version = fmt.read_magic(handle)
            reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, _fortran, dtype = reader(handle)
    except (ValueError, OSError, zipfile.BadZipFile, RuntimeError, EOFError) as exc:
        raise BadUploadError(
            f"'{name}': the array {info.filename[:-4]!r} has no readable NumPy header "
            f"({type(exc).__name__}).",
            expected="arrays saved by numpy.savez",
            fix="save the arrays again with numpy.savez_compressed",
        ) from None
    if dtype.hasobject:
        raise BadUploadError(
            f"'{name}': the array {info.filename[:-4]!r} holds Python objects.",
            expected="plain numeric arrays (object arrays need pickle, which is never loaded)",
            fix="store the images and labels as numeric arrays",
        )
    return shape, dtype


def read_images(
    source: bytes | str | Path,
    name: str | None = None,
    *,
    size: int = DEFAULT_SIZE,
    channels: int | None = None,
) -> ImageDataset:
    """Read image data of any supported kind: a ZIP of class folders, an .npz, one image, or a folder.

    A folder (path) is read like a ZIP: sub-folders are classes, files at its top are unlabelled.
    Raises UnsupportedFileError or BadUploadError with the reason.
    """
    if isinstance(source, (str, Path)) and Path(source).is_dir():
        return _read_folder(Path(source), size=size, channels=channels)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise BadUploadError(
                f"No file at '{path}'.", expected="a readable file or folder", fix="check the path"
            )
        limit = get_settings().max_upload_bytes
        if path.stat().st_size > limit:  # before reading it into memory
            raise BadUploadError(
                f"'{path.name}' is {path.stat().st_size / 1e6:.1f} MB.",
                expected=f"at most {limit / 1e6:.0f} MB",
                fix="use a smaller file, or raise DLCORE_MAX_UPLOAD_MB",
            )
        data, name = path.read_bytes(), name or path.name
    else:
        data, name = bytes(source), name or "upload"
    suffix = Path(name).suffix.lower()
    if suffix == ".zip" or (data[:4] == b"PK\x03\x04" and suffix != ".npz"):
        return read_image_zip(data, name, size=size, channels=channels)
    if suffix == ".npz":
        return read_npz(data, name)
    _check_size(data, name)
    frames, meta = decode_frames(data, name, size=size, channels=channels)
    return ImageDataset(
        name=neutral_name("images"),
        images=np.stack(frames),
        labels=None,
        classes=[],
        file_names=[name]
        if len(frames) == 1
        else [f"{name}#frame{i + 1}" for i in range(len(frames))],
        source=file_source(name),
        dicom={name: meta} if meta else {},
    )


def _read_folder(folder: Path, *, size: int, channels: int | None) -> ImageDataset:
    images, labels_text, names, skipped, dicom = [], [], [], [], {}
    root = folder.resolve()
    # A link that leads outside the folder is not followed (the folder is what was named).
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(".") and p.resolve().is_relative_to(root)
    )
    member_cap, unpacked = get_settings().max_upload_bytes, 0
    if len(files) > MAX_ZIP_MEMBERS:
        raise BadUploadError(
            f"'{folder}' holds {len(files):,} files.",
            expected=f"at most {MAX_ZIP_MEMBERS:,}",
            fix="use a smaller folder",
        )
    for path in files:
        relative = path.relative_to(folder)
        file_size = path.stat().st_size
        if file_size > member_cap:
            skipped.append(SkippedFile(str(relative), "larger than the upload limit: skipped"))
            continue
        unpacked += file_size
        if unpacked > _unpacked_limit():
            raise BadUploadError(
                f"The images in the folder add up to more than {_unpacked_limit() / 1e6:.0f} MB.",
                expected=f"at most {_unpacked_limit() / 1e6:.0f} MB of images",
                fix="use a smaller folder, or raise DLCORE_MAX_UPLOAD_MB",
            )
        try:
            frames, meta = decode_frames(
                path.read_bytes(), str(relative), size=size, channels=channels
            )
        except (BadUploadError, UnsupportedFileError) as exc:
            skipped.append(SkippedFile(str(relative), exc.received))
            continue
        channels = channels or frames[0].shape[2]
        for i, frame in enumerate(frames):
            images.append(frame)
            labels_text.append(relative.parts[0] if len(relative.parts) >= 2 else None)
            names.append(str(relative) if len(frames) == 1 else f"{relative}#frame{i + 1}")
        if meta is not None:
            dicom[str(relative)] = meta
    if not images:
        raise BadUploadError(
            f"No readable image in '{folder}' ({len(skipped)} file(s) skipped).",
            expected="PNG, JPEG or DICOM files, in one sub-folder per class for training",
            fix="check the folder's contents",
        )
    return _assemble(
        folder.name, images, labels_text, names, skipped, dicom, source=file_source(str(folder))
    )


def load_digits_images(size: int = 28) -> ImageDataset:
    """scikit-learn's handwritten digits (1,797 images, 10 classes), brought from 8×8 to size×size.

    The survey's MNIST-style example, on real handwriting that ships with scikit-learn.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    small = (bunch.images / 16.0 * 255).astype(np.uint8)
    images = np.stack([conform(image, size, 1) for image in small])
    return ImageDataset(
        name="Handwritten digits",
        images=images,
        labels=bunch.target.astype(np.int64),
        classes=[str(i) for i in range(10)],
        file_names=[f"digit-{i}" for i in range(len(images))],
        source="demo:digits",
        description=(
            "1,797 handwritten digits 0–9 (UCI optical recognition of handwritten digits, shipped "
            f"with scikit-learn), upsampled from 8×8 to {size}×{size} pixels: the MNIST-style example "
            "of the deep-learning survey."
        ),
    )


def read_image_files(
    files: list[Path | tuple[str, bytes]],
    name: str = "images",
    *,
    size: int | tuple[int, int] = DEFAULT_SIZE,
    channels: int | None = None,
) -> ImageDataset:
    """Read several image files (paths, or (name, bytes) pairs) as one unlabelled image set.

    PNG, JPEG and DICOM files (every frame of a multi-frame one) and ZIP archives (their images,
    labels dropped) are read at ``size``; a file that cannot be read is listed in ``skipped``
    with its reason. Raises BadUploadError when no file holds a readable image.
    """
    images: list[np.ndarray] = []
    names: list[str] = []
    skipped: list[SkippedFile] = []
    dicom: dict[str, dict[str, Any]] = {}
    for item in files:
        file_name, data = (item.name, item.read_bytes()) if isinstance(item, Path) else item
        try:
            _check_size(data, file_name)
            if Path(file_name).suffix.lower() == ".zip" or data[:4] == b"PK\x03\x04":
                part = read_image_zip(data, file_name, size=size, channels=channels)  # type: ignore[arg-type]
                frames = list(part.images)
                frame_names = [f"{file_name}/{n}" for n in part.file_names]
                skipped.extend(SkippedFile(f"{file_name}/{s.name}", s.reason) for s in part.skipped)
                dicom.update({f"{file_name}/{k}": v for k, v in part.dicom.items()})
            else:
                frames, meta = decode_frames(data, file_name, size=size, channels=channels)
                frame_names = (
                    [file_name]
                    if len(frames) == 1
                    else [f"{file_name}#frame{i + 1}" for i in range(len(frames))]
                )
                if meta is not None:
                    dicom[file_name] = meta
        except (BadUploadError, UnsupportedFileError) as exc:
            skipped.append(SkippedFile(file_name, exc.received))
            continue
        if images and frames[0].shape != images[0].shape:
            # The first file fixes the channels when the caller left them open ("as read").
            frames = [conform(frame, None, images[0].shape[2]) for frame in frames]
        channels = channels or frames[0].shape[2]
        images.extend(frames)
        names.extend(frame_names)
    if not images:
        raise BadUploadError(
            f"No readable image among {len(files)} file(s)"
            + (f": for example '{skipped[0].name}': {skipped[0].reason}" if skipped else "")
            + ".",
            expected="PNG, JPEG or DICOM images",
            fix="check the files; export them again if an image viewer cannot open them",
        )
    return ImageDataset(
        name=name,
        images=np.stack(images).astype(np.uint8),
        labels=None,
        classes=[],
        file_names=names,
        source=file_source(",".join(f.name if isinstance(f, Path) else f[0] for f in files)),
        skipped=skipped,
        dicom=dicom,
    )


CHANNEL_NAMES = {1: ["gray"], 3: ["red", "green", "blue"]}


def intensity_histogram(images: np.ndarray, bins: int = 32) -> dict[str, Any]:
    """Pixel intensities (0–255) of an image set: ``{'edges': bins + 1 edges, 'counts': {channel:
    counts}}`` with one count list per channel ('gray', or 'red', 'green', 'blue'), and the
    share of pixels at 0 and at 255 (clipping) in 'clipped_low' and 'clipped_high'."""
    array = np.asarray(images)
    if array.ndim == 3:
        array = array[..., None]
    pixels = array.reshape(-1, array.shape[-1])
    if len(pixels) > 2_000_000:  # a regular subsample gives the same histogram
        pixels = pixels[:: len(pixels) // 1_000_000]
    edges = np.linspace(0, 256, bins + 1)
    names = CHANNEL_NAMES.get(pixels.shape[1], [f"channel {i + 1}" for i in range(pixels.shape[1])])
    counts = {
        name: np.histogram(pixels[:, i], bins=edges)[0].astype(int).tolist()
        for i, name in enumerate(names)
    }
    total = max(pixels.size, 1)
    return {
        "edges": edges.tolist(),
        "counts": counts,
        "clipped_low": float((pixels == 0).sum() / total),
        "clipped_high": float((pixels == 255).sum() / total),
    }


def class_samples(dataset: ImageDataset, per_class: int = 6, seed: int = 0) -> dict[str, list[int]]:
    """Positions of a few images per class (seeded), for a sample grid; unlabelled sets give
    ``{'unlabelled': [...]}`` with up to twice ``per_class`` images in their order."""
    if dataset.labels is None:
        return {"unlabelled": list(range(min(len(dataset.images), 2 * per_class)))}
    rng = np.random.default_rng(seed)
    out = {}
    for k, name in enumerate(dataset.classes):
        positions = np.flatnonzero(dataset.labels == k)
        if len(positions) > per_class:
            positions = np.sort(rng.choice(positions, per_class, replace=False))
        out[name] = positions.tolist()
    return out


@dataclass
class ConfusionCases:
    """Test-split cases by confusion-matrix cell: actual and predicted class per case (indices
    into ``classes``), the probability the model gave its prediction, the matrix, and where each
    case is in its dataset (``index``, when known)."""

    classes: list[str]
    actual: np.ndarray
    predicted: np.ndarray
    probability: np.ndarray
    matrix: np.ndarray
    index: np.ndarray | None = None

    def cell(self, actual: int, predicted: int) -> np.ndarray:
        """Positions (into the test predictions) of the cases in one cell, most confident first."""
        positions = np.flatnonzero((self.actual == actual) & (self.predicted == predicted))
        return positions[np.argsort(-self.probability[positions], kind="stable")]

    def most_common_mistake(self) -> tuple[int, int] | None:
        """The (actual, predicted) off-diagonal cell with the most cases, or None without errors."""
        off = self.matrix.copy()
        np.fill_diagonal(off, 0)
        if off.max() <= 0:
            return None
        actual, predicted = np.unravel_index(int(np.argmax(off)), off.shape)
        return int(actual), int(predicted)


def confusion_cases(
    labels: np.ndarray,
    output: np.ndarray,
    classes: list[str],
    positive_class: str | None = None,
    threshold: float = 0.5,
    index: np.ndarray | None = None,
) -> ConfusionCases:
    """Group test predictions by confusion cell. ``labels`` are class indices into ``classes``;
    ``output`` is the model's (n, 1) probability of ``positive_class`` for two classes (predicted
    positive at ``threshold``) or (n, k) class probabilities (predicted = the most probable);
    ``index`` says where each case is in its dataset."""
    labels = np.asarray(labels).astype(int)
    output = np.asarray(output, dtype=float)
    if output.ndim == 1:
        output = output[:, None]
    if output.shape[1] == 1:
        positive = classes.index(positive_class) if positive_class in classes else 1
        negative = 1 - positive if len(classes) == 2 else 0
        p = output[:, 0]
        predicted = np.where(p >= threshold, positive, negative)
        probability = np.where(predicted == positive, p, 1 - p)
    else:
        predicted = output.argmax(axis=1)
        probability = output.max(axis=1)
    k = len(classes)
    matrix = np.zeros((k, k), dtype=int)
    np.add.at(matrix, (labels, predicted), 1)
    return ConfusionCases(
        list(classes),
        labels,
        predicted,
        probability,
        matrix,
        None if index is None else np.asarray(index),
    )


def _idx_array(data: bytes, name: str) -> np.ndarray:
    """One IDX file (MNIST's format: big-endian magic, dimension sizes, then unsigned bytes)."""
    import gzip

    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except OSError:
            raise BadUploadError(
                f"'{name}' is a damaged gzip file.",
                expected="an intact .gz",
                fix="download it again",
            ) from None
    if len(data) < 8 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise BadUploadError(
            f"'{name}' is not an IDX file of unsigned bytes.",
            expected="MNIST's IDX format (train-images-idx3-ubyte, train-labels-idx1-ubyte, …)",
            fix="upload the MNIST files as published, gzipped or not",
        )
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
    if body.size != int(np.prod(shape)):
        raise BadUploadError(
            f"'{name}' holds {body.size:,} values for a declared shape {shape}.",
            expected="a complete IDX file",
            fix="download it again (it may be truncated)",
        )
    return body.reshape(shape)


def read_mnist_idx(files: dict[str, bytes]) -> ImageDataset:
    """MNIST as published: IDX files for train (and t10k) images and labels, gzipped or not, given
    as {file name: bytes} (or one ZIP holding them). The t10k part becomes the test split; the last
    10% of the training images the validation split. Raises BadUploadError when a pair is missing."""
    if len(files) == 1 and next(iter(files.values()))[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(next(iter(files.values())))) as archive:
            files = {
                PurePosixPath(n).name: archive.read(n)
                for n in archive.namelist()
                if not n.endswith("/")
            }
    parts: dict[str, dict[str, np.ndarray]] = {}
    for name, data in files.items():
        lowered = name.lower()
        part = "test" if ("t10k" in lowered or "test" in lowered) else "train"
        kind = (
            "images"
            if "image" in lowered or "idx3" in lowered
            else "labels"
            if "label" in lowered or "idx1" in lowered
            else None
        )
        if kind is None:
            continue
        parts.setdefault(part, {})[kind] = _idx_array(data, name)
    if "train" not in parts or set(parts["train"]) != {"images", "labels"}:
        raise BadUploadError(
            f"Received {sorted(files)[:6]}.",
            expected="train-images-idx3-ubyte and train-labels-idx1-ubyte (and optionally the t10k pair)",
            fix="upload both the images file and the labels file",
        )
    images, labels, split, start = [], [], {}, 0
    for part in ("train", "test"):
        if part not in parts:
            continue
        x, y = parts[part].get("images"), parts[part].get("labels")
        if x is None or y is None or len(x) != len(y):
            raise BadUploadError(
                f"The {part} images and labels do not pair up.",
                expected="as many labels as images",
                fix="upload the matching images and labels files",
            )
        images.append(x[:, :, :, None])
        labels.append(y.astype(np.int64))
        split[part] = np.arange(start, start + len(x))
        start += len(x)
    stacked, y_all = np.concatenate(images), np.concatenate(labels)
    predefined = None
    if "test" in split:
        train = split["train"]
        cut = int(len(train) * 0.9)
        predefined = {"train": train[:cut], "validation": train[cut:], "test": split["test"]}
    classes = [str(i) for i in range(int(y_all.max()) + 1)]
    return ImageDataset(
        name="MNIST",
        images=stacked,
        labels=y_all,
        classes=classes,
        file_names=[f"mnist#{i}" for i in range(len(stacked))],
        source="upload:mnist-idx",
        predefined_split=predefined,
    )
