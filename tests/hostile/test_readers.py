"""Generated hostile inputs for every reader: each is refused with received/expected/fix (exit 2 in
the CLI) or read correctly. Limits are small (see conftest), so bombs are built in milliseconds."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hostiletools import assert_refusal

from dlcore.errors import UserError

MB = 1024 * 1024


@dataclass
class Case:
    """One hostile input: its bytes and name, and either the words its refusal must contain or a
    check of the correct result."""

    id: str
    make: Callable[[], bytes]
    name: str
    refused: tuple[str, ...] | None = None  # words in the message; None = must be read
    check: Callable[[Any], None] | None = None


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _zero_zip(name: str, size: int) -> bytes:
    """A ZIP with one member of ``size`` zero bytes, written in chunks (a bomb)."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open(name, "w", force_zip64=True) as handle,
    ):
        chunk = bytes(MB)
        for _ in range(size // MB):
            handle.write(chunk)
    return buffer.getvalue()


def _lying_zip(name: str, real: bytes, claimed: int) -> bytes:
    """A ZIP whose directory claims ``claimed`` bytes for a member that inflates to more."""
    data = bytearray(_zip({name: real}))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        data[at + offset : at + offset + 4] = struct.pack("<I", claimed)
    return bytes(data)


def _png(width: int = 16, height: int = 16, mode: str = "L", value: int = 128) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(
        mode, (width, height), value if mode in ("L", "I;16", "I") else (value,) * len(mode)
    ).save(buffer, format="PNG")
    return buffer.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height (a pixel bomb) with one tiny compressed row."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * (width + 1)))
        + chunk(b"IEND", b"")
    )


def _npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue()


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _xlsx(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False, engine="openpyxl")
    return buffer.getvalue()


def _small_table(rows: int = 20, columns: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(rows * 1000 + columns)
    return pd.DataFrame({f"c{i}": rng.normal(size=rows).round(3) for i in range(columns)}).assign(
        outcome=rng.integers(0, 2, rows)
    )


def _shape(rows: int, columns: int) -> Callable[[Any], None]:
    def check(table: Any) -> None:
        assert table.frame.shape == (rows, columns), table.frame.shape

    return check


def _values(column: str, expected: list[Any]) -> Callable[[Any], None]:
    def check(table: Any) -> None:
        assert table.frame[column].tolist() == expected, table.frame[column].tolist()

    return check


# -- tables -----------------------------------------------------------------------------------

TABLES = [
    Case("empty", lambda: b"", "a.csv", ("empty",)),
    Case("only-header", lambda: b"a,b,c\n", "a.csv", ("0 records",)),
    Case("blank-lines", lambda: b"\n\n\n", "a.csv", ("no text",)),
    Case("nul-bytes", lambda: b"a,b\x00\x00\x00,c\n1,2,3\n", "a.csv", ("binary",)),
    Case("random-binary", lambda: bytes(range(256)) * 40, "a.csv", ("binary",)),
    Case("xls", lambda: b"\xd0\xcf\x11\xe0" + bytes(100), "a.xls", (".xls",)),
    Case("exe", lambda: b"MZ" + bytes(100), "a.exe", (".exe",)),
    Case("fake-parquet", lambda: b"a,b\n1,2\n", "a.parquet", ("parquet",)),
    Case("broken-parquet", lambda: b"PAR1" + bytes(100) + b"PAR1", "a.parquet", ("parquet",)),
    Case("fake-xlsx", lambda: b"a,b\n1,2\n", "a.xlsx", ("xlsx",)),
    Case("zip-not-xlsx", lambda: _zip({"x.txt": b"hello"}), "a.xlsx", ("not an excel",)),
    Case(
        "xlsx-bomb",
        lambda: _zip({"xl/workbook.xml": b"<x/>", "xl/big.xml": bytes(170 * MB)}),
        "a.xlsx",
        ("compression bomb",),
    ),
    Case("ragged", lambda: b"a,b,c\n1,2,3\n4,5,6,7,8\n", "a.csv", ("same number",)),
    Case(
        "too-many-columns",
        lambda: _csv(_small_table(5, 60)),
        "a.csv",
        ("61 columns", "DLCORE_MAX_COLUMNS"),
    ),
    Case(
        "10000-columns",
        lambda: ",".join(f"c{i}" for i in range(10_000)).encode() + b"\n" + b"1," * 9999 + b"1\n",
        "a.csv",
        ("10,000 columns",),
    ),
    Case("columns-at-cap", lambda: _csv(_small_table(5, 49)), "a.csv", None, _shape(5, 50)),
    Case(
        "too-many-rows",
        lambda: _csv(_small_table(501, 2)),
        "a.csv",
        ("more than 500 rows", "DLCORE_MAX_ROWS"),
    ),
    Case("rows-at-cap", lambda: _csv(_small_table(500, 2)), "a.csv", None, _shape(500, 3)),
    Case(
        "too-many-rows-tsv",
        lambda: _small_table(900, 2).to_csv(index=False, sep="\t").encode(),
        "a.tsv",
        ("more than 500 rows",),
    ),
    Case(
        "parquet-too-many-rows",
        lambda: _parquet(_small_table(600, 2)),
        "a.parquet",
        ("more than 500 rows",),
    ),
    Case(
        "parquet-too-many-columns",
        lambda: _parquet(_small_table(3, 70)),
        "a.parquet",
        ("71 columns",),
    ),
    Case("parquet-ok", lambda: _parquet(_small_table(30, 4)), "a.parquet", None, _shape(30, 5)),
    Case(
        "parquet-nested",
        lambda: _parquet(pd.DataFrame({"a": [[1, 2], [3]], "b": [1, 2]})),
        "a.parquet",
        ("lists or records",),
    ),
    Case(
        "xlsx-too-many-rows", lambda: _xlsx(_small_table(520, 2)), "a.xlsx", ("more than 500 rows",)
    ),
    Case("xlsx-ok", lambda: _xlsx(_small_table(12, 2)), "a.xlsx", None, _shape(12, 3)),
    Case(
        "formula-cells-kept-as-text",
        lambda: b'a,b\n"=HYPERLINK(""x"")",1\n+cmd|x,2\n@SUM(1),3\n',
        "a.csv",
        None,
        _values("a", ['=HYPERLINK("x")', "+cmd|x", "@SUM(1)"]),
    ),
    Case(
        "negative-numbers",
        lambda: b"a,b\n-2,1\n-3.5,2\n",
        "a.csv",
        None,
        _values("a", [-2.0, -3.5]),
    ),
    Case("utf16", lambda: "a,b\n1,é\n".encode("utf-16"), "a.csv", None, _shape(1, 2)),
    Case("latin1", lambda: "a,b\n1,é\n".encode("latin-1"), "a.csv", None, _shape(1, 2)),
    Case("bom", lambda: "\ufeffa,b\n1,2\n".encode(), "a.csv", None, _values("a", [1])),
    Case("mac-line-endings", lambda: b"a,b\r1,2\r3,4\r", "a.csv", None, _shape(2, 2)),
    Case(
        "semicolon-decimal-comma",
        lambda: b"a;b\n1,5;2\n2,5;3\n",
        "a.csv",
        None,
        _values("a", [1.5, 2.5]),
    ),
    Case("duplicate-headers", lambda: b"a,a,a\n1,2,3\n", "a.csv", None, _shape(1, 3)),
    Case("no-header", lambda: b"1,2\n3,4\n", "a.csv", None, _shape(2, 2)),
    Case("quoted-newlines", lambda: b'a,b\n"x\ny",1\n', "a.csv", None, _shape(1, 2)),
    Case("one-megabyte-cell", lambda: b"a,b\n" + b"x" * MB + b",1\n", "a.csv", ("128 kB",)),
    Case(
        "100-kilobyte-cell",
        lambda: b"a,b\n" + b"x" * 100_000 + b",1\n",
        "a.csv",
        None,
        _shape(1, 2),
    ),
    Case("inf-and-nan-text", lambda: b"a,b\ninf,1\nnan,2\n-inf,3\n", "a.csv", None, _shape(3, 2)),
    Case("only-delimiters", lambda: b",,,\n,,,\n", "a.csv", ("0 records",)),
    Case("too-large-file", lambda: b"a\n" + b"1\n" * (1_100_000), "a.csv", ("MB",)),
    Case("unknown-suffix", lambda: b"a,b\n1,2\n", "a.docx", ("table",)),
    Case("no-suffix-csv", lambda: b"a,b\n1,2\n", "upload", None, _shape(1, 2)),
    Case("no-suffix-zip", lambda: _zip({"x": b"1"}), "upload", ("excel",)),
    Case("header-only-spaces", lambda: b"  ,  \n1,2\n", "a.csv", None, _shape(1, 2)),
    Case("pipe-separated", lambda: b"a|b\n1|2\n3|4\n", "a.csv", None, _shape(2, 2)),
]


@pytest.mark.parametrize("case", TABLES, ids=[c.id for c in TABLES])
def test_table(case: Case, small_limits) -> None:
    from dlcore.data.tables import read_table

    data = case.make()
    if case.refused is None:
        case.check(read_table(data, case.name))
        return
    with pytest.raises(UserError) as caught:
        read_table(data, case.name)
    assert_refusal(caught.value, *case.refused)


# -- images, ZIP archives and folders -----------------------------------------------------------

IMAGES = [
    Case(
        "png-ok",
        lambda: _png(),
        "a.png",
        None,
        lambda d: d.images.shape == (1, 32, 32, 1) or pytest.fail(str(d.images.shape)),
    ),
    Case(
        "png-rgba",
        lambda: _png(mode="RGBA"),
        "a.png",
        None,
        lambda d: d.images.shape[-1] in (1, 3) or pytest.fail(),
    ),
    Case(
        "png-16-bit",
        lambda: _png(mode="I;16", value=40000),
        "a.png",
        None,
        lambda d: d.images.dtype == np.uint8 or pytest.fail(),
    ),
    Case("png-truncated", lambda: _png()[:40], "a.png", ("could not be decoded",)),
    Case("png-pixel-bomb", lambda: _png_claiming(60_000, 60_000), "a.png", ("pixels",)),
    Case("png-zero-bytes", lambda: b"", "a.png", ("could not be decoded",)),
    Case("text-named-png", lambda: b"hello world", "a.png", ("could not be decoded",)),
    Case("jpeg-junk", lambda: b"\xff\xd8\xff" + bytes(50), "a.jpg", ("could not be decoded",)),
    Case("gif-named-png", lambda: b"GIF89a" + bytes(30), "a.png", ("could not be decoded",)),
    Case("not-an-image", lambda: b"%PDF-1.4", "a.pdf", ("not an image",)),
    Case("too-large-image-file", lambda: _png() + bytes(3 * MB), "a.png", ("MB",)),
    Case(
        "zip-ok-two-classes",
        lambda: _zip(
            {f"{c}/{i}.png": _png(value=40 + 100 * (c == "b")) for c in "ab" for i in range(3)}
        ),
        "a.zip",
        None,
        lambda d: (d.classes == ["a", "b"] and len(d.images) == 6) or pytest.fail(str(d.classes)),
    ),
    Case(
        "zip-traversal-skipped",
        lambda: _zip({"../evil.png": _png(), "a/x.png": _png(), "b/y.png": _png()}),
        "a.zip",
        None,
        lambda d: (
            (len(d.images) == 2 and any("unsafe" in s.reason for s in d.skipped)) or pytest.fail()
        ),
    ),
    Case(
        "zip-absolute-skipped",
        lambda: _zip({"/etc/x.png": _png(), "a/x.png": _png(), "b/y.png": _png()}),
        "a.zip",
        None,
        lambda d: len(d.images) == 2 or pytest.fail(),
    ),
    Case(
        "zip-zero-bomb-member", lambda: _zero_zip("a/bomb.png", 3 * MB), "a.zip", ("would unpack",)
    ),
    Case(
        "zip-bomb-total",
        lambda: _zip({f"a/{i}.png": bytes(MB + 1) for i in range(9)}),
        "a.zip",
        ("unpack",),
    ),
    Case(
        "zip-lying-directory",
        lambda: _lying_zip("a/x.png", bytes(3 * MB), 100),
        "a.zip",
        ("could not be read from the archive",),
    ),
    Case("zip-not-a-zip", lambda: b"PK\x03\x04garbage", "a.zip", ("not a zip",)),
    Case("zip-empty", lambda: _zip({}), "a.zip", ("no readable image",)),
    Case("zip-only-text", lambda: _zip({"a/readme.txt": b"hi"}), "a.zip", ("no readable image",)),
    Case(
        "zip-macosx-ignored",
        lambda: _zip({"__MACOSX/a/._x.png": b"junk", "a/x.png": _png(), "b/y.png": _png()}),
        "a.zip",
        None,
        lambda d: len(d.images) == 2 or pytest.fail(),
    ),
    Case(
        "zip-backslash-names",
        lambda: _zip({"a\\x.png": _png(), "b\\y.png": _png()}),
        "a.zip",
        None,
        lambda d: d.classes == ["a", "b"] or pytest.fail(str(d.classes)),
    ),
    Case(
        "zip-corrupt-member-skipped",
        lambda: _zip({"a/x.png": _png(), "a/bad.png": b"\x89PNG\r\n\x1a\nxx", "b/y.png": _png()}),
        "a.zip",
        None,
        lambda d: (len(d.images) == 2 and len(d.skipped) == 1) or pytest.fail(),
    ),
    Case(
        "zip-nested-zip",
        lambda: _zip({"a/inner.zip": _zip({"x.png": _png()}), "b/y.png": _png()}),
        "a.zip",
        None,
        lambda d: len(d.images) == 1 or pytest.fail(),
    ),
    Case(
        "zip-pixel-bomb-member",
        lambda: _zip({"a/x.png": _png_claiming(60_000, 60_000), "b/y.png": _png()}),
        "a.zip",
        None,
        lambda d: (len(d.images) == 1 and "pixels" in d.skipped[0].reason) or pytest.fail(),
    ),
    Case(
        "zip-stored-huge",
        lambda: _zip({"a/x.png": bytes(3 * MB)}, zipfile.ZIP_STORED),
        "a.zip",
        ("MB",),
    ),
]


@pytest.mark.parametrize("case", IMAGES, ids=[c.id for c in IMAGES])
def test_image(case: Case, small_limits) -> None:
    from dlcore.data.images import read_images

    data = case.make()
    if case.refused is None:
        case.check(read_images(data, case.name, size=32))
        return
    with pytest.raises(UserError) as caught:
        read_images(data, case.name, size=32)
    assert_refusal(caught.value, *case.refused)


def test_folder_does_not_follow_links_outside_itself(tmp_path, small_limits) -> None:
    from dlcore.data.images import read_images

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(_png(value=250))
    folder = tmp_path / "data"
    for c in "ab":
        (folder / c).mkdir(parents=True)
        (folder / c / "x.png").write_bytes(_png(value=10))
    (folder / "a" / "link.png").symlink_to(outside / "secret.png")
    (folder / "b" / "dir").symlink_to(outside, target_is_directory=True)
    dataset = read_images(folder, size=16)
    assert len(dataset.images) == 2 and int(dataset.images.max()) == 10


# -- .npz ------------------------------------------------------------------------------------


def _npz_members(**members: bytes) -> bytes:
    return _zip({f"{k}.npy": v for k, v in members.items()})


_IMG = np.zeros((6, 8, 8), np.uint8)
_LAB = np.array([0, 1, 0, 1, 0, 1])

NPZ = [
    Case(
        "ok",
        lambda: _npz(train_images=_IMG, train_labels=_LAB),
        "a.npz",
        None,
        lambda d: (d.classes == ["0", "1"] and d.images.shape == (6, 8, 8, 1)) or pytest.fail(),
    ),
    Case(
        "label-1e9",
        lambda: _npz(train_images=_IMG, train_labels=np.array([0, 1, 0, 1, 0, 10**9])),
        "a.npz",
        ("1,000,000,000",),
    ),
    Case(
        "label-beyond-images",
        lambda: _npz(train_images=_IMG, train_labels=np.array([0, 1, 0, 1, 0, 7])),
        "a.npz",
        ("label 7",),
    ),
    Case(
        "negative-label",
        lambda: _npz(train_images=_IMG, train_labels=-_LAB - 1),
        "a.npz",
        ("negative",),
    ),
    Case(
        "fractional-label",
        lambda: _npz(train_images=_IMG, train_labels=_LAB + 0.5),
        "a.npz",
        ("whole-number",),
    ),
    Case(
        "bomb",
        lambda: _npz(
            train_images=np.zeros((140, 256, 256), np.uint8), train_labels=np.zeros(140, np.int64)
        ),
        "a.npz",
        ("unpack",),
    ),
    Case(
        "header-claims-1e15-bytes",
        lambda: _npz_members(
            train_images=_npy_header((10**14,)) + bytes(64),
            train_labels=_npy_header((6,), "<i8") + bytes(48),
        ),
        "a.npz",
        ("claims shape",),
    ),
    Case(
        "header-claims-more-than-member",
        lambda: _npz_members(
            train_images=_npy_header((6, 100, 100), "|u1") + bytes(10),
            train_labels=_npy_header((6,), "<i8") + bytes(48),
        ),
        "a.npz",
        ("claims shape",),
    ),
    Case(
        "header-garbage",
        lambda: _npz_members(train_images=b"\x93NUMPY\x01\x00garbage", train_labels=b"x"),
        "a.npz",
        ("header",),
    ),
    Case(
        "object-array",
        lambda: _npz_members(
            train_images=_npy_header((2,), "|O") + bytes(16),
            train_labels=_npy_header((2,), "<i8") + bytes(16),
        ),
        "a.npz",
        ("objects",),
    ),
    Case(
        "too-many-members",
        lambda: _npz(**{f"a{i}": np.zeros(1) for i in range(70)}),
        "a.npz",
        ("arrays",),
    ),
    Case("missing-labels", lambda: _npz(train_images=_IMG), "a.npz", ("no train_labels",)),
    Case("wrong-names", lambda: _npz(x=_IMG, y=_LAB), "a.npz", ("train_images",)),
    Case(
        "length-mismatch",
        lambda: _npz(train_images=_IMG, train_labels=_LAB[:4]),
        "a.npz",
        ("shape",),
    ),
    Case(
        "five-dimensional",
        lambda: _npz(train_images=np.zeros((6, 2, 8, 8, 1), np.uint8), train_labels=_LAB),
        "a.npz",
        ("shape",),
    ),
    Case(
        "float-with-inf",
        lambda: _npz(
            train_images=np.where(np.eye(8) > 0, np.inf, 0.5)[None].repeat(6, 0).astype(np.float32),
            train_labels=_LAB,
        ),
        "a.npz",
        ("not finite",),
    ),
    Case(
        "float-with-nan",
        lambda: _npz(train_images=np.full((6, 8, 8), np.nan, np.float32), train_labels=_LAB),
        "a.npz",
        ("not finite",),
    ),
    Case(
        "float-0-1-ok",
        lambda: _npz(
            train_images=np.linspace(0, 1, 6 * 64, dtype=np.float32).reshape(6, 8, 8),
            train_labels=_LAB,
        ),
        "a.npz",
        None,
        lambda d: int(d.images.max()) == 255 or pytest.fail(str(d.images.max())),
    ),
    Case(
        "ct-range-ok",
        lambda: _npz(
            train_images=np.linspace(-1000, 3000, 6 * 64).reshape(6, 8, 8), train_labels=_LAB
        ),
        "a.npz",
        None,
        lambda d: (int(d.images.min()), int(d.images.max())) == (0, 255) or pytest.fail(),
    ),
    Case(
        "empty-part",
        lambda: _npz(
            train_images=_IMG,
            train_labels=_LAB,
            val_images=np.zeros((0, 8, 8), np.uint8),
            val_labels=np.zeros(0, np.int64),
        ),
        "a.npz",
        ("empty",),
    ),
    Case(
        "parts-disagree",
        lambda: _npz(
            train_images=_IMG,
            train_labels=_LAB,
            test_images=np.zeros((2, 9, 9), np.uint8),
            test_labels=np.array([0, 1]),
        ),
        "a.npz",
        ("one size",),
    ),
    Case("not-a-zip", lambda: b"\x93NUMPY not really", "a.npz", ("npz",)),
    Case(
        "text-images",
        lambda: _npz(train_images=np.array(["a"] * 6).reshape(6, 1, 1), train_labels=_LAB),
        "a.npz",
        ("numbers",),
    ),
    Case(
        "labels-2d-multilabel",
        lambda: _npz(train_images=_IMG, train_labels=np.zeros((6, 3), np.int64)),
        "a.npz",
        ("multi-label",),
    ),
]


@pytest.mark.parametrize("case", NPZ, ids=[c.id for c in NPZ])
def test_npz(case: Case, small_limits) -> None:
    from dlcore.data.images import read_npz

    data = case.make()
    if case.refused is None:
        case.check(read_npz(data, case.name))
        return
    with pytest.raises(UserError) as caught:
        read_npz(data, case.name)
    assert_refusal(caught.value, *case.refused)


# -- DICOM --------------------------------------------------------------------------------------


def _dicom(mutate: Callable[[Any], None] | None = None) -> bytes:
    import pydicom
    from pydicom.data import get_testdata_file

    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    if mutate is not None:
        mutate(ds)
    buffer = io.BytesIO()
    ds.save_as(buffer)
    return buffer.getvalue()


def _claim(rows: int, columns: int, frames: int = 1) -> Callable[[Any], None]:
    def mutate(ds: Any) -> None:
        ds.Rows, ds.Columns = rows, columns
        ds.NumberOfFrames = frames

    return mutate


DICOM = [
    Case(
        "ct-ok", lambda: _dicom(), "a.dcm", None, lambda d: d.images.shape[0] == 1 or pytest.fail()
    ),
    Case("truncated", lambda: _dicom()[:2000], "a.dcm", ("pixel data",)),
    Case("preamble-only", lambda: bytes(128) + b"DICM", "a.dcm", ("no image",)),
    Case("dicm-then-garbage", lambda: bytes(128) + b"DICM" + bytes(range(256)) * 4, "a.dcm", ()),
    Case("claims-huge-frame", lambda: _dicom(_claim(60_000, 60_000)), "a.dcm", ("truncated",)),
    Case("claims-many-frames", lambda: _dicom(_claim(128, 128, 100_000)), "a.dcm", ("truncated",)),
    Case("no-pixel-data", lambda: _dicom(lambda ds: delattr(ds, "PixelData")), "a.dcm", ()),
    Case("not-dicom-named-dcm", lambda: b"hello", "a.dcm", ("not a dicom",)),
    Case("text-named-dcm", lambda: b"a,b\n1,2\n" * 100, "a.dcm", ()),
    Case(
        "zip-of-dicom",
        lambda: _zip({"a/x.dcm": _dicom(), "b/y.dcm": _dicom()}),
        "a.zip",
        None,
        lambda d: d.classes == ["a", "b"] or pytest.fail(),
    ),
]


@pytest.mark.parametrize("case", DICOM, ids=[c.id for c in DICOM])
def test_dicom(case: Case, small_limits) -> None:
    from dlcore.data.images import read_images

    data = case.make()
    if case.refused is None:
        case.check(read_images(data, case.name, size=32))
        return
    with pytest.raises(UserError) as caught:
        read_images(data, case.name, size=32)
    assert_refusal(caught.value, *case.refused)


# -- .keras uploads -------------------------------------------------------------------------------

_CONFIG = b'{"class_name": "Sequential", "module": "keras", "config": {"layers": []}}'


def _keras(**members: bytes) -> bytes:
    return _zip({"metadata.json": b"{}", "model.weights.h5": b"\x89HDF\r\n", **members})


KERAS = [
    *(
        Case(
            f"suffix-{suffix}",
            lambda: _keras(**{"config.json": _CONFIG}),
            f"model{suffix}",
            ("keras",),
        )
        for suffix in (
            ".h5",
            ".hdf5",
            ".pkl",
            ".pickle",
            ".joblib",
            ".pb",
            ".pt",
            ".onnx",
            ".zip",
            "",
        )
    ),
    Case("not-a-zip", lambda: b"\x89HDF\r\n\x1a\n" + bytes(100), "m.keras", ("not a zip",)),
    Case(
        "config-bomb",
        lambda: _zip({"config.json": b" " * (40 * MB), "model.weights.h5": b"x"}),
        "m.keras",
        ("MB",),
    ),
    Case(
        "config-lies-about-its-size",
        lambda: _lying_zip("config.json", b" " * (40 * MB), 10),
        "m.keras",
        (),
    ),
    Case(
        "traversal",
        lambda: _keras(**{"config.json": _CONFIG, "../x": b"1"}),
        "m.keras",
        ("unsafe path",),
    ),
    Case(
        "absolute",
        lambda: _keras(**{"config.json": _CONFIG, "/etc/x": b"1"}),
        "m.keras",
        ("unsafe path",),
    ),
    Case(
        "unexpected-member",
        lambda: _keras(**{"config.json": _CONFIG, "evil.py": b"1"}),
        "m.keras",
        ("unexpected member",),
    ),
    Case("missing-weights", lambda: _zip({"config.json": _CONFIG}), "m.keras", ("lacks",)),
    Case("missing-config", lambda: _keras(), "m.keras", ("lacks",)),
    Case(
        "invalid-json",
        lambda: _keras(**{"config.json": b"{not json"}),
        "m.keras",
        ("not valid json",),
    ),
    Case(
        "deeply-nested-json",
        lambda: _keras(**{"config.json": b"[" * 100_000 + b"]" * 100_000}),
        "m.keras",
        ("not valid json",),
    ),
    Case(
        "lambda-layer",
        lambda: _keras(
            **{"config.json": b'{"class_name": "Lambda", "module": "keras.layers", "config": {}}'}
        ),
        "m.keras",
        ("lambda",),
    ),
    Case(
        "tfsm-layer",
        lambda: _keras(
            **{
                "config.json": b'{"layers": [{"class_name": "TFSMLayer", "module": "keras.layers"}]}'
            }
        ),
        "m.keras",
        ("tfsmlayer",),
    ),
    Case(
        "module-os",
        lambda: _keras(
            **{"config.json": b'{"class_name": "system", "module": "os", "config": {}}'}
        ),
        "m.keras",
        ("module",),
    ),
    Case(
        "too-many-members",
        lambda: _keras(**{"config.json": _CONFIG, **{f"assets/{i}": b"" for i in range(250)}}),
        "m.keras",
        ("files",),
    ),
    Case(
        "too-large-upload",
        lambda: _keras(
            **{"config.json": _CONFIG, "assets/pad": np.random.default_rng(0).bytes(3 * MB)}
        ),
        "m.keras",
        ("MB",),
    ),
    Case(
        "ok",
        lambda: _keras(**{"config.json": _CONFIG}),
        "m.keras",
        None,
        lambda config: config["class_name"] == "Sequential" or pytest.fail(),
    ),
]


@pytest.mark.parametrize("case", KERAS, ids=[c.id for c in KERAS])
def test_keras_upload(case: Case, small_limits) -> None:
    from dlcore.registry import check_keras_archive

    data = case.make()
    if case.refused is None:
        case.check(check_keras_archive(data, case.name))
        return
    with pytest.raises(UserError) as caught:
        check_keras_archive(data, case.name)
    assert_refusal(caught.value, *case.refused)
