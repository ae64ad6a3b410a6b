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
_CENSORED_TEXT = r"^(<=|>=|=<|=>|≤|≥|<|>)\s*(.+)$"
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
    """Values as stripped text (the ``str`` dtype), with missing markers ('', 'NA', '?', ...) as
    missing."""
    text = series.astype("str").str.strip()
    return text.where(~text.isin(MISSING_TEXT) & series.notna())


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
    present = text.notna().to_numpy()
    censor = text.str.extract(_CENSORED_TEXT)
    ops = censor[0]
    core = censor[1].str.strip().where(ops.notna(), text)
    spaced = core.str.fullmatch(_SPACE_GROUPS.pattern).fillna(False).astype(bool)
    if spaced.any():
        core = core.where(~spaced, core.str.replace(r"[ \u00a0\u202f']", "", regex=True))
    shapes = _shapes(core)
    counts = shapes[present].value_counts().to_dict()
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
    ambiguous_mask = shapes.str.startswith("ambiguous").to_numpy()
    readable = present & (shapes != "bad").to_numpy() & (shapes != minority).to_numpy()
    if not convention:
        readable &= ~ambiguous_mask
    marked_mask = readable & (shapes != "plain").to_numpy()
    cleaned = core.where(readable)
    if thousands and marked_mask.any():
        grouped = cleaned.str.replace(thousands, "", regex=False)
        if convention == ",":
            grouped = grouped.str.replace(",", ".", regex=False)
        cleaned = cleaned.where(~marked_mask, grouped)
    values = pd.to_numeric(cleaned, errors="coerce").astype(float)
    readable &= values.notna().to_numpy()
    unreadable = present & ~readable
    below_mask = readable & ops.isin(_BELOW).to_numpy()
    above_mask = readable & ops.notna().to_numpy() & ~ops.isin(_BELOW).to_numpy()
    if censored == "half" and below_mask.any():
        values = values.where(~below_mask, values / 2)
    below, above = int(below_mask.sum()), int(above_mask.sum())
    ambiguous = int((present & ambiguous_mask & ~readable).sum())
    used_thousands = bool((spaced.to_numpy() & readable).any()) or bool(
        thousands
        and (
            marked_mask
            & readable
            & core.str.contains(thousands, regex=False).fillna(False).to_numpy()
        ).any()
    )
    if below or above:
        how = "half the limit for values below it" if censored == "half" else "the limit itself"
        notes.append(
            f"{name} has {below + above} censored value(s) ({below} below a limit such as <5, "
            f"{above} above one such as >100); they were read as {how}."
        )
    index = series.index
    return ParsedNumbers(
        values.set_axis(index),
        pd.Series(unreadable, index=index),
        convention or ".",
        thousands if used_thousands else None,
        below,
        above,
        ambiguous,
        notes,
    )


def _shapes(core: pd.Series) -> pd.Series:
    """``number_shape`` of every value, vectorised (the same rules, lowest priority first)."""
    shapes = pd.Series("bad", index=core.index, dtype=object)
    rules = (
        ("comma", (_COMMA_DECIMAL, _DOT_GROUPS)),
        ("point", (_DOT_DECIMAL, _COMMA_GROUPS)),
        ("ambiguous_comma", (_AMBIGUOUS_COMMA,)),
        ("ambiguous_dot", (_AMBIGUOUS_DOT,)),
        ("plain", (_PLAIN, _SCIENTIFIC)),
    )
    for shape, patterns in rules:
        hit = np.zeros(len(core), dtype=bool)
        for pattern in patterns:
            hit |= core.str.fullmatch(pattern.pattern).fillna(False).astype(bool).to_numpy()
        shapes[hit] = shape
    return shapes.astype("str")


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
