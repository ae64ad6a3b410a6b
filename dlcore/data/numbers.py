"""Numbers as clinicians write them: thousands separators, decimal commas, censored values.

The convention of a column (decimal point with comma thousands, '1,234.5', or decimal comma with
dot thousands, '1.234,5') is decided from **every** value of the column, never from the first
lines. A value such as '1,500' or '150.120' (one mark followed by exactly three digits) could be
either; it is read

- by the column's own evidence, when another value of the column shows the convention ('2,5',
  '1.234.567', '0.125');
- as a thousands separator, when at least ``MIN_CONSISTENT_GROUPS`` values carry a mark and every
  one of them has exactly three digits after it (nobody writes every decimal with three places);
- by the file's decimal mark, when the caller knows it from the other columns (``decimal_hint``);
- otherwise it is **not guessed**: it stays unreadable and the column's note says why.

Censored values (``<5``, ``>100``, ``≤0.1``, ``≥ 90``) are read as numbers: the limit itself, or
half of it for values below a detection limit when ``censored='half'``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dlcore.errors import SchemaMismatchError, UserError

MISSING_TEXT = ("", "?", "NA", "N/A", "n/a", "nan", "NaN", "null", "NULL", "None", "#N/A")
CENSORED_CHOICES = ("limit", "half")
MIN_CONSISTENT_GROUPS = 5

_SPACE_GROUPS = re.compile(r"[-+]?[1-9]\d{0,2}(?:[ \u00a0\u202f']\d{3})+(?:[.,]\d+)?")
_CENSORED = re.compile(r"(<=|>=|=<|=>|≤|≥|<|>)\s*(.+)")
_PLAIN = re.compile(r"[-+]?\d+")
_SCIENTIFIC = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+")
_AMBIGUOUS_DOT = re.compile(r"[-+]?[1-9]\d{0,2}\.\d{3}")
_AMBIGUOUS_COMMA = re.compile(r"[-+]?[1-9]\d{0,2},\d{3}")
_DOT_DECIMAL = re.compile(r"[-+]?\d*\.\d+")
_COMMA_DECIMAL = re.compile(r"[-+]?\d*,\d+")
_COMMA_GROUPS = re.compile(r"[-+]?[1-9]\d{0,2}(?:(?:,\d{3}){2,}(?:\.\d+)?|(?:,\d{3})+\.\d+)")
_DOT_GROUPS = re.compile(r"[-+]?[1-9]\d{0,2}(?:(?:\.\d{3}){2,}(?:,\d+)?|(?:\.\d{3})+,\d+)")
_BELOW = ("<", "<=", "=<", "≤")


@dataclass
class ParsedNumbers:
    """A text column read as numbers, and how: the convention, censored and ambiguous values."""

    values: pd.Series
    unreadable: pd.Series
    decimal: str = "."
    thousands: str | None = None
    censored_below: int = 0
    censored_above: int = 0
    ambiguous: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def share_readable(self) -> float:
        present = int((~self.values.isna() | self.unreadable).sum())
        return 1.0 if present == 0 else 1 - float(self.unreadable.sum()) / present


def clean_text(series: pd.Series) -> pd.Series:
    """Values as stripped text, with missing markers ('', 'NA', '?', ...) as None."""
    text = series.astype("object").map(
        lambda v: None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v).strip()
    )
    return text.map(lambda v: None if v in MISSING_TEXT else v)


def number_shape(core: str) -> str:
    """The form of one number text: plain, point, comma, ambiguous_dot, ambiguous_comma or bad."""
    if _PLAIN.fullmatch(core) or _SCIENTIFIC.fullmatch(core):
        return "plain"
    if _AMBIGUOUS_DOT.fullmatch(core):
        return "ambiguous_dot"
    if _AMBIGUOUS_COMMA.fullmatch(core):
        return "ambiguous_comma"
    if _DOT_DECIMAL.fullmatch(core) or _COMMA_GROUPS.fullmatch(core):
        return "point"  # decimal point (with comma thousands)
    if _COMMA_DECIMAL.fullmatch(core) or _DOT_GROUPS.fullmatch(core):
        return "comma"  # decimal comma (with dot thousands)
    return "bad"


def parse_numbers(
    series: pd.Series,
    column: str = "",
    *,
    decimal_hint: str | None = None,
    censored: str = "limit",
) -> ParsedNumbers:
    """Read a text column as numbers the way clinicians write them (see the module docstring).

    ``decimal_hint`` is the file's decimal mark ('.' or ','), used only for values the column
    itself cannot settle. ``censored`` is 'limit' or 'half'. Returns a ParsedNumbers; never raises
    for bad values (they are marked in ``unreadable``). Raises UserError for an unknown ``censored``.
    """
    if censored not in CENSORED_CHOICES:
        raise UserError(
            f"Censored values substitution '{censored}' is unknown.",
            expected="'limit' (the limit itself) or 'half' (half the limit for '<' values)",
            fix="choose limit or half",
        )
    text = clean_text(series)
    cores: dict[int, str] = {}
    ops: dict[int, str] = {}
    shapes: dict[int, str] = {}
    spaced = 0
    for i, value in enumerate(text.tolist()):
        if not isinstance(value, str):  # missing: clean_text's None comes back as NaN from map
            continue
        m = _CENSORED.fullmatch(value)
        op = ""
        if m:
            op, value = m.group(1), m.group(2).strip()
        if _SPACE_GROUPS.fullmatch(value):
            value = re.sub(r"[ \u00a0\u202f']", "", value)
            spaced += 1
        cores[i], ops[i], shapes[i] = value, op, number_shape(value)
    counts = pd.Series(list(shapes.values()), dtype=object).value_counts().to_dict()
    point, comma = counts.get("point", 0), counts.get("comma", 0)
    amb_dot, amb_comma = counts.get("ambiguous_dot", 0), counts.get("ambiguous_comma", 0)
    notes: list[str] = []
    name = f"'{column}'" if column else "The column"
    if point and comma:
        convention = "." if point >= comma else ","
        minority = "comma" if convention == "." else "point"
        notes.append(
            f"{name} mixes decimal points and decimal commas; the {min(point, comma)} value(s) "
            "written the other way were not guessed and count as unreadable."
        )
    elif point:
        convention, minority = ".", "comma"
    elif comma:
        convention, minority = ",", "point"
    else:
        minority = ""
        marked = amb_dot + amb_comma
        if marked >= MIN_CONSISTENT_GROUPS and (amb_dot == 0 or amb_comma == 0):
            # Every marked value has exactly three digits after the mark: thousands.
            convention = "," if amb_dot else "."
            notes.append(
                f"{name}: every one of its {marked} values with a "
                f"{'point' if amb_dot else 'comma'} has exactly three digits after it, so the "
                f"{'point' if amb_dot else 'comma'} was read as a thousands separator "
                f"({'150.120 = 150120' if amb_dot else '150,000 = 150000'})."
            )
        elif marked and decimal_hint in (".", ","):
            convention = decimal_hint
            notes.append(
                f"{name} has {marked} value(s) such as "
                f"{'1.500' if amb_dot else '1,500'} that could be read two ways; they were read "
                f"with the file's decimal mark '{decimal_hint}'. Check the column."
            )
        elif marked:
            convention = ""
            notes.append(
                f"{name} has {marked} value(s) such as {'1.500' if amb_dot else '1,500'} that "
                "could be a decimal or a thousands separator, and nothing in the file settles "
                "it: they were not guessed and count as unreadable. Write them without a "
                "thousands separator."
            )
        else:
            convention = "."
    thousands = {".": ",", ",": "."}.get(convention)
    values = np.full(len(text), np.nan)
    unreadable = np.zeros(len(text), dtype=bool)
    below = above = ambiguous = 0
    for i, core in cores.items():
        shape = shapes[i]
        if not convention and shape.startswith("ambiguous"):
            unreadable[i] = True
            ambiguous += 1
            continue
        if shape == "bad" or shape == minority:
            unreadable[i] = True
            continue
        number = core.replace(thousands or "", "") if shape != "plain" else core
        number = number.replace(",", ".") if convention == "," and shape != "plain" else number
        try:
            x = float(number)
        except ValueError:
            unreadable[i] = True
            continue
        op = ops[i]
        if op:
            if op in _BELOW:
                below += 1
                x = x / 2 if censored == "half" else x
            else:
                above += 1
        values[i] = x
    if below or above:
        how = "half the limit for values below it" if censored == "half" else "the limit itself"
        notes.append(
            f"{name} has {below + above} censored value(s) ({below} below a limit such as <5, "
            f"{above} above one such as >100); they were read as {how}."
        )
    used_thousands = bool(spaced) or any(
        thousands in cores[i] for i in cores if not unreadable[i] and thousands
    )
    index = series.index
    return ParsedNumbers(
        pd.Series(values, index=index, dtype=float),
        pd.Series(unreadable, index=index),
        convention or ".",
        thousands if used_thousands else None,
        below,
        above,
        ambiguous,
        notes,
    )


def to_number(
    series: pd.Series, column: str, *, strict: bool = True, censored: str = "limit"
) -> pd.Series:
    """Convert a column to float, keeping missing values as NaN.

    Text is read as clinicians write numbers (thousands separators, decimal commas, censored
    values: see ``parse_numbers``). With ``strict``, a value that is present but not a number
    raises SchemaMismatchError naming the column, the row and the value.
    """
    if pd.api.types.is_bool_dtype(series):
        return series.astype(float)
    if pd.api.types.is_numeric_dtype(series):
        return series.astype(float)
    text = clean_text(series)
    # A yes/no column read as booleans in training (0/1) and as text here (a blank made it
    # object): True/False are still 1/0.
    text = text.map(lambda v: _BOOLEAN_TEXT.get(v.lower(), v) if isinstance(v, str) else v)
    numbers = pd.to_numeric(text, errors="coerce")
    bad = numbers.isna() & text.notna()
    if bad.any():
        parsed = parse_numbers(text, column, censored=censored)
        numbers, bad = parsed.values, parsed.unreadable
    if strict and bad.any():
        row = bad.to_numpy().nonzero()[0][0]
        examples = sorted({str(v) for v in text[bad].head(3)})
        raise SchemaMismatchError(
            f"Column '{column}' row {row + 1}: received '{text.iloc[row]}' "
            f"({int(bad.sum())} value(s) like {', '.join(repr(e) for e in examples)}).",
            expected=f"a number in '{column}' (or an empty cell for a missing value)",
            fix=f"correct or blank those values in '{column}', or treat the column as categorical",
        )
    return numbers.astype(float)


_BOOLEAN_TEXT = {"true": "1", "false": "0"}
