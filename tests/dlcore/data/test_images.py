"""Reading images: PNG/JPEG, ZIP of class folders (safely), MedMNIST .npz, DICOM, bad files."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from dlcore.data.catalog import load_dataset, save_dataset
from dlcore.data.images import (
    ImageDataset,
    decode_image,
    load_digits_images,
    read_image_zip,
    read_images,
    read_npz,
)
from dlcore.errors import BadUploadError, UnsupportedFileError


def png_bytes(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


def gradient(h: int = 40, w: int = 30) -> np.ndarray:
    return (np.add.outer(np.arange(h), np.arange(w)) * 255 // (h + w)).astype(np.uint8)


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_png_and_jpeg_are_resized_and_converted():
    image, info = decode_image(png_bytes(gradient()), "x.png", size=16, channels=1)
    assert image.shape == (16, 16, 1) and image.dtype == np.uint8 and info is None
    # a horizontal-and-vertical gradient stays ordered after resizing
    assert image[0, 0, 0] < image[-1, -1, 0]
    rgb = np.stack([gradient(), np.zeros((40, 30), np.uint8), 255 - gradient()], axis=-1)
    colour, _ = decode_image(png_bytes(rgb, "JPEG"), "x.jpg", size=(20, 10), channels=3)
    assert colour.shape == (20, 10, 3)
    gray, _ = decode_image(png_bytes(rgb), "x.png", channels=1)
    assert gray.shape == (40, 30, 1)


def test_zip_of_class_folders_with_bad_members():
    members = {f"study/benign/b{i}.png": png_bytes(gradient()) for i in range(3)}
    members |= {f"study/malignant/m{i}.png": png_bytes(255 - gradient()) for i in range(2)}
    members["study/malignant/broken.png"] = b"\x89PNG\r\n\x1a\nnot really"
    members["study/benign/notes.txt"] = b"hello"
    members["__MACOSX/study/._b0.png"] = b"junk"
    members["../escape.png"] = png_bytes(gradient())
    dataset = read_image_zip(make_zip(members), "study.zip", size=24)
    assert dataset.classes == ["benign", "malignant"]
    assert dataset.class_counts() == {"benign": 3, "malignant": 2}
    assert dataset.images.shape == (5, 24, 24, 1)
    assert dataset.positive_class == "malignant"
    reasons = {s.name: s.reason for s in dataset.skipped}
    assert "could not be decoded" in reasons["study/malignant/broken.png"]
    assert "not an image" in reasons["study/benign/notes.txt"]
    assert "unsafe path" in reasons["../escape.png"]
    assert not any("MACOSX" in s for s in reasons)


def test_zip_refusals_name_the_problem():
    with pytest.raises(BadUploadError, match="not a ZIP"):
        read_image_zip(b"plain bytes", "x.zip")
    with pytest.raises(BadUploadError, match="No readable image") as info:
        read_image_zip(make_zip({"a/broken.png": b"nope"}), "bad.zip")
    assert "broken.png" in str(info.value)


def test_decompression_bomb_is_refused(monkeypatch):
    import dlcore.data.images as images

    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(BadUploadError, match="pixels"):
        decode_image(png_bytes(gradient(40, 30)), "big.png")


def test_other_files_are_refused_with_the_formats():
    with pytest.raises(UnsupportedFileError) as info:
        decode_image(b"%PDF-1.4 ...", "scan.pdf")
    assert "PNG, JPEG or DICOM" in str(info.value)


def _npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_medmnist_npz_keeps_its_split_and_flattens_labels():
    rng = np.random.default_rng(0)
    data = _npz(
        train_images=rng.integers(0, 255, (10, 28, 28), dtype=np.uint8),
        train_labels=rng.integers(0, 2, (10, 1)),
        val_images=rng.integers(0, 255, (4, 28, 28), dtype=np.uint8),
        val_labels=rng.integers(0, 2, (4,)),
        test_images=rng.integers(0, 255, (6, 28, 28), dtype=np.uint8),
        test_labels=np.array([0, 1, 0, 1, 1, 0]).reshape(6, 1),
    )
    dataset = read_npz(data, "tiny.npz")
    assert dataset.images.shape == (20, 28, 28, 1)
    assert dataset.labels.shape == (20,)
    assert [len(dataset.predefined_split[k]) for k in ("train", "validation", "test")] == [10, 4, 6]
    np.testing.assert_array_equal(
        dataset.labels[dataset.predefined_split["test"]], [0, 1, 0, 1, 1, 0]
    )


def test_npz_refusals():
    with pytest.raises(BadUploadError, match="train_images"):
        read_npz(_npz(x=np.zeros(3)), "odd.npz")
    with pytest.raises(BadUploadError, match="one per image"):
        read_npz(
            _npz(train_images=np.zeros((3, 8, 8), np.uint8), train_labels=np.zeros((3, 2))),
            "multi.npz",
        )
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(BadUploadError):
        read_npz(
            make_zip(
                {"train_images.npy": buffer.getvalue(), "train_labels.npy": buffer.getvalue()}
            ),
            "pickled.npz",
        )


def test_dicom_files_become_images_per_frame(tmp_path):
    from dlcore.data.dicom import demo_dicom_files

    files = demo_dicom_files()
    for path in files:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    dataset = read_images(tmp_path, size=32)
    assert dataset.labels is None
    multi = [n for n in dataset.file_names if "#frame" in n]
    assert multi, "a multi-frame file gives one image per frame"
    assert set(dataset.dicom) == {p.name for p in files}
    for info in dataset.dicom.values():
        assert "Removed" in info["summary"] and "PatientName" not in str(info["kept"])


def test_digits_demo_and_catalog_round_trip(workspace):
    digits = load_digits_images()
    assert digits.images.shape == (1797, 28, 28, 1)
    assert digits.task == "multiclass" and len(digits.classes) == 10
    dataset_id = save_dataset(digits)
    again = load_dataset(dataset_id)
    assert isinstance(again, ImageDataset)
    np.testing.assert_array_equal(again.images, digits.images)
    np.testing.assert_array_equal(again.labels, digits.labels)
    assert again.fingerprint() == digits.fingerprint()


def test_class_folders_are_found_below_wrappers_and_split_folders():
    def png(i: int) -> bytes:
        return png_bytes(np.full((8, 8), i * 20, np.uint8))

    kaggle = read_image_zip(
        make_zip(
            {
                f"chest_xray/{part}/{cls}/{i}.png": png(i)
                for part in ("train", "val", "test")
                for cls in ("NORMAL", "PNEUMONIA")
                for i in range(2)
            }
        ),
        "chest_xray.zip",
    )
    assert kaggle.classes == ["NORMAL", "PNEUMONIA"]  # not train/val/test
    split = kaggle.predefined_split
    assert {k: len(v) for k, v in split.items()} == {"train": 4, "validation": 4, "test": 4}
    assert all("/test/" in kaggle.file_names[i] for i in split["test"])
    assert kaggle.notes and "kept as the split" in kaggle.notes[0]

    wrapped = read_image_zip(
        make_zip(
            {
                **{f"a/b/{c}/{i}.png": png(i) for c in ("x", "y") for i in range(2)},
                "a/README.txt": b"hi",
            }
        )
    )
    assert wrapped.classes == ["x", "y"] and np.bincount(wrapped.labels).tolist() == [2, 2]
    windows = read_image_zip(
        make_zip({f"{c}\\{i}.png": png(i) for c in ("x", "y") for i in range(2)})
    )
    assert windows.classes == ["x", "y"]
    single = read_image_zip(make_zip({f"normal/{i}.png": png(i) for i in range(3)}))
    assert single.classes == ["normal"]


def test_exif_orientation_and_transparency_are_respected():
    photo = Image.new("L", (40, 20), 0)
    exif = photo.getexif()
    exif[0x0112] = 6  # stored sideways: rotate 90° to show it
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", exif=exif.tobytes())
    assert decode_image(buffer.getvalue(), "photo.jpg", size=None)[0].shape[:2] == (40, 20)

    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255  # red everywhere, but transparent except one pixel
    rgba[0, 0, 3] = 255
    image, _ = decode_image(png_bytes(rgba), "overlay.png", size=None)
    assert image[0, 0].tolist() == [255, 0, 0] and image[1, 1].tolist() == [255, 255, 255]


def test_npz_parts_must_agree_and_wide_values_are_scaled_not_clipped():
    x8 = np.zeros((4, 8, 8), np.uint8)
    y = np.array([0, 1, 0, 1])
    with pytest.raises(BadUploadError, match=r"test_images are \(10, 10, 1\), but train_images"):
        read_npz(
            _npz(
                train_images=x8,
                train_labels=y,
                test_images=np.zeros((4, 10, 10), np.uint8),
                test_labels=y,
            ),
            "sizes.npz",
        )
    with pytest.raises(BadUploadError, match="whole-number class indices"):
        read_npz(_npz(train_images=x8, train_labels=y + 0.5), "float-labels.npz")
    with pytest.raises(BadUploadError, match="val_images is empty"):
        read_npz(
            _npz(train_images=x8, train_labels=y, val_images=x8[:0], val_labels=y[:0]), "empty.npz"
        )
    ct = np.stack([np.full((8, 8), v, np.int16) for v in (-1000, 0, 400, 1000)])
    read = read_npz(_npz(train_images=ct, train_labels=y.astype(float)), "ct.npz")
    assert read.images[:, 0, 0, 0].tolist() == [0, 127, 178, 255]  # air, water, bone kept apart
