"""Reading a large CSV holds about the file's bytes, its text and the frame — not 4-byte
copies of the text (io.StringIO) nor a second copy of the frame (issue 15)."""

from __future__ import annotations

import tracemalloc

import numpy as np

from dlcore.data.tables import read_table


def test_reading_a_csv_traces_less_than_five_times_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCORE_MAX_UPLOAD_MB", "100")
    rng = np.random.default_rng(0)
    values = rng.normal(size=(40_000, 10)).round(4)
    path = tmp_path / "numbers.csv"
    header = ",".join(f"x{i}" for i in range(10))
    np.savetxt(path, values, delimiter=",", fmt="%.4f", header=header, comments="")
    size = path.stat().st_size
    tracemalloc.start()
    try:
        table = read_table(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert table.frame.shape == (40_000, 10)
    np.testing.assert_allclose(table.frame.to_numpy(), values)
    # the bytes (1x), the text (1x), the float64 frame (1.1x) and parsing: 3.8x — it was 7.8x
    assert peak < 5 * size, f"{peak / size:.1f}x the file"


def test_carriage_returns_and_a_byte_order_mark_still_read(tmp_path):
    path = tmp_path / "old_mac.csv"
    path.write_bytes(b"\xef\xbb\xbfage,sex\r41,F\r52,M\r")
    frame = read_table(path).frame
    assert list(frame.columns) == ["age", "sex"]
    assert frame["age"].tolist() == [41, 52] and frame["sex"].tolist() == ["F", "M"]
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbfage,sex\n41,F\n\n,\n52,M\n")
    frame = read_table(bom).frame
    assert list(frame.columns) == ["age", "sex"] and len(frame) == 2  # the blank rows dropped
