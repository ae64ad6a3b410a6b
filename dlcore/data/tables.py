"""Reading patient tables (CSV, TSV, XLSX, Parquet) from a path or uploaded bytes."""

from __future__ import annotations

import csv
import io
import itertools
import logging
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from dlcore.config import get_settings
from dlcore.errors import BadUploadError, UnsupportedFileError

logger = logging.getLogger(__name__)

# Longest cell accepted (characters): the csv module's own default, set explicitly.
MAX_CELL_CHARS = 131_072

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".data", ".dat", ".xlsx", ".parquet", ".pq")
TABLE_SUFFIXES += (".sdf", ".sd")  # molecules: one record per molecule, properties as columns
MISSING_MARKERS = ["", "?", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "None", "#N/A"]
_DELIMITERS = ",;\t|"
# Each column becomes an input of the network: thousands of them take hours to train. Above this
# (DLCORE_MAX_COLUMNS) a table is refused before it is parsed.
DEFAULT_MAX_COLUMNS = 2_000


def max_columns() -> int:
    """The column cap: DLCORE_MAX_COLUMNS, default 2,000. Raises ConfigError when malformed."""
    from dlcore.config import _int_env

    return _int_env("DLCORE_MAX_COLUMNS", DEFAULT_MAX_COLUMNS)


def _too_many_columns(name: str, columns: int, cap: int) -> BadUploadError:
    return BadUploadError(
        f"'{name}' has {columns:,} columns.",
        expected=f"at most {cap:,} columns (each column is an input of the network)",
        fix="keep the columns that matter (or a summary of them), or raise DLCORE_MAX_COLUMNS",
    )


def _too_many_rows(name: str, cap: int) -> BadUploadError:
    return BadUploadError(
        f"'{name}' has more than {cap:,} rows (reading stopped there).",
        expected=f"at most {cap:,} rows",
        fix="use a sample of the rows, or raise DLCORE_MAX_ROWS",
    )


@dataclass
class TableFile:
    """A table as read from a file, with what we noticed on the way."""

    frame: pd.DataFrame
    file_format: str
    name: str
    warnings: list[str] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None  # the file's decimal mark, when its numbers show one


def read_table(
    source: str | Path | bytes | BinaryIO,
    filename: str | None = None,
    *,
    max_bytes: int | None = None,
    censored: str = "limit",
) -> TableFile:
    """Read a CSV, TSV, XLSX or Parquet table from a path, bytes or a binary file object.

    The format comes from the file name's suffix (or, when there is none, from the content).
    Numbers written as clinicians write them are read as numbers, each with a note: thousands
    separators and decimal commas decided from the whole column (dlcore.data.numbers; ambiguous
    ones are not guessed), censored values such as ``<5`` or ``>100`` as the limit itself
    (``censored='limit'``) or half of it (``'half'``). Returns a TableFile with the frame and any
    warnings (encoding fallback, missing header, an Excel title row skipped, formula cells
    without a saved value, ...). Raises UnsupportedFileError for other kinds of file and
    BadUploadError for broken, empty, oversized or ragged ones (a short row, like a long one, is
    refused with its line number).
    """
    data, name = _read_bytes(source, filename, max_bytes)
    suffix = Path(name).suffix.lower()
    if suffix in (".xls",):
        raise UnsupportedFileError(
            f"Received '{name}', an Excel 97-2003 workbook (.xls).",
            expected="a .xlsx workbook, or CSV, TSV or Parquet",
            fix="open it in Excel or LibreOffice and save it as .xlsx or .csv",
        )
    file_format = _detect_format(data, suffix, name)
    if file_format == "xlsx":
        table = _read_xlsx(data, name)
    elif file_format == "sdf":  # molecules: one row per record, properties as columns
        from dlcore.data.molecules import read_sdf

        frame, sdf_warnings = read_sdf(data, name, get_settings().max_rows, max_columns())
        table = TableFile(frame, "sdf", name, sdf_warnings)
    elif file_format == "parquet":
        table = _read_parquet(data, name)
    else:
        table = _read_text(data, name, file_format)
    del data  # the file's bytes are not needed any more: a copy of the file less from here
    table.frame = _tidy_columns(table.frame, table.warnings)
    _check_not_empty(table.frame, name)
    _read_clinical_numbers(table, censored)
    max_rows = get_settings().max_rows
    if len(table.frame) > max_rows:
        raise _too_many_rows(name, max_rows)
    if table.frame.shape[1] > max_columns():
        raise _too_many_columns(name, table.frame.shape[1], max_columns())
    logger.info("read %s table: %d rows x %d columns", file_format, *table.frame.shape)
    if table.frame.size >= 1_000_000:
        release_free_memory()
    return table


def release_free_memory() -> None:
    """Give the heap's free pages back to the operating system (glibc's ``malloc_trim``):
    parsing a large table leaves about its size of freed but retained heap (1,000,000 x 21:
    133 MB, issue 15). Does nothing where the C library has no such call."""
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        pass


def _read_bytes(
    source: str | Path | bytes | BinaryIO, filename: str | None, max_bytes: int | None
) -> tuple[bytes, str]:
    limit = max_bytes if max_bytes is not None else get_settings().max_upload_bytes
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise BadUploadError(
                f"No file at '{path}'.",
                expected="the path of a readable file",
                fix="check the path",
            )
        size = path.stat().st_size
        if size > limit:
            raise _too_large(path.name, size, limit)
        return path.read_bytes(), filename or path.name
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        data = source.read(limit + 1)
        filename = filename or getattr(source, "name", None)
    name = filename or "upload"
    if len(data) > limit:
        raise _too_large(name, len(data), limit)
    return data, name


def _too_large(name: str, size: int, limit: int) -> BadUploadError:
    return BadUploadError(
        f"'{name}' is {size / 1e6:.1f} MB.",
        expected=f"at most {limit / 1e6:.0f} MB",
        fix="upload a smaller file (a sample of the rows), or raise DLCORE_MAX_UPLOAD_MB",
    )


def _detect_format(data: bytes, suffix: str, name: str) -> str:
    if not data:
        raise BadUploadError(
            f"'{name}' is empty (0 bytes).",
            expected="a table with a header row and at least one record",
            fix="check that the export finished, then upload the file again",
        )
    looks_zip = data[:4] == b"PK\x03\x04"
    looks_parquet = data[:4] == b"PAR1"
    if suffix in (".parquet", ".pq"):
        if not looks_parquet:
            raise BadUploadError(
                f"'{name}' is named like a Parquet file but does not start like one.",
                expected="a Parquet file (it begins with the bytes PAR1)",
                fix="export the table again as Parquet, or as CSV",
            )
        return "parquet"
    if suffix == ".xlsx":
        if not looks_zip:
            raise BadUploadError(
                f"'{name}' is named .xlsx but is not an Excel workbook.",
                expected="an .xlsx workbook (a ZIP archive inside)",
                fix="save it again from Excel or LibreOffice as .xlsx, or export CSV",
            )
        return "xlsx"
    if suffix == ".tsv":
        return "tsv"
    if suffix in (".sdf", ".sd"):
        return "sdf"
    if suffix in (".csv", ".txt", ".data", ".dat"):
        return "csv"
    if suffix == "" or suffix == ".upload":
        if looks_parquet:
            return "parquet"
        if looks_zip:
            return "xlsx"
        return "csv"
    raise UnsupportedFileError(
        f"Received '{name}' ({suffix} file).",
        expected="a table: .csv, .tsv, .txt, .xlsx or .parquet",
        fix="export the records as CSV or Excel (.xlsx) and upload that file",
    )


def _decode(data: bytes, name: str, warnings: list[str]) -> tuple[str, str]:
    if b"\x00" in data[:4096]:
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return data.decode("utf-16"), "utf-16"
        raise BadUploadError(
            f"'{name}' contains binary data, not text.",
            expected="a text table (CSV or TSV)",
            fix="if it is an Excel or Parquet file, give it its .xlsx or .parquet name",
        )
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        warnings.append(
            f"'{name}' is not valid UTF-8; it was read as Latin-1. Check accented characters "
            "(for example in category names); to avoid this, save the file as UTF-8."
        )
        return data.decode("latin-1"), "latin-1"


def _sniff_delimiter(text: str, file_format: str) -> str:
    if file_format == "tsv":
        return "\t"
    sample = "\n".join(_head_lines(text, 50).splitlines())
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        counts = {d: sample.count(d) for d in _DELIMITERS}
        best = max(counts, key=counts.__getitem__)
        return best if counts[best] else ","


def _decimal_mark(text: str | Iterable[str], delimiter: str) -> str | None:
    """The file's decimal mark from every cell (never only the first lines): ',' for European
    exports ('1,5;2,75'), '.' otherwise; None when no cell shows it (only integers, or only values
    such as 1.500 that could be either)."""
    from dlcore.data.numbers import number_shape

    rows = csv.reader(_lines(text) if isinstance(text, str) else text, delimiter=delimiter)
    # Only cells with a mark can show the convention; each distinct one is classified once.
    marked = Counter(cell.strip() for row in rows for cell in row if "," in cell or "." in cell)
    commas = points = 0
    for cell, count in marked.items():
        shape = number_shape(cell)
        commas += count if shape == "comma" else 0
        points += count if shape == "point" else 0
    if commas == points == 0:
        return None
    return "," if commas > points else "."


def _head_lines(text: str, lines: int) -> str:
    """The first ``lines`` lines of ``text`` (all of it when it has fewer)."""
    at = -1
    for _ in range(lines):
        at = text.find("\n", at + 1)
        if at == -1:
            return text
    return text[: at + 1]


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` one at a time, each with its newline, as ``io.StringIO`` gives them
    — without its copy of the whole text (4 bytes a character: 4x a large file, issue 15)."""
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start)
        if end == -1:
            yield text[start:]
            return
        yield text[start : end + 1]
        start = end + 1


def _check_row_lengths(text: str | Iterable[str], delimiter: str, name: str) -> None:
    """Refuse a row with fewer fields than the header (pandas would pad it silently), naming
    its line, as a row with more fields is refused."""
    reader = csv.reader(_lines(text) if isinstance(text, str) else text, delimiter=delimiter)
    width = None
    for row in reader:
        if not row or not any(cell.strip() for cell in row):
            continue
        if width is None:
            width = len(row)
            continue
        if len(row) < width:
            raise BadUploadError(
                f"'{name}' line {reader.line_num} has {len(row)} field(s); the header has {width}.",
                expected=f"the same number of {_delimiter_name(delimiter)}-separated fields on "
                "every line (an empty field for a missing value)",
                fix=f"open the file, complete line {reader.line_num} (or remove it), and export "
                "it again",
            )


def _read_clinical_numbers(table: TableFile, censored: str) -> None:
    """Text columns that are numbers as clinicians write them become numbers, each with a note."""
    from dlcore.data.numbers import clean_text, parse_numbers

    frame = table.frame
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        if pd.api.types.is_datetime64_any_dtype(series):
            continue
        text = clean_text(series).dropna()
        if text.empty or text.str.contains(r"\d", regex=True).mean() < 0.5:
            continue
        sample = parse_numbers(text.head(500), str(column), decimal_hint=table.decimal)
        if sample.values.notna().mean() < 0.8 and not sample.ambiguous:
            continue  # codes or free text ('P100234'): not numbers; spare the whole column
        parsed = parse_numbers(series, str(column), decimal_hint=table.decimal, censored=censored)
        readable = int(parsed.values.notna().sum())
        if readable == len(text):
            frame[column] = parsed.values
            table.warnings.extend(parsed.notes)
            if parsed.thousands and not parsed.notes:
                sign = "commas" if parsed.thousands == "," else "points or spaces"
                table.warnings.append(
                    f"'{column}' has thousands separators ({sign}); read as numbers."
                )
        elif readable >= 0.8 * len(text) and (parsed.notes or parsed.thousands):
            table.warnings.extend(parsed.notes)
            table.warnings.append(
                f"'{column}' was kept as text: {len(text) - readable} of its {len(text)} values "
                "could not be read as numbers."
            )
    table.frame = frame


def _has_header(text: str, delimiter: str) -> bool:
    first = next(csv.reader([_head_lines(text, 1).rstrip("\n")], delimiter=delimiter), [])
    cells = [c.strip() for c in first if c.strip()]
    if not cells:
        return True

    def numeric(cell: str) -> bool:
        try:
            float(cell)
            return True
        except ValueError:
            return cell in ("?", "NA", "nan")

    # A header row names columns; a first row that is all numbers is a record.
    return not all(numeric(c) for c in cells)


def _read_text(data: bytes, name: str, file_format: str) -> TableFile:
    warnings: list[str] = []
    text, encoding = _decode(data, name, warnings)
    # pandas can read the file's own bytes when they are UTF-8 text without carriage returns
    as_is = encoding == "utf-8" and "\r" not in text
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # old Mac exports end lines with \r
    if not text or text.isspace():  # (no .strip(): it would copy the whole text)
        raise BadUploadError(
            f"'{name}' holds no text.",
            expected="a header row and at least one record",
            fix="check the export and upload the file again",
        )
    delimiter = _sniff_delimiter(text, file_format)
    first_line = text[: text.find("\n")] if "\n" in text else text
    # The csv module's cell limit is process-wide state that any library may raise: set ours.
    previous_limit = csv.field_size_limit(MAX_CELL_CHARS)
    try:
        columns = next(csv.reader(io.StringIO(first_line), delimiter=delimiter), [])
        if len(columns) > max_columns():  # before parsing: thousands of columns refused at once
            raise _too_many_columns(name, len(columns), max_columns())
        header = _has_header(text, delimiter)
        # The checks that read every line read only as many as the row cap allows: a file past
        # the cap is refused by the parser below, one row after the cap.
        lines = get_settings().max_rows + 2
        _check_row_lengths(itertools.islice(_lines(text), lines), delimiter, name)
        decimal = _decimal_mark(itertools.islice(_lines(text), lines), delimiter)
    except csv.Error as exc:  # e.g. a cell longer than MAX_CELL_CHARS
        raise BadUploadError(
            f"'{name}' could not be read as a table ({re.sub(r'[^a-z ]', '', str(exc))[:80]}).",
            expected="a table whose cells are at most 128 kB of text each",
            fix="shorten or remove the very long cells (free-text notes), then export again",
        ) from None
    finally:
        csv.field_size_limit(previous_limit)
    # pandas parses bytes: the file's own when they can be, else the normalised text encoded
    # once (io.StringIO would hold 4 bytes a character: 4x the file, issue 15).
    source = io.BytesIO(data if as_is else text.encode("utf-8"))
    several_lines = len(list(itertools.islice(_lines(text), 2))) > 1
    del text  # the parser needs only the bytes: a copy of the file less at its peak
    try:
        frame = pd.read_csv(
            source,
            encoding="utf-8-sig" if as_is else "utf-8",
            sep=delimiter,
            header=0 if header else None,
            na_values=MISSING_MARKERS,
            keep_default_na=True,
            skipinitialspace=True,
            on_bad_lines="error",
            decimal="," if decimal == "," and delimiter != "," else ".",
            # The row cap is checked while reading: parsing stops one row past it.
            nrows=get_settings().max_rows + 1,
        )
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        detail = re.sub(r"\s+", " ", str(exc)).strip()
        raise BadUploadError(
            f"'{name}' could not be read as a table: {detail}.",
            expected=f"the same number of {_delimiter_name(delimiter)}-separated fields on every line",
            fix="open the file in a spreadsheet, check the line named above, and export it again",
        ) from None
    if header:
        # pandas renames a repeated header name silently ('age' → 'age.1'); put the names back so
        # _tidy_columns renames them with a warning the person sees.
        raw = next(csv.reader([first_line], delimiter=delimiter, skipinitialspace=True), [])
        if len(raw) == frame.shape[1] and len(set(raw)) < len(raw):
            frame.columns = raw
    if not header:
        frame.columns = [f"column_{i + 1}" for i in range(frame.shape[1])]
        warnings.append(
            f"'{name}' has no header row; its {frame.shape[1]} columns were named column_1 … "
            f"column_{frame.shape[1]}. Add a header row to the file to keep the real names."
        )
    if frame.shape[1] == 1 and several_lines:
        warnings.append(
            f"Only one column was found in '{name}'. If the file uses another separator than "
            f"{_delimiter_name(delimiter)}, export it again as comma-separated CSV."
        )
    return TableFile(
        frame, "tsv" if delimiter == "\t" else "csv", name, warnings, encoding, delimiter, decimal
    )


def _delimiter_name(delimiter: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}.get(
        delimiter, repr(delimiter)
    )


def _read_xlsx(data: bytes, name: str) -> TableFile:
    warnings: list[str] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.namelist()
            total = sum(info.file_size for info in archive.infolist())
        if "xl/workbook.xml" not in members:
            raise BadUploadError(
                f"'{name}' is a ZIP archive but not an Excel workbook.",
                expected="an .xlsx workbook",
                fix="save the sheet from Excel or LibreOffice as .xlsx, or export CSV",
            )
        if total > 20 * get_settings().max_upload_bytes:
            raise BadUploadError(
                f"'{name}' expands to {total / 1e6:.0f} MB.",
                expected="a workbook that is not a compression bomb",
                fix="export the sheet as CSV instead",
            )
        sheets = pd.read_excel(
            io.BytesIO(data),
            sheet_name=None,
            engine="openpyxl",
            nrows=get_settings().max_rows + 1,  # the row cap while reading
        )
    except BadUploadError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise BadUploadError(
            f"'{name}' could not be opened as an Excel workbook ({type(exc).__name__}).",
            expected="an intact .xlsx file",
            fix="open and save it again in Excel or LibreOffice, or export it as CSV",
        ) from None
    non_empty = {k: v for k, v in sheets.items() if not v.empty}
    if not non_empty:
        raise BadUploadError(
            f"Every sheet of '{name}' is empty.",
            expected="a sheet with a header row and records",
            fix="check you exported the right workbook",
        )
    sheet_name, frame = next(iter(non_empty.items()))
    if len(non_empty) > 1:
        warnings.append(
            f"'{name}' has {len(non_empty)} sheets with data; the first, '{sheet_name}', was read. "
            "To use another, save it as its own file."
        )
    frame, header_row = _skip_title_rows(data, sheet_name, frame, warnings)
    _note_uncached_formulas(data, sheet_name, frame, header_row, warnings)
    frame = frame.replace(to_replace={m: pd.NA for m in ("?", "NA", "N/A", "#N/A")})
    return TableFile(frame, "xlsx", name, warnings)


def _skip_title_rows(
    data: bytes, sheet: str, frame: pd.DataFrame, warnings: list[str]
) -> tuple[pd.DataFrame, int]:
    """Read the sheet again below a title row ('Cohort export, March') when the first row names
    only a few of the columns; returns the frame and the header's row (0-based)."""
    unnamed = sum(str(c).startswith("Unnamed:") for c in frame.columns)
    if frame.shape[1] < 2 or unnamed < frame.shape[1] / 2:
        return frame, 0
    raw = pd.read_excel(
        io.BytesIO(data), sheet_name=sheet, header=None, nrows=30, engine="openpyxl"
    )
    widths = raw.notna().sum(axis=1)
    widest = int(widths.max())
    header_row = 0
    for r in range(min(10, len(raw))):
        cells = raw.iloc[r].dropna()
        if len(cells) >= max(2, 0.8 * widest) and all(isinstance(v, str) for v in cells):
            header_row = r
            break
    if header_row == 0:
        return frame, 0
    frame = pd.read_excel(
        io.BytesIO(data),
        sheet_name=sheet,
        header=header_row,
        engine="openpyxl",
        nrows=get_settings().max_rows + 1,
    )
    warnings.append(
        f"The first {header_row} row(s) of sheet '{sheet}' look like a title, not column names: "
        f"they were skipped, and row {header_row + 1} was read as the header."
    )
    return frame, header_row


def _note_uncached_formulas(
    data: bytes, sheet: str, frame: pd.DataFrame, header_row: int, warnings: list[str]
) -> None:
    """Name the columns whose formula cells have no saved result (the file was written by a
    program that does not calculate): they read as empty, which is not the same as missing."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [m for m in archive.namelist() if m.startswith("xl/worksheets/")]
        if not any(b"<f>" in archive.read(m) or b"<f " in archive.read(m) for m in sheets):
            return
    from openpyxl import load_workbook

    formulas = load_workbook(io.BytesIO(data), read_only=True, data_only=False)[sheet]
    values = load_workbook(io.BytesIO(data), read_only=True, data_only=True)[sheet]
    counts: dict[int, int] = {}
    rows = zip(
        formulas.iter_rows(min_row=header_row + 2, values_only=True),
        values.iter_rows(min_row=header_row + 2, values_only=True),
        strict=False,
    )
    for formula_row, value_row in rows:
        for j, (f, v) in enumerate(zip(formula_row, value_row, strict=False)):
            if isinstance(f, str) and f.startswith("=") and v is None:
                counts[j] = counts.get(j, 0) + 1
    named = [f"'{frame.columns[j]}' ({n})" for j, n in sorted(counts.items()) if j < frame.shape[1]]
    if named:
        warnings.append(
            "Formula cells without a saved result read as empty in "
            + ", ".join(named)
            + ": the workbook was saved by a program that does not calculate formulas. Open it "
            "in Excel or LibreOffice, save it, and upload it again."
        )


def _read_parquet(data: bytes, name: str) -> TableFile:
    try:
        import pyarrow.parquet as pq

        metadata = pq.ParquetFile(io.BytesIO(data)).metadata
    except Exception:  # pyarrow raises several unrelated types for broken files
        metadata = None
    if metadata is not None:  # the footer says how big it is: refuse before reading the data
        if metadata.num_columns > max_columns():
            raise _too_many_columns(name, metadata.num_columns, max_columns())
        if metadata.num_rows > get_settings().max_rows:
            raise _too_many_rows(name, get_settings().max_rows)
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several unrelated types for broken files
        raise BadUploadError(
            f"'{name}' could not be read as Parquet ({type(exc).__name__}).",
            expected="an intact Parquet file",
            fix="export the table again, or export it as CSV",
        ) from None
    nested = [
        str(c)
        for c in frame.columns
        if frame[c].dtype == object
        and frame[c].map(lambda v: isinstance(v, (list, dict, tuple, np.ndarray))).any()
    ]
    if nested:
        raise BadUploadError(
            f"'{name}' has columns holding lists or records, not single values: "
            + ", ".join(nested[:5])
            + ".",
            expected="one value per cell (numbers, text, dates)",
            fix="flatten those columns (one column per field) or leave them out, then export again",
        )
    return TableFile(frame.reset_index(drop=True), "parquet", name)


def _tidy_columns(frame: pd.DataFrame, warnings: list[str]) -> pd.DataFrame:
    names = [str(c).strip() for c in frame.columns]
    unnamed = [i for i, n in enumerate(names) if n == "" or n.startswith("Unnamed:")]
    for i in unnamed:
        names[i] = f"column_{i + 1}"
    taken = set()
    renamed = []
    for i, n in enumerate(names):
        if n in taken:
            k = 2
            while f"{n}_{k}" in taken or f"{n}_{k}" in names[i + 1 :]:
                k += 1  # never a name another column already has ('age', 'age', 'age_2')
            new = f"{n}_{k}"
            renamed.append(f"'{n}' → '{new}'")
            names[i] = new
        taken.add(names[i])
    if renamed:
        warnings.append("Duplicate column names were renamed: " + ", ".join(renamed) + ".")
    frame = frame.set_axis(names, axis=1)  # (copy-on-write: no copy of the values)
    blank = frame.isna().all(axis=1).to_numpy()
    if blank.any():  # rows with no value at all are dropped
        frame = frame.loc[~blank]
    frame = frame.reset_index(drop=True)
    empty_columns = [c for c in frame.columns if frame[c].isna().all()]
    if unnamed and empty_columns:
        frame = frame.drop(columns=[c for c in empty_columns if c in [names[i] for i in unnamed]])
    return frame


def _check_not_empty(frame: pd.DataFrame, name: str) -> None:
    if frame.shape[1] == 0 or len(frame) == 0:
        raise BadUploadError(
            f"'{name}' has {len(frame)} records and {frame.shape[1]} columns.",
            expected="a header row and at least one record",
            fix="check that the export contains the records, then upload it again",
        )
