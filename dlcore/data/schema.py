"""Schema inference: what kind each column is, which ones are features, the target and the task."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dlcore.data.classes import positive_by_meaning
from dlcore.errors import SchemaMismatchError, UserError

NUMERIC = "numeric"
BINARY = "binary"
CATEGORICAL = "categorical"
IDENTIFIER = "identifier"
DATETIME = "datetime"
TEXT = "text"
EMPTY = "empty"
MOLECULE = "molecule"  # SMILES text: featurised by dlcore.data.molecules, not one-hot encoded
KINDS = (NUMERIC, BINARY, CATEGORICAL, IDENTIFIER, DATETIME, TEXT, EMPTY, MOLECULE)
FEATURE_KINDS = (NUMERIC, BINARY, CATEGORICAL)

TASKS = ("binary", "multiclass", "regression", "survival")
MAX_CATEGORIES = 50
MAX_CLASSES = 20

# Names that suggest a person can be identified (HIPAA-style identifiers). Tokens, not substrings:
# "id" must stand alone ("patient_id", "ID"), so "idiopathic" or "lipid" do not match.
_IDENTIFIER_NAME = re.compile(
    r"(^|_)(id|ids|uuid|guid|mrn|nhs|ssn|nric|record_?(no|number|num|id)?|patient_?(no|number|num|id|name)|"
    r"subject_?(id|no)|case_?(id|no)|encounter_?id|visit_?id|accession|name|names|first_?name|last_?name|"
    r"surname|forename|full_?name|given_?name|family_?name|phone|telephone|tel|mobile|fax|e_?mail|"
    r"address|street|addr|postcode|post_?code|zip|zip_?code|dob|date_?of_?birth|birth_?date|"
    r"birthdate|birthday|insurance_?(no|number|id)|policy_?(no|number)|ip_?address)($|_)",
    re.IGNORECASE,
)
# Whole numbers that count or measure something (age, year, visits, pregnancies): features even when
# every row has a different, consecutive value.
_QUANTITY_NAME = re.compile(
    r"(^|_)(age|ages|aged|year|years|yr|yrs|yob|count|counts|n|num|number|number_of|no_of|nb|"
    r"visits|admissions|children|pregnancies|pregnant|parity|gravida|score|grade|stage|level|"
    r"days|months|weeks|hours|minutes|dose|size|height|weight|length|duration)($|_)",
    re.IGNORECASE,
)
_UNIT = re.compile(r"[(\[]\s*([^()\[\]]{1,24}?)\s*[)\]]\s*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^\+?[\d\s().-]{7,20}$")


def normalize_name(name: str) -> str:
    """Lower-case a column name with runs of non-alphanumerics turned into underscores."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


@dataclass
class ColumnInfo:
    """What we know of one column: its kind, whether it is used, and why."""

    name: str
    kind: str
    role: str = "feature"  # feature | target | excluded
    reason: str = ""
    missing_share: float = 0.0
    n_unique: int = 0
    dtype: str = ""
    leakage: str = ""  # why it is left out as possible leakage (kept when a person includes it)
    unit: str = ""  # from the header, for display: 'creatinine (mg/dL)' → 'mg/dL'
    note: str = ""  # how its values were read (censored values, thousands separators, units)


@dataclass
class Schema:
    """The columns of a table, which of them are features, the target and the task."""

    columns: list[ColumnInfo]
    target: str | None = None
    task: str | None = None
    classes: list[str] = field(default_factory=list)
    positive_class: str | None = None
    time_column: str | None = None  # survival: the follow-up time; ``target`` is then the event
    group_column: str | None = None  # rows of one patient: the split keeps each group in one part
    group_reason: str = ""  # how the grouping was chosen (detected, or set by a person)
    # a trial's arm (dlcore.data.treatment): not a feature; the network has one head per arm
    treatment_column: str | None = None

    def column(self, name: str) -> ColumnInfo:
        """Return the column called ``name``; raises SchemaMismatchError when absent."""
        for col in self.columns:
            if col.name == name:
                return col
        raise SchemaMismatchError(
            f"There is no column '{name}'.",
            expected="one of: " + ", ".join(c.name for c in self.columns[:20]),
            fix="pick a column that exists in the table",
        )

    @property
    def features(self) -> list[ColumnInfo]:
        return [c for c in self.columns if c.role == "feature"]

    @property
    def feature_names(self) -> list[str]:
        return [c.name for c in self.features]

    @property
    def leakage_excluded(self) -> dict[str, str]:
        """Columns left out as possible leakage, with the reason."""
        return {c.name: c.leakage for c in self.columns if c.leakage and c.role == "excluded"}

    @property
    def leakage_included(self) -> dict[str, str]:
        """Columns flagged as possible leakage that a person chose to use anyway, with the flag."""
        return {c.name: c.leakage for c in self.columns if c.leakage and c.role == "feature"}

    @property
    def excluded(self) -> dict[str, str]:
        """Every column left out of the features, with the reason."""
        return {c.name: c.reason for c in self.columns if c.role == "excluded"}

    def training_notes(self) -> list[str]:
        """What training will do about the data, in sentences for the Train page and the CLI:
        the columns left out as possible leakage, those used anyway, and the patient grouping."""
        notes = []
        if self.leakage_excluded:
            notes.append("Left out as possible leakage: " + ", ".join(self.leakage_excluded) + ".")
        if self.leakage_included:
            notes.append(
                "Used at your request although flagged as possible leakage: "
                + ", ".join(self.leakage_included)
                + "."
            )
        if self.group_column:
            notes.append(
                f"Split by patient: each '{self.group_column}' is kept in one of training, "
                "validation or test."
            )
        return notes

    def fingerprint(self) -> str:
        """A short hash of the feature names and kinds, the target and the classes."""
        payload = json.dumps(
            {
                "features": [(c.name, c.kind) for c in self.features],
                "target": self.target,
                "task": self.task,
                "classes": self.classes,
                "time_column": self.time_column,
            },
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": [asdict(c) for c in self.columns],
            "target": self.target,
            "task": self.task,
            "classes": list(self.classes),
            "positive_class": self.positive_class,
            "time_column": self.time_column,
            "group_column": self.group_column,
            "group_reason": self.group_reason,
            "treatment_column": self.treatment_column,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        return cls(
            columns=[ColumnInfo(**c) for c in data["columns"]],
            target=data.get("target"),
            task=data.get("task"),
            classes=[str(c) for c in data.get("classes", [])],
            positive_class=data.get("positive_class"),
            time_column=data.get("time_column"),
            group_column=data.get("group_column"),
            group_reason=data.get("group_reason", ""),
            treatment_column=data.get("treatment_column"),
        )


def _as_text(series: pd.Series) -> pd.Series:
    return series.dropna().astype(str).str.strip()


def _looks_numeric(values: pd.Series) -> float:
    """Share of the non-missing values that parse as numbers."""
    if values.empty:
        return 0.0
    parsed = pd.to_numeric(values, errors="coerce")
    return float(parsed.notna().mean())


def _looks_datetime(values: pd.Series) -> float:
    sample = values.head(200)
    if sample.empty or not sample.str.contains(r"\d", regex=True).all():
        return 0.0
    if not sample.str.contains(r"[-/:.]", regex=True).all():
        return 0.0
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return float(parsed.notna().mean())


def infer_column(name: str, series: pd.Series) -> ColumnInfo:
    """Infer the kind of one column and whether it should be a feature, with the reason."""
    n = len(series)
    nonnull = series.dropna()
    missing_share = float(1 - len(nonnull) / n) if n else 1.0
    n_unique = int(nonnull.nunique())
    info = ColumnInfo(
        name=name,
        kind=NUMERIC,
        missing_share=missing_share,
        n_unique=n_unique,
        dtype=str(series.dtype),
    )
    normalized = normalize_name(name)
    unit = _UNIT.search(str(name))
    info.unit = unit.group(1) if unit else ""
    if nonnull.empty:
        info.kind, info.role, info.reason = EMPTY, "excluded", "every value is missing"
        return info
    if _IDENTIFIER_NAME.search(normalized):
        info.kind, info.role = IDENTIFIER, "excluded"
        info.reason = "the column name suggests it identifies a person or record"
        return info

    if pd.api.types.is_bool_dtype(series):
        info.kind = BINARY
    elif pd.api.types.is_datetime64_any_dtype(series):
        info.kind, info.role, info.reason = DATETIME, "excluded", "dates are not used as features"
    elif pd.api.types.is_numeric_dtype(series):
        values = nonnull.to_numpy(dtype=float)
        integer_valued = bool(np.all(np.mod(values, 1) == 0))
        if n_unique == 2:
            info.kind = BINARY
        elif (
            integer_valued
            and n_unique == len(nonnull)
            and len(nonnull) >= 20
            and not _QUANTITY_NAME.search(normalized)
        ):
            ordered = np.sort(values)
            if np.all(np.diff(ordered) == 1) or "no" in normalized.split("_"):
                info.kind, info.role = IDENTIFIER, "excluded"
                info.reason = "a different whole number on every row, like a record number"
    else:
        text = _as_text(series)
        info.dtype = "text"
        if _looks_numeric(text) >= 0.98:
            info.kind = BINARY if n_unique == 2 else NUMERIC
            info.reason = "numbers stored as text; they will be read as numbers"
        elif n_unique >= 10 and _looks_molecular(text):
            info.kind = MOLECULE
            info.note = "SMILES: read as molecules (fingerprints and descriptors)"
        elif text.str.match(_EMAIL).mean() > 0.5:
            info.kind, info.role, info.reason = (
                IDENTIFIER,
                "excluded",
                "the values look like e-mail addresses",
            )
        elif _looks_datetime(text) >= 0.9:
            # Before the phone check: ISO dates (2024-01-31) also match the phone pattern.
            info.kind, info.role, info.reason = (
                DATETIME,
                "excluded",
                "dates are not used as features",
            )
        elif text.str.match(_PHONE).mean() > 0.8 and n_unique > 0.5 * len(text):
            info.kind, info.role, info.reason = (
                IDENTIFIER,
                "excluded",
                "the values look like phone numbers",
            )
        elif n_unique == 2:
            info.kind = BINARY
        elif n_unique <= MAX_CATEGORIES and n_unique <= max(2, 0.5 * len(text)):
            info.kind = CATEGORICAL
        elif n_unique == len(text) and text.str.len().mean() < 40:
            info.kind, info.role = IDENTIFIER, "excluded"
            info.reason = "a different value on every row, like a name or a code"
        else:
            info.kind, info.role = TEXT, "excluded"
            info.reason = (
                f"free text or codes with {n_unique} distinct values (more than {MAX_CATEGORIES} "
                "categories cannot be one-hot encoded usefully)"
            )
    if info.role == "feature" and n_unique <= 1:
        info.role, info.reason = "excluded", "the same value on every row carries no information"
    return info


def _looks_molecular(text: pd.Series) -> bool:
    from dlcore.data.molecules import looks_like_smiles

    return looks_like_smiles(text)


def set_molecule_column(schema: Schema, frame: pd.DataFrame, column: str) -> Schema:
    """Make ``column`` a molecule (SMILES) feature by hand; raises UserError when no value of
    it is a usable molecule (naming three examples)."""
    from dlcore.data.molecules import check_molecules

    col = schema.column(column)
    if col.role == "target":
        raise UserError(
            f"Column '{column}' is the target.",
            expected="a column of SMILES that is not the outcome",
            fix="choose another column for the molecules",
        )
    check_molecules(frame, column)
    col.kind, col.role, col.reason = MOLECULE, "feature", "chosen as molecules by the user"
    col.note = "SMILES: read as molecules (fingerprints and descriptors)"
    return schema


def molecule_columns(schema: Schema) -> list[str]:
    """The feature columns that hold molecules (SMILES)."""
    return [c.name for c in schema.features if c.kind == MOLECULE]


def infer_schema(frame: pd.DataFrame, target: str | None = None) -> Schema:
    """Infer the kind of every column, exclude identifier-like ones, and set the target and task.

    ``target`` may be None (no target yet: for a table to be scored). Raises UserError when the
    target is not a column or cannot be learned (one value, free text).
    """
    schema = Schema(columns=[infer_column(str(c), frame[c]) for c in frame.columns])
    group = detect_group_column(frame, schema)
    if group is not None:
        set_group_column(schema, frame, group, detected=True)
    if target is not None:
        set_target(schema, frame, target)
    return schema


# Names of columns that identify a patient (not a visit): preferred as the grouping of a split.
_PATIENT_NAME = re.compile(
    r"(^|_)(patient|patients|subject|subjects|person|individual|participant|mrn|nhs|pid|"
    r"patient_?(id|no|number|num|key)|subject_?(id|no)|person_?id|participant_?id|mrn_?\w*)($|_)",
    re.IGNORECASE,
)


def detect_group_column(frame: pd.DataFrame, schema: Schema) -> str | None:
    """A column that identifies patients and repeats (several rows of one patient), else None.

    Candidates are identifier-like columns (by name or values) in which at least one value occurs
    on two rows or more; a name that says patient or subject is preferred over a visit or record
    number. Returns the column's name.
    """
    candidates = []
    for col in schema.columns:
        if col.kind != IDENTIFIER or col.name not in frame.columns:
            continue
        values = frame[col.name].dropna()
        if len(values) < 4 or col.n_unique < 2 or col.n_unique >= len(values):
            continue
        name = normalize_name(col.name)
        if col.reason.endswith(("e-mail addresses", "phone numbers")):
            continue
        patient = bool(_PATIENT_NAME.search(name))
        if not patient and not _IDENTIFIER_NAME.search(name):
            continue
        candidates.append((not patient, col.n_unique, col.name))
    return min(candidates)[2] if candidates else None


def set_group_column(
    schema: Schema, frame: pd.DataFrame, column: str | None, *, detected: bool = False
) -> Schema:
    """Keep each value of ``column`` (a patient, a subject) wholly in train, validation or test.

    ``None`` splits rows independently. The column is left out of the features. Returns the same
    schema, changed. Raises UserError for a column that is absent or is the target.
    """
    if column is None:
        schema.group_column, schema.group_reason = (
            None,
            "rows are split independently (set by the user)",
        )
        return schema
    col = schema.column(column)
    if column in (schema.target, schema.time_column):
        raise UserError(
            f"'{column}' is the outcome; it cannot also group the records.",
            expected="a column that identifies the patient (for example patient_id)",
            fix="choose the patient identifier column",
        )
    values = frame[column]
    n_groups = int(values.nunique())
    repeated = int((values.value_counts() > 1).sum())
    schema.group_column = column
    how = "detected" if detected else "set by the user"
    schema.group_reason = (
        f"{how}: '{column}' identifies patients; {repeated} of its {n_groups} values have "
        "several rows, and each is kept wholly in train, validation or test"
    )
    if col.role == "feature":
        col.role = "excluded"
    if col.role == "excluded" and not col.leakage:
        col.reason = (
            "identifies the patient: used to keep each patient's rows in one part of the split"
        )
    return schema


def set_positive_class(schema: Schema, positive: str) -> Schema:
    """Make ``positive`` the class of concern of a binary (or survival) target.

    Accepts the class label ('1', 'malignant') case-insensitively. Returns the same schema.
    Raises UserError when the task is not binary or the class is unknown.
    """
    if schema.task not in ("binary", "survival"):
        raise UserError(
            f"A positive class was given, but the task is {schema.task or 'not set'}.",
            expected="a binary outcome (two classes)",
            fix="leave out the positive class, or choose a two-class target",
        )
    lowered = {c.lower(): c for c in schema.classes}
    chosen = lowered.get(str(positive).strip().lower())
    if chosen is None:
        raise UserError(
            f"'{positive}' is not a class of '{schema.target}'.",
            expected="one of: " + ", ".join(schema.classes),
            fix="pass one of those classes",
        )
    schema.positive_class = chosen
    return schema


def set_survival_target(
    schema: Schema, frame: pd.DataFrame, time_column: str, event_column: str
) -> Schema:
    """Make it a time-to-event task: ``time_column`` the follow-up time (positive numbers) and
    ``event_column`` whether the event happened (two values; the event is the positive class).

    Returns the same schema, changed. Raises UserError for a non-numeric or non-positive time, or an
    event column without exactly two values.
    """
    if time_column == event_column:
        raise UserError(
            f"'{time_column}' was chosen as both the time and the event.",
            expected="two different columns: the follow-up time and whether the event happened",
            fix="choose the event column (for example 'death' or 'status') separately",
        )
    time_info, event_info = schema.column(time_column), schema.column(event_column)
    times = pd.to_numeric(frame[time_column], errors="coerce")
    if times.notna().sum() < 0.98 * frame[time_column].notna().sum() or times.notna().sum() == 0:
        raise UserError(
            f"Time column '{time_column}' does not hold numbers.",
            expected="the follow-up time in days, months or years",
            fix="choose the column with the time to the event or to the last follow-up",
        )
    if (times.dropna() <= 0).any():
        raise UserError(
            f"Time column '{time_column}' has {int((times.dropna() <= 0).sum())} value(s) ≤ 0.",
            expected="positive follow-up times",
            fix="correct or remove records with a zero or negative time",
        )
    labels = target_labels(frame[event_column])
    classes = sorted(labels.dropna().unique().tolist(), key=_class_sort_key)
    if len(classes) != 2:
        raise UserError(
            f"Event column '{event_column}' has {len(classes)} distinct values.",
            expected="two values: event happened or censored (for example 1/0 or dead/alive)",
            fix="choose the column that says whether the event happened",
        )
    _reset_roles(schema, frame)
    time_info.role, time_info.reason = "target", "the follow-up time"
    event_info.role, event_info.reason = "target", "whether the event happened"
    schema.target, schema.time_column, schema.task = event_column, time_column, "survival"
    schema.classes = classes
    schema.positive_class = guess_positive_class(labels, classes)
    guard_leakage(schema, frame)
    return schema


def set_target(schema: Schema, frame: pd.DataFrame, target: str, task: str | None = None) -> Schema:
    """Make ``target`` the outcome column: detect (or check) the task, the classes and positive class.

    Returns the same schema, changed. Raises UserError when the target cannot be learned.
    """
    column = schema.column(target)
    schema.time_column = None
    _reset_roles(schema, frame)
    task = task or detect_task(frame[target], target)
    if task == "survival":
        raise UserError(
            f"Survival needs a follow-up time column as well as the event column '{target}'.",
            expected="the time and the event together",
            fix="choose the time column too (set_survival_target, or --time on the command line)",
        )
    if task not in TASKS:
        raise UserError(
            f"Task '{task}' is unknown.",
            expected="binary, multiclass or regression",
            fix="pick one of those",
        )
    column.role, column.reason = "target", "the outcome to predict"
    schema.target, schema.task = target, task
    if task == "regression":
        if _looks_numeric(_as_text(frame[target])) < 0.98:
            raise UserError(
                f"Target '{target}' holds text, but the task is regression.",
                expected="numbers for a regression target",
                fix="choose binary or multiclass for a categorical outcome",
            )
        schema.classes, schema.positive_class = [], None
    else:
        labels = target_labels(frame[target])
        classes = sorted(labels.dropna().unique().tolist(), key=_class_sort_key)
        if len(classes) < 2:
            raise UserError(
                f"Target '{target}' has {len(classes)} distinct value(s).",
                expected="at least two outcome classes",
                fix="choose the column that records the outcome",
            )
        if task == "binary" and len(classes) != 2:
            raise UserError(
                f"Target '{target}' has {len(classes)} classes, but the task is binary.",
                expected="exactly two classes for a binary task",
                fix="choose multiclass, or recode the outcome into two classes",
            )
        schema.classes = classes
        schema.positive_class = guess_positive_class(labels, classes) if task == "binary" else None
    guard_leakage(schema, frame)
    return schema


def _reset_roles(schema: Schema, frame: pd.DataFrame) -> None:
    """Undo what the previous target decided: its own role and the leakage flags it raised."""
    for col in schema.columns:
        if col.role == "target" or col.leakage:
            previous = infer_column(col.name, frame[col.name])
            col.role, col.reason, col.leakage = previous.role, previous.reason, ""


def guard_leakage(schema: Schema, frame: pd.DataFrame) -> list[Any]:
    """Leave out, with the reason, every column that may leak the target (dlcore.data.leakage).

    Columns already flagged keep a person's choice. Returns the LeakFlags raised.
    """
    from dlcore.data.leakage import find_leaks

    target = schema.target
    if not target or target not in frame.columns or not schema.task:
        return []
    labels = None
    if schema.task == "regression":
        y_all = pd.to_numeric(frame[target], errors="coerce").to_numpy(dtype=float)
        present = ~np.isnan(y_all)
        task = "regression"
    else:
        labels = target_labels(frame[target])
        present = labels.notna().to_numpy()
        if schema.task in ("binary", "survival"):
            y_all = (labels == schema.positive_class).to_numpy(dtype=float)
            task = "binary"
        else:
            index = {c: i for i, c in enumerate(schema.classes)}
            y_all = labels.map(lambda v: index.get(v, -1)).to_numpy(dtype=float)
            task = "multiclass"
    columns = []
    for col in schema.columns:
        if col.role == "target" or col.name not in frame.columns:
            continue
        usable = col.kind in FEATURE_KINDS and col.n_unique > 1
        categorical = col.kind == CATEGORICAL or (col.kind == BINARY and col.dtype == "text")
        columns.append((col.name, "categorical" if categorical else col.kind, usable))
    flags = find_leaks(frame, target, task, y_all[present], present, columns, labels)
    for flag in flags:
        col = schema.column(flag.column)
        col.leakage = flag.reason
        col.role, col.reason = "excluded", flag.reason
    return flags


def target_labels(series: pd.Series) -> pd.Series:
    """The target as text labels (1.0 becomes '1'), missing values kept as missing."""
    values = series.copy()
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        nonnull = values.dropna()
        if len(nonnull) and np.all(np.mod(nonnull.to_numpy(dtype=float), 1) == 0):
            return _labels(values, lambda v: str(int(v)))
    return _labels(values, lambda v: str(v).strip())


def _labels(values: pd.Series, text: Any) -> pd.Series:
    """``text(v)`` of each value as an object Series, missing values NaN (as ``map`` gives). A
    target has few distinct values: each is converted once and shared, not once per record (a
    million-record target made a million strings, issue 15)."""
    present = values.notna().to_numpy()
    # object columns may mix True and 1 (equal as keys, different as text): value by value
    distinct = None if values.dtype == object else pd.unique(values[present])
    if distinct is None or len(distinct) > 1000:  # or not a set of classes
        return values.map(lambda v: None if pd.isna(v) else text(v)).astype("object")
    codes = pd.Index(distinct).get_indexer(values)
    names = np.array([text(v) for v in distinct] + [np.nan], dtype=object)
    labels = names[np.where(present, codes, -1)]
    return pd.Series(labels, index=values.index, dtype="object", name=values.name)


def _class_sort_key(label: str) -> tuple[int, float | str]:
    try:
        return (0, float(label))
    except ValueError:
        return (1, label)


def guess_positive_class(labels: pd.Series, classes: list[str]) -> str:
    """The class a clinician would call positive, by meaning ('1', 'yes', 'malignant', 'died', or
    the other of 'normal'/'benign'/'alive'…), else the rarer one (dlcore.data.classes)."""
    counts = {str(k): int(v) for k, v in labels.value_counts().items()}
    return positive_by_meaning(classes, counts) or str(labels.value_counts().idxmin())


def detect_task(series: pd.Series, name: str = "target") -> str:
    """Return 'binary', 'multiclass' or 'regression' for an outcome column.

    Raises UserError when the column cannot be an outcome (empty, constant, free text).
    """
    nonnull = series.dropna()
    n_unique = int(nonnull.nunique())
    if n_unique < 2:
        raise UserError(
            f"Target '{name}' has {n_unique} distinct value(s).",
            expected="an outcome with at least two values",
            fix="choose the column that records the outcome",
        )
    if n_unique == 2:
        return "binary"
    numeric_share = (
        _looks_numeric(_as_text(series)) if not pd.api.types.is_numeric_dtype(series) else 1.0
    )
    if numeric_share >= 0.98:
        values = pd.to_numeric(nonnull, errors="coerce").dropna().to_numpy(dtype=float)
        integer_valued = bool(np.all(np.mod(values, 1) == 0))
        if integer_valued and n_unique <= 10:
            return "multiclass"
        return "regression"
    if n_unique <= MAX_CLASSES:
        return "multiclass"
    raise UserError(
        f"Target '{name}' holds text with {n_unique} distinct values.",
        expected=f"a numeric outcome, or at most {MAX_CLASSES} classes",
        fix="choose another target, or group its values into fewer classes",
    )


_TARGET_NAMES = (
    "target", "outcome", "label", "class", "diagnosis", "death_event", "death", "died", "mortality",
    "stroke", "disease", "y", "num", "response", "event", "status",
)  # fmt: skip


def suggest_target(frame: pd.DataFrame) -> str:
    """A likely outcome column: one named like an outcome, else the last column."""
    normalized = {normalize_name(c): str(c) for c in frame.columns}
    for candidate in _TARGET_NAMES:
        if candidate in normalized:
            return normalized[candidate]
    return str(frame.columns[-1])


_TIME_NAMES = (
    "time", "survival_time", "follow_up", "followup", "follow_up_time", "futime", "stime",
    "duration", "days", "months", "years", "survival", "os_time", "rfs_time", "time_to_event",
)  # fmt: skip


def suggest_time_column(frame: pd.DataFrame, exclude: str | None = None) -> str | None:
    """A likely follow-up time column for a survival task: named like one (time, futime,
    duration, days, …) and holding positive numbers; None when no column fits."""
    normalized = {normalize_name(c): str(c) for c in frame.columns if str(c) != exclude}
    for candidate in _TIME_NAMES:
        column = normalized.get(candidate)
        if column is None:
            continue
        times = pd.to_numeric(frame[column], errors="coerce").dropna()
        if len(times) and (times > 0).all():
            return column
    return None


def update_columns(
    schema: Schema,
    *,
    kinds: dict[str, str] | None = None,
    included: dict[str, bool] | None = None,
    frame: pd.DataFrame | None = None,
) -> Schema:
    """Apply a person's choices: change column kinds and include or exclude columns.

    Identifier-like columns are left out by default; asking to include one is insisting, and with
    ``frame`` given it becomes numeric or categorical as its values allow. Returns the same schema,
    changed. Raises UserError for an unknown kind or a column that cannot be a model input.
    """
    for name, kind in (kinds or {}).items():
        if kind not in KINDS:
            raise UserError(
                f"Kind '{kind}' for column '{name}' is unknown.",
                expected="one of " + ", ".join(KINDS),
                fix="pick one of those kinds",
            )
        col = schema.column(name)
        col.kind = kind
        if (
            kind in FEATURE_KINDS
            and col.role == "excluded"
            and col.reason.startswith(("dates", "the column name", "free"))
        ):
            col.reason = ""
    for name, include in (included or {}).items():
        col = schema.column(name)
        if col.role == "target":
            continue
        if include:
            if col.kind == IDENTIFIER and frame is not None and name in frame.columns:
                col.kind = _usable_kind(name, frame[name])
                col.reason = "identifier-like, included at the user's request"
            if col.kind not in (*FEATURE_KINDS, MOLECULE):
                raise UserError(
                    f"Column '{name}' is of kind '{col.kind}', which cannot be a model input.",
                    expected="numeric, binary or categorical for a feature",
                    fix="change its kind first (for example to categorical), or leave it out",
                )
            if col.n_unique <= 1:
                raise UserError(
                    f"Column '{name}' has the same value on every row.",
                    expected="a column that varies",
                    fix="leave it out",
                )
            if col.role != "feature" and col.leakage:
                col.role = "feature"
                col.reason = f"included at the user's request despite {col.leakage}"
            elif col.role != "feature":
                col.role, col.reason = "feature", "included by the user" if col.reason else ""
        else:
            col.role = "excluded"
            col.reason = col.reason or "excluded by the user"
    return schema


def _usable_kind(name: str, series: pd.Series) -> str:
    """The feature kind an identifier-like column can take: numeric, or categorical if few values."""
    text = _as_text(series)
    if pd.api.types.is_numeric_dtype(series) or _looks_numeric(text) >= 0.98:
        return NUMERIC
    if text.nunique() <= MAX_CATEGORIES:
        return CATEGORICAL
    raise UserError(
        f"Column '{name}' has {text.nunique()} distinct text values.",
        expected=f"numbers, or at most {MAX_CATEGORIES} categories, for a model input",
        fix="leave it out: a network cannot learn from a value that differs on almost every row",
    )


def check_features(schema: Schema) -> None:
    """Raise UserError unless the schema has a target and at least one feature."""
    if not schema.target:
        raise UserError(
            "No target column is chosen.",
            expected="the outcome column to predict",
            fix="choose the target column",
        )
    if not schema.features:
        dropped = [
            f"'{c.name}' ({c.reason or c.kind})" for c in schema.columns if c.role == "excluded"
        ]
        shown = "; ".join(dropped[:12]) + (
            f"; and {len(dropped) - 12} more" if len(dropped) > 12 else ""
        )
        raise UserError(
            "No column is left as a feature" + (f". Left out: {shown}." if dropped else "."),
            expected="at least one numeric, binary or categorical input column",
            fix="include a column that is known before the outcome (--include COL, or tick it on "
            "the Data page), or change its kind",
        )
