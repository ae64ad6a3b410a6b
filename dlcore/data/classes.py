"""The positive class by meaning, and names for numbered classes.

A binary outcome's positive class — the outcome of concern, drawn in red and named in "Probability
of …" — is chosen by what the labels mean, never by alphabetical order:

1. a label that names the event or the finding: ``1`` (against ``0``), yes, true, positive, present, disease,
   malignant, died/dead/death, event, case, abnormal, pneumonia, COVID, tumour, cancer, …;
2. else the other label when one names the absence of it: ``0``, no, false, negative, absent,
   normal, healthy, benign, alive, survived, control, other, none;
3. else the rarer class (the last in order when the counts tie or are unknown); two numbers other
   than 0 and 1 (1 and 2) say nothing by themselves and go by the counts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from dlcore.errors import UserError

POSITIVE_WORDS = (
    "1", "yes", "y", "true", "t", "positive", "pos", "present", "disease", "diseased",
    "malignant", "malignancy", "cancer", "tumor", "tumour", "lesion", "died", "dead", "death",
    "deceased", "event", "case", "cases", "abnormal", "sick", "ill", "stroke", "diabetic",
    "diabetes", "pneumonia", "covid", "covid19", "covid_19", "sars_cov_2", "infected", "infection",
    "fracture", "fractured", "pathological", "relapse", "recurrence", "failure", "readmitted",
)  # fmt: skip
NEGATIVE_WORDS = (
    "0", "no", "n", "false", "f", "negative", "neg", "absent", "none", "normal", "healthy",
    "benign", "alive", "survived", "survivor", "control", "controls", "other", "others", "rest",
    "not", "non", "without", "clear", "unremarkable",
)  # fmt: skip


def _token(label: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(label).strip().lower()).strip("_")


_NEGATING_PARTS = (
    "no", "non", "not", "without", "negative", "neg", "absent", "free", "normal", "benign",
    "healthy", "alive", "survived", "control",
)  # fmt: skip


def meaning(label: str) -> int:
    """+1 when a label names the event or finding, -1 when it names its absence, else 0."""
    token = _token(label)
    if token in NEGATIVE_WORDS:
        return -1
    if token in POSITIVE_WORDS:
        return 1
    parts = token.split("_")
    if any(p in _NEGATING_PARTS for p in parts):  # 'no_disease', 'non_covid', 'covid_negative'
        return -1
    if any(p in POSITIVE_WORDS and p not in ("1", "t", "y") for p in parts):
        return 1
    return 0


def positive_by_meaning(
    classes: Sequence[str], counts: Mapping[str, int] | None = None
) -> str | None:
    """The class of concern of two classes (module docstring rules); None unless two classes."""
    if len(classes) != 2:
        return None
    a, b = (str(c) for c in classes)
    ma, mb = meaning(a), meaning(b)
    numbers = all(re.fullmatch(r"-?\d+(\.\d+)?", c) for c in (a, b))
    if numbers and {a, b} != {"0", "1"}:
        ma = mb = 0  # 1 vs 2 (statlog's absent/present): the numbers say nothing by themselves
    if ma != mb:
        if 1 in (ma, mb):
            return a if ma == 1 else b
        return b if ma == -1 else a
    if counts:
        ca, cb = int(counts.get(a, 0)), int(counts.get(b, 0))
        if ca != cb:
            return a if ca < cb else b
    return b


def parse_class_names(text: str | Mapping[int | str, str] | Sequence[str]) -> dict[int, str]:
    """Names for numbered labels: '0=malignant,1=benign', a mapping, or a list in label order.

    Returns {label number: name}. Raises UserError for a malformed text or repeated names.
    """
    if isinstance(text, str):
        pairs: dict[int, str] = {}
        for part in (p.strip() for p in text.split(",") if p.strip()):
            key, sep, name = part.partition("=")
            if not sep or not key.strip().lstrip("-").isdigit() or not name.strip():
                raise UserError(
                    f"Class names '{text}' could not be read.",
                    expected="label=name pairs separated by commas, such as 0=malignant,1=benign",
                    fix="write each label number, an equals sign and its name",
                )
            pairs[int(key)] = name.strip()
    elif isinstance(text, Mapping):
        pairs = {int(k): str(v).strip() for k, v in text.items()}
    else:
        pairs = {i: str(v).strip() for i, v in enumerate(text)}
    if len(set(pairs.values())) < len(pairs):
        raise UserError(
            "Two labels were given the same class name.",
            expected="a different name for each label",
            fix="give each label its own name",
        )
    return pairs


def name_classes(classes: Sequence[str], names: Mapping[int, str]) -> list[str]:
    """``classes`` (numbered labels '0', '1', …) with the given names put in; the rest unchanged.

    Raises UserError when a name is given for a label the data does not have.
    """
    known = {str(c): i for i, c in enumerate(classes)}
    unknown = [k for k in names if str(k) not in known]
    if unknown:
        raise UserError(
            f"Names were given for label(s) {', '.join(map(str, unknown))}, which the data does not have.",
            expected="names for the labels " + ", ".join(map(str, classes)),
            fix="name only the labels that occur",
        )
    out = list(map(str, classes))
    for label, name in names.items():
        out[known[str(label)]] = name
    if len(set(out)) < len(out):
        raise UserError(
            "A class name is the same as another label.",
            expected="distinct class names",
            fix="choose names that differ from the other labels",
        )
    return out


def apply_class_names(
    dataset: object, names: str | Mapping[int | str, str] | Sequence[str]
) -> None:
    """Name the numbered classes of an image dataset (an .npz's 0/1 labels) in place, and choose
    its positive class again by meaning. Raises UserError for names that do not fit the labels."""
    import numpy as np

    classes = name_classes(list(dataset.classes), parse_class_names(names))  # type: ignore[attr-defined]
    labels = getattr(dataset, "labels", None)
    counts = None
    if labels is not None:
        found = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(classes))
        counts = {c: int(found[i]) for i, c in enumerate(classes)}
    dataset.classes = classes  # type: ignore[attr-defined]
    dataset.positive_class = positive_by_meaning(classes, counts)  # type: ignore[attr-defined]


def choose_positive(classes: Sequence[str], positive: str) -> str:
    """The class of ``classes`` called ``positive`` (case-insensitive). Raises UserError if absent."""
    lowered = {str(c).lower(): str(c) for c in classes}
    chosen = lowered.get(str(positive).strip().lower())
    if chosen is None or len(classes) != 2:
        raise UserError(
            f"'{positive}' cannot be the positive class.",
            expected="one of two classes: " + ", ".join(map(str, classes)),
            fix="pass one of those classes",
        )
    return chosen
