"""Clinician review sessions: a model's predictions on a set of cases, reviewed case by case.

A trainer creates a session from a model and cases (rows of a saved dataset, or images). Each
case keeps the model's (recalibrated) probability, its decision at the operating threshold and,
for records, the plain-language SHAP summary. Each clinician works through a queue, agrees or
disagrees (with their own label), gives a confidence and a note, and can stop and come back
where they left off. The summary gives agreement, Cohen's kappa between model and reviewers and
between reviewers, and the disagreements with their notes.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from dlcore.errors import NotFoundError, UserError
from dlcore.fsutil import new_id
from dlcore.store import ReviewCaseRow, ReviewDecisionRow, ReviewSessionRow, get_store, utcnow

logger = logging.getLogger(__name__)
MAX_CASES = 500


@dataclass
class ReviewSession:
    """A review session as pages show it."""

    id: str
    name: str
    instructions: str
    model_id: str
    model_version: int
    model_name: str
    dataset_id: str
    kind: str
    threshold: float
    show_identifiers: bool
    created_by: str
    created: Any
    n_cases: int
    closed: bool


def _session(row: ReviewSessionRow, n_cases: int) -> ReviewSession:
    return ReviewSession(
        row.id,
        row.name,
        row.instructions,
        row.model_id,
        row.model_version,
        row.model_name,
        row.dataset_id,
        row.kind,
        row.threshold,
        row.show_identifiers,
        row.created_by,
        row.created,
        n_cases,
        row.closed,
    )


def create_review_session(
    name: str,
    model_id: str,
    dataset_id: str,
    positions: list[int],
    *,
    created_by: str,
    instructions: str = "",
    show_identifiers: bool = False,
) -> str:
    """Create a session over the records (or images) at ``positions`` of a saved dataset.

    Predictions are computed now with the model's recalibration and operating threshold, so every
    reviewer sees the same thing. Raises UserError for an empty name, no cases, too many cases, or
    positions outside the dataset; NotFoundError for an unknown model or dataset.
    """
    from dlcore.data.catalog import load_dataset
    from dlcore.registry import load_model

    name = (name or "").strip()
    if not name:
        raise UserError(
            "The session has no name.",
            expected="a short name",
            fix="type a name for the review session",
        )
    positions = [int(p) for p in dict.fromkeys(positions)]
    if not positions:
        raise UserError(
            "No cases were chosen.",
            expected="at least one case",
            fix="choose the records or images to review",
        )
    if len(positions) > MAX_CASES:
        raise UserError(
            f"{len(positions)} cases were chosen.",
            expected=f"at most {MAX_CASES} per session",
            fix="split them into several sessions",
        )
    loaded = load_model(model_id)
    dataset = load_dataset(dataset_id)
    size = len(dataset.images) if dataset.kind == "images" else len(dataset.frame)
    bad = [p for p in positions if not 0 <= p < size]
    if bad:
        raise UserError(
            f"Case number(s) {bad[:5]} are outside the dataset.",
            expected=f"numbers from 0 to {size - 1}",
            fix="choose cases that exist",
        )
    if loaded.layout.task == "regression":
        raise UserError(
            "Review sessions are for classification models.",
            expected="a binary or multiclass model",
            fix="choose a classification model",
        )
    probabilities, decisions, summaries = _predict_cases(loaded, dataset, positions)
    session_id = new_id("r")
    with get_store().session() as session:
        session.add(
            ReviewSessionRow(
                id=session_id,
                name=name[:200],
                instructions=(instructions or "")[:5000],
                model_id=model_id,
                model_version=loaded.version,
                model_name=loaded.name,
                dataset_id=dataset_id,
                kind="image" if dataset.kind == "images" else "tabular",
                threshold=loaded.threshold,
                show_identifiers=bool(show_identifiers),
                created_by=created_by,
            )
        )
        session.flush()  # the session row first: cases refer to it
        for i, position in enumerate(positions):
            session.add(
                ReviewCaseRow(
                    session_id=session_id,
                    position=i,
                    record_index=str(position),
                    probability=float(probabilities[i]),
                    prediction=decisions[i],
                    summary=summaries[i],
                )
            )
        session.commit()
    logger.info("created review session %s with %d cases", session_id, len(positions))
    return session_id


def _predict_cases(
    loaded: Any, dataset: Any, positions: list[int]
) -> tuple[np.ndarray, list[str], list[str]]:
    from dlcore.models.tabular import run_model

    layout = loaded.layout
    if dataset.kind == "images":
        output = run_model(loaded.model, layout.inputs(dataset.images[positions]))
        summaries = [""] * len(positions)
    else:
        from dlcore.explain.summary import on_shown_probability, summarize
        from dlcore.explain.tabular import TabularExplainer
        from dlcore.predict import check_records

        records = dataset.frame.iloc[positions]
        features, _ = check_records(layout, records)
        output = run_model(loaded.model, layout.inputs(features))
        background = loaded.background()
        if getattr(layout, "molecule_features", []):
            summaries = _molecule_summaries(loaded, records, features, background)
        else:
            explainer = TabularExplainer(
                loaded.model, layout, background if background is not None else records
            )
            explanation = on_shown_probability(explainer.explain(records), loaded.recalibrator)
            summaries = [summarize(explanation, i) for i in range(len(positions))]
    probabilities = np.asarray(loaded.recalibrator.apply(output)).reshape(output.shape)
    if layout.task == "binary":
        negative = next((c for c in layout.classes if c != layout.positive_class), "other")
        p = probabilities[:, 0]
        decisions = [layout.positive_class if v >= loaded.threshold else negative for v in p]
        return p, decisions, summaries
    best = probabilities.argmax(axis=1)
    return probabilities.max(axis=1), [layout.classes[k] for k in best], summaries


def _molecule_summaries(loaded: Any, records: Any, features: Any, background: Any) -> list[str]:
    """Per record: the molecule explanation's first sentences (per atom and group), or why the
    molecule could not be read (its prediction is then not to be trusted)."""
    from dlcore.explain.molecules import MoleculeExplainer

    layout = loaded.layout
    column = layout.molecule_features[0].name
    explainer = MoleculeExplainer(
        loaded.model, layout, background if background is not None else records
    )
    summaries = []
    for i in range(len(records)):
        if features[column].iloc[i] == "":
            summaries.append(f"The molecule in '{column}' could not be read: no explanation.")
            continue
        explanation = explainer.explain(records.iloc[[i]])[0]
        summaries.append(" ".join(explanation.summary()[:3]))
    return summaries


def list_review_sessions(include_closed: bool = False) -> list[ReviewSession]:
    """Review sessions, newest first."""
    with get_store().session() as session:
        query = select(ReviewSessionRow).order_by(ReviewSessionRow.created.desc())
        if not include_closed:
            query = query.where(ReviewSessionRow.closed.is_(False))
        rows = session.scalars(query).all()
        counts = dict(
            session.execute(
                select(ReviewCaseRow.session_id, func.count()).group_by(ReviewCaseRow.session_id)
            ).all()
        )
    return [_session(r, int(counts.get(r.id, 0))) for r in rows]


def _session_row(session: Any, session_id: str) -> ReviewSessionRow:
    row = session.get(ReviewSessionRow, session_id)
    if row is None:
        raise NotFoundError(
            f"There is no review session '{session_id}'.",
            expected="an existing session",
            fix="pick one from the list",
        )
    return row


def get_review_session(session_id: str) -> ReviewSession:
    """One review session. Raises NotFoundError."""
    with get_store().session() as session:
        row = _session_row(session, session_id)
        n = session.scalar(
            select(func.count())
            .select_from(ReviewCaseRow)
            .where(ReviewCaseRow.session_id == session_id)
        )
        return _session(row, int(n or 0))


def review_cases(session_id: str) -> pd.DataFrame:
    """The session's cases in order: case id, position, record index, probability, prediction, summary."""
    with get_store().session() as session:
        rows = session.scalars(
            select(ReviewCaseRow)
            .where(ReviewCaseRow.session_id == session_id)
            .order_by(ReviewCaseRow.position)
        ).all()
    return pd.DataFrame(
        [
            {
                "case_id": r.id,
                "position": r.position,
                "record_index": int(r.record_index),
                "probability": r.probability,
                "prediction": r.prediction,
                "summary": r.summary,
            }
            for r in rows
        ],
        columns=["case_id", "position", "record_index", "probability", "prediction", "summary"],
    )


def reviewer_decisions(session_id: str, reviewer: str | None = None) -> pd.DataFrame:
    """Decisions so far (one per reviewer and case), optionally for one reviewer."""
    query = select(ReviewDecisionRow).where(ReviewDecisionRow.session_id == session_id)
    if reviewer:
        query = query.where(ReviewDecisionRow.reviewer == reviewer)
    with get_store().session() as session:
        rows = session.scalars(query.order_by(ReviewDecisionRow.id)).all()
    return pd.DataFrame(
        [
            {
                "case_id": r.case_id,
                "reviewer": r.reviewer,
                "agree": r.agree,
                "label": r.label,
                "confidence": r.confidence,
                "note": r.note,
                "updated": r.updated,
            }
            for r in rows
        ],
        columns=["case_id", "reviewer", "agree", "label", "confidence", "note", "updated"],
    )


def next_position(session_id: str, reviewer: str) -> int | None:
    """Where ``reviewer`` resumes: the first case without their decision (None when all are done)."""
    cases = review_cases(session_id)
    done = set(reviewer_decisions(session_id, reviewer)["case_id"])
    for case in cases.itertuples():
        if case.case_id not in done:
            return int(case.position)
    return None


def parse_case_list(text: str) -> list[int]:
    """'3, 8, 12-20' → [3, 8, 12, …, 20] in the order typed, without repeats.

    Raises UserError for a word that is neither a row number nor a range, or a range that is
    backwards or longer than MAX_CASES.
    """
    numbers: list[int] = []
    for part in re.split(r"[,;\s]+", re.sub(r"\s*[-–]\s*", "-", text or "")):
        if not part:
            continue
        span = re.fullmatch(r"([0-9]+)-([0-9]+)", part)
        if span:
            low, high = int(span.group(1)), int(span.group(2))
            if low > high or high - low >= MAX_CASES:
                raise UserError(
                    f"The range '{part}' is backwards or longer than {MAX_CASES} rows.",
                    expected="a range from a smaller to a larger row number, such as 12-20",
                    fix="write the smaller number first, or split a long range into sessions",
                )
            numbers.extend(range(low, high + 1))
        elif re.fullmatch(r"[0-9]+", part):
            numbers.append(int(part))
        else:
            raise UserError(
                f"'{part[:40]}' in the list of cases is not a row number or a range.",
                expected="row numbers and ranges separated by commas, such as 3, 8, 12-20",
                fix="type only numbers, commas and dashes",
            )
    return list(dict.fromkeys(numbers))


def sample_cases(size: int, n: int, seed: int = 0) -> list[int]:
    """``n`` distinct row numbers out of ``size``, drawn with ``seed``, in ascending order."""
    rng = np.random.default_rng(int(seed))
    return sorted(int(p) for p in rng.choice(int(size), min(int(n), int(size)), replace=False))


@dataclass
class ReviewQueue:
    """One reviewer's place in a session: the cases, their decisions by case id, and the
    positions still undecided (in order)."""

    cases: pd.DataFrame
    decided: dict[int, dict[str, Any]]
    undecided: list[int]

    @property
    def n(self) -> int:
        """The number of cases in the session."""
        return len(self.cases)

    def clamp(self, position: int) -> int:
        """``position`` kept within the session's cases."""
        return min(max(int(position), 0), max(self.n - 1, 0))

    def first_undecided(self) -> int | None:
        """The first position without a decision, None when all are decided."""
        return self.undecided[0] if self.undecided else None

    def after_decision(self, position: int) -> int:
        """Where to go once ``position`` is decided: the next undecided case after it, else the
        first undecided one before it, else simply the next case (the last one stays)."""
        remaining = [p for p in self.undecided if p != position]
        later = [p for p in remaining if p > position]
        if later:
            return later[0]
        if remaining:
            return remaining[0]
        return self.clamp(position + 1)


def review_queue(session_id: str, reviewer: str) -> ReviewQueue:
    """``reviewer``'s queue in a session: the cases, their own decisions and what is left."""
    cases = review_cases(session_id)
    mine = reviewer_decisions(session_id, reviewer)
    decided = {int(r.case_id): r._asdict() for r in mine.itertuples(index=False)}
    undecided = [int(c.position) for c in cases.itertuples() if int(c.case_id) not in decided]
    return ReviewQueue(cases, decided, undecided)


def record_decision(
    session_id: str,
    case_id: int,
    reviewer: str,
    *,
    agree: bool,
    label: str | None = None,
    confidence: int = 3,
    note: str = "",
) -> int:
    """Save (or replace) a reviewer's decision on one case; returns the decision id.

    Agreeing takes the model's label; disagreeing needs the reviewer's own, different label.
    Raises UserError for a closed session, a label that is not a class, or confidence outside 1–5.
    """
    from dlcore.registry import get_card

    review = get_review_session(session_id)
    if review.closed:
        raise UserError(
            "This review session is closed.",
            expected="an open session",
            fix="ask the trainer to reopen it",
        )
    classes = get_card(review.model_id)["layout"].get("classes", [])
    if not 1 <= int(confidence) <= 5:
        raise UserError(
            f"Confidence {confidence}.",
            expected="1 (unsure) to 5 (certain)",
            fix="pick a confidence from 1 to 5",
        )
    # One row per (session, case, reviewer), enforced by a unique constraint: when two requests
    # race, the second insert fails and is retried as an update of the first one's row.
    for _attempt in range(5):
        try:
            with get_store().session() as session:
                case = session.get(ReviewCaseRow, int(case_id))
                if case is None or case.session_id != session_id:
                    raise NotFoundError(
                        f"There is no case {case_id} in this session.",
                        expected="a case of the session",
                        fix="reload the queue",
                    )
                final_label = case.prediction if agree else (label or "")
                if not agree and (final_label not in classes or final_label == case.prediction):
                    raise UserError(
                        f"Disagreeing with '{case.prediction}' needs your own label; received '{final_label}'.",
                        expected="one of the other classes: "
                        + ", ".join(c for c in classes if c != case.prediction),
                        fix="choose the label you would give",
                    )
                row = session.scalar(
                    select(ReviewDecisionRow).where(
                        ReviewDecisionRow.case_id == case.id,
                        ReviewDecisionRow.reviewer == reviewer,
                    )
                )
                if row is None:
                    row = ReviewDecisionRow(
                        session_id=session_id,
                        case_id=case.id,
                        reviewer=reviewer,
                        agree=bool(agree),
                        label=final_label,
                    )
                    session.add(row)
                row.agree, row.label, row.confidence, row.note, row.updated = (
                    bool(agree),
                    final_label,
                    int(confidence),
                    (note or "")[:5000],
                    utcnow(),
                )
                session.commit()
                return int(row.id)
        except IntegrityError:
            continue
    raise RuntimeError("the decision could not be saved (concurrent writes kept colliding)")


def close_review_session(session_id: str, closed: bool = True) -> None:
    """Close (or reopen) a session: closed sessions take no more decisions."""
    with get_store().session() as session:
        row = _session_row(session, session_id)
        row.closed = closed
        session.commit()


@dataclass
class ReviewSummary:
    """Agreement with the model and between reviewers, and the disagreements."""

    per_reviewer: pd.DataFrame
    between_reviewers: pd.DataFrame
    disagreements: pd.DataFrame
    decisions: pd.DataFrame
    notes: list[str] = field(default_factory=list)


# Said instead of a kappa that cannot mean anything (Cohen's kappa is 0 whenever one side gives
# every case the same class, however often the other agrees).
SAME_CLASS_NOTE = "kappa is not informative: the model gave every case the same class"


def _kappa(a: list[str], b: list[str]) -> float:
    from sklearn.metrics import cohen_kappa_score

    if len(a) < 2:
        return float("nan")
    if len(set(a) | set(b)) < 2:
        return 1.0  # both always said the same single label
    return float(cohen_kappa_score(a, b))


def review_summary(session_id: str) -> ReviewSummary:
    """Per reviewer: cases decided, agreement rate with the model and Cohen's kappa (model vs
    reviewer); per pair of reviewers: shared cases, agreement and kappa; the disagreements with
    their notes; and every decision joined with its case (for CSV export)."""
    cases = review_cases(session_id)
    decisions = reviewer_decisions(session_id)
    merged = decisions.merge(cases, on="case_id", how="left")
    per_reviewer = []
    notes: list[str] = []
    for reviewer, group in merged.groupby("reviewer", sort=True):
        constant = group["prediction"].nunique() == 1 and len(group) >= 2
        if constant and group["label"].nunique() > 1:
            note = (
                f"{SAME_CLASS_NOTE} ('{group['prediction'].iloc[0]}') among the cases "
                f"{reviewer} decided"
            )
            if note not in notes:
                notes.append(note)
        per_reviewer.append(
            {
                "reviewer": reviewer,
                "cases decided": len(group),
                "of": len(cases),
                "agreement with model": float(group["agree"].mean()),
                "kappa (model vs reviewer)": float("nan")
                if constant and group["label"].nunique() > 1
                else _kappa(list(group["prediction"]), list(group["label"])),
                "mean confidence": float(group["confidence"].mean()),
            }
        )
    pairs = []
    reviewers = sorted(merged["reviewer"].unique()) if len(merged) else []
    for i, first in enumerate(reviewers):
        for second in reviewers[i + 1 :]:
            a = merged[merged.reviewer == first].set_index("case_id")["label"]
            b = merged[merged.reviewer == second].set_index("case_id")["label"]
            shared = a.index.intersection(b.index)
            pairs.append(
                {
                    "reviewers": f"{first} / {second}",
                    "shared cases": len(shared),
                    "agreement": float((a[shared] == b[shared]).mean())
                    if len(shared)
                    else float("nan"),
                    "kappa": _kappa(list(a[shared]), list(b[shared])),
                }
            )
    # Case numbers as the reviewers see them (1-based, in the UI, the CSV and the audit trail);
    # the dataset row as the session was created with it (rows counted from 0).
    merged = merged.assign(case=merged["position"] + 1).rename(
        columns={"record_index": "dataset row (from 0)"}
    )
    disagreements = merged[~merged["agree"].astype(bool)][
        [
            "case",
            "dataset row (from 0)",
            "prediction",
            "probability",
            "reviewer",
            "label",
            "confidence",
            "note",
        ]
    ].rename(columns={"prediction": "model said", "label": "reviewer said"})
    export = merged[
        [
            "case",
            "dataset row (from 0)",
            "prediction",
            "probability",
            "reviewer",
            "agree",
            "label",
            "confidence",
            "note",
            "updated",
        ]
    ]
    return ReviewSummary(
        pd.DataFrame(
            per_reviewer,
            columns=[
                "reviewer",
                "cases decided",
                "of",
                "agreement with model",
                "kappa (model vs reviewer)",
                "mean confidence",
            ],
        ),
        pd.DataFrame(pairs, columns=["reviewers", "shared cases", "agreement", "kappa"]),
        disagreements.sort_values("case").reset_index(drop=True),
        export.sort_values(["case", "reviewer"]).reset_index(drop=True),
        notes,
    )


def case_view(review: ReviewSession, record_index: int) -> Any:
    """What a reviewer sees of one case: the record (identifier-like columns hidden unless the
    session allows them) as a one-row frame, or the image array."""
    from dlcore.data.catalog import load_dataset

    dataset = load_dataset(review.dataset_id)
    if dataset.kind == "images":
        return dataset.images[record_index]
    record = dataset.frame.iloc[[record_index]]
    if not review.show_identifiers:
        hidden = [
            c.name
            for c in dataset.schema.columns
            if c.kind == "identifier" and c.name in record.columns
        ]
        record = record.drop(columns=hidden)
    if dataset.schema.target and dataset.schema.target in record.columns:
        record = record.drop(columns=[dataset.schema.target])  # reviewers judge without the outcome
    return record
