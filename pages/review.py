"""Review: clinicians work through a session's cases, agree or disagree with the model and say
why, and come back where they stopped; trainers create sessions and read the agreement summary."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from dlcore.data.catalog import list_datasets
from dlcore.evaluate.calibration import Recalibrator
from dlcore.governance.accounts import Account, may
from dlcore.governance.review import (
    MAX_CASES,
    ReviewSession,
    close_review_session,
    create_review_session,
    get_review_session,
    list_review_sessions,
    parse_case_list,
    record_decision,
    review_queue,
    reviewer_decisions,
    sample_cases,
)
from dlcore.plots.explain import overlay_heatmap
from dlcore.registry import get_card, list_models
from dlcore.report.wording import number_text, percent_text
from ui import cache
from ui.auth import log, require_page
from ui.common import guard
from ui.images import displayable
from ui.review_summary import summary_section

CHOICE = "review_session_choice"
PENDING = "review_session_pending"
FLASH = "review_flash"
RANGE, SAMPLE, LIST = "A range of rows", "A random sample", "A list"
CONFIDENCE = {1: "1 · unsure", 2: "2", 3: "3", 4: "4", 5: "5 · certain"}
AGREE, DISAGREE = "Agree", "Disagree"
METHOD_TITLES = {"grad-cam": "Grad-CAM", "saliency": "Gradient saliency", "shap": "SHAP"}
SHOWN_WIDTH = 280


def choose_cases(size: int, key: str) -> list[int]:
    """The rows (or images) of a dataset of ``size`` to review: a range, a sample or a list."""
    how = st.radio("Cases", [RANGE, SAMPLE, LIST], horizontal=True, key=f"review_how_{key}")
    if how == RANGE:
        c1, c2 = st.columns(2)
        first = c1.number_input("From row", 0, size - 1, 0, key=f"review_from_{key}")
        last = c2.number_input("To row", 0, size - 1, min(19, size - 1), key=f"review_to_{key}")
        return list(range(int(first), int(last) + 1))
    if how == SAMPLE:
        c1, c2 = st.columns(2)
        n = c1.number_input(
            "Number of cases", 1, min(MAX_CASES, size), min(20, size), key=f"review_n_{key}"
        )
        seed = c2.number_input("Seed", 0, 2**31 - 1, 0, key=f"review_seed_{key}")
        return sample_cases(size, int(n), int(seed))
    text = st.text_input(
        "Rows", placeholder="3, 8, 12-20", key=f"review_list_{key}", max_chars=2000
    )
    with guard("Reading the list of cases"):
        return parse_case_list(text)
    return []


def create_section(account: Account) -> None:
    """Name, model, dataset, cases, instructions → a new session (and its audit row)."""
    st.subheader("Create a review session")
    models = [m for m in list_models() if m.task in ("binary", "multiclass")]
    if not models:
        st.info(
            "Review sessions need a classification model. Train one on the Train page.",
            icon=":material/info:",
        )
        return
    labels = {m.id: f"{m.name} (v{m.version}, {m.task})" for m in models}
    kinds = {m.id: m.kind for m in models}
    c1, c2 = st.columns(2)
    name = c1.text_input("Session name", max_chars=200, key="review_new_name")
    model_id = c2.selectbox(
        "Model", list(labels), format_func=labels.__getitem__, key="review_new_model"
    )
    wanted = "images" if kinds[model_id] == "image" else "table"
    datasets = [d for d in list_datasets() if d.kind == wanted]
    if not datasets:
        st.info(
            f"There is no saved {'image set' if wanted == 'images' else 'table'} for this model. "
            "Save one on the Data page.",
            icon=":material/info:",
        )
        return
    own = get_card(model_id).get("dataset", {}).get("id")
    datasets.sort(key=lambda d: d.id != own)  # the model's own dataset first
    unit = "images" if wanted == "images" else "rows"
    names = {d.id: f"{d.name} · {d.rows:,} {unit}" for d in datasets}
    dataset_id = st.selectbox(
        "Dataset", list(names), format_func=names.__getitem__, key=f"review_new_dataset_{model_id}"
    )
    size = next(d.rows for d in datasets if d.id == dataset_id)
    positions = choose_cases(size, dataset_id)
    shown = ", ".join(str(p) for p in positions[:12]) + (" …" if len(positions) > 12 else "")
    st.caption(
        f"{len(positions)} case(s){': ' + shown if positions else ''}. "
        f"{'Images' if wanted == 'images' else 'Rows'} are numbered from 0, as in the dataset."
    )
    instructions = st.text_area(
        "Instructions for the reviewers",
        placeholder="What to look for, and what to do when unsure.",
        max_chars=5000,
        key="review_new_instructions",
    )
    show_identifiers = st.checkbox(
        "Show identifier columns to reviewers",
        value=False,
        disabled=wanted == "images",
        key="review_new_identifiers",
        help="Columns that look like names, record numbers, dates of birth, phone numbers or "
        "e-mail addresses are hidden from reviewers unless you tick this.",
    )
    if st.button("Create the session", type="primary", icon=":material/add_task:"):
        with guard("Creating the review session"), st.spinner("Scoring and explaining the cases…"):
            session_id = create_review_session(
                name,
                model_id,
                dataset_id,
                positions,
                created_by=account.username,
                instructions=instructions,
                show_identifiers=show_identifiers,
            )
            review = get_review_session(session_id)
            log(
                "review_create",
                object_type="review_session",
                object_id=session_id,
                model_id=review.model_id,
                model_version=review.model_version,
                detail={"n": review.n_cases},
            )
            st.session_state[PENDING] = session_id
            st.session_state[FLASH] = f"Created the session with {review.n_cases} cases."
            st.rerun()


def sessions_section() -> None:
    """Every session (open and closed) and the close / reopen switch."""
    st.subheader("Sessions")
    sessions = list_review_sessions(include_closed=True)
    if not sessions:
        st.caption("No review sessions yet.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "session": s.name,
                    "model": f"{s.model_name} v{s.model_version}",
                    "cases": s.n_cases,
                    "decisions": len(reviewer_decisions(s.id)),
                    "threshold": s.threshold,
                    "identifiers shown": s.show_identifiers,
                    "created by": s.created_by,
                    "created (UTC)": s.created,
                    "status": "closed" if s.closed else "open",
                }
                for s in sessions
            ]
        ),
        hide_index=True,
        column_config={"threshold": st.column_config.NumberColumn(format="%.2f")},
    )
    labels = {s.id: f"{s.name} ({'closed' if s.closed else 'open'})" for s in sessions}
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    chosen = c1.selectbox(
        "Session", list(labels), format_func=labels.__getitem__, key="review_manage_session"
    )
    closed = next(s.closed for s in sessions if s.id == chosen)
    if c2.button(
        "Reopen session" if closed else "Close session",
        icon=":material/lock_open:" if closed else ":material/lock:",
    ):
        with guard("Changing the session"):
            close_review_session(chosen, closed=not closed)
            st.rerun()
    st.caption("A closed session takes no more decisions; its summary stays.")


def move_to(state_key: str, position: int) -> None:
    st.session_state[state_key] = position


def show_case(review: ReviewSession, case: pd.Series, card: dict) -> None:
    """The record as a vertical table, or the image beside the model's heatmap."""
    view = cache.review_case(review, int(case.record_index))
    if review.kind != "image":
        record = view.iloc[0]
        st.dataframe(
            pd.DataFrame(
                {
                    "variable": [str(c) for c in view.columns],
                    # Each value from its own column (a row of mixed columns upcasts ints to
                    # floats), written as the data has it: '1', '50', not '1.0', '50.0'.
                    "value": [
                        "—" if pd.isna(v) else number_text(v) if not isinstance(v, str) else v
                        for v in (view[c].iloc[0] for c in view.columns)
                    ],
                }
            ),
            hide_index=True,
            height=min(38 + 35 * len(record), 560),
        )
        from ui.molecules import draw_molecules

        draw_molecules(record, card["layout"])
        return
    layout = card["layout"]
    classes = layout.get("classes", [])
    if layout.get("task") == "binary":
        output = 1 if case.prediction == layout.get("positive_class") else 0
    else:
        output = classes.index(case.prediction) if case.prediction in classes else None
    explainer = cache.explainer(review.model_id)
    method = explainer.methods[0]
    digest = hashlib.sha256(view.tobytes() + str(view.shape).encode()).hexdigest()
    explanation = cache.image_explanation(
        review.model_id, cache.model_version_key(review.model_id), digest, method, output, view
    )
    left, right = st.columns(2)
    left.image(displayable(view), caption="The image", width=SHOWN_WIDTH)
    right.image(
        overlay_heatmap(view, explanation.heatmap, 0.5),
        caption=f"{METHOD_TITLES.get(method, method)}: the evidence for {explanation.output_name}",
        width=SHOWN_WIDTH,
    )


def show_model_output(review: ReviewSession, case: pd.Series, card: dict) -> None:
    """The model's (calibrated) probability, its decision, and the explanation's summary."""
    layout = card["layout"]
    c1, c2 = st.columns(2)
    if layout.get("task") == "binary":
        c1.metric(f"Probability of {layout.get('positive_class')}", percent_text(case.probability))
        c2.metric(f"Decision at threshold {review.threshold:.2f}", str(case.prediction))
    else:
        c1.metric("Predicted class", str(case.prediction))
        c2.metric("Its probability", percent_text(case.probability))
    calibration = Recalibrator.from_dict(card.get("calibration")).describe()
    st.caption(
        f"{review.model_name} v{review.model_version}; probabilities {calibration}. Computed when "
        "the session was created, so every reviewer sees the same."
    )
    if case.summary:
        st.info(case.summary, icon=":material/insights:")
        if Recalibrator.from_dict(card.get("calibration")).method != "none":
            st.caption("The explanation is of the network's own output, before recalibration.")


def decision_form(
    review: ReviewSession, case: pd.Series, classes: list[str], existing: dict | None
) -> dict | None:
    """Agree or disagree (with one's own label), confidence and note; the choices when saved."""
    others = [c for c in classes if c != case.prediction]
    with st.form(f"decision_{review.id}_{case.case_id}"):
        verdict = st.radio(
            "Your decision",
            [AGREE, DISAGREE],
            index=0 if existing is None or existing["agree"] else 1,
            format_func=lambda v: f"Agree: {case.prediction}" if v == AGREE else "Disagree",
            horizontal=True,
        )
        label = st.selectbox(
            "Your label, when you disagree",
            others,
            index=others.index(existing["label"])
            if existing and existing["label"] in others
            else 0,
        )
        confidence = st.select_slider(
            "Confidence",
            list(CONFIDENCE),
            value=int(existing["confidence"]) if existing else 3,
            format_func=CONFIDENCE.__getitem__,
        )
        note = st.text_area(
            "Note (optional)",
            value=existing["note"] if existing else "",
            max_chars=5000,
            placeholder="Why you agree or disagree; what you would do.",
        )
        saved = st.form_submit_button(
            "Save decision", type="primary", icon=":material/save:", disabled=review.closed
        )
    if not saved:
        return None
    return {"agree": verdict == AGREE, "label": label, "confidence": confidence, "note": note}


def review_section(account: Account) -> None:
    """Choose a session; its instructions; the queue; the case, the model's view and the form."""
    if st.session_state.get(PENDING):
        st.session_state[CHOICE] = st.session_state.pop(PENDING)
    sessions = list_review_sessions()
    if not sessions:
        st.info(
            "There is no open review session. A trainer or administrator creates one"
            + (" under 'Sessions'." if may(account, "review_manage") else "."),
            icon=":material/info:",
        )
        return
    labels = {
        s.id: f"{s.name} · {s.n_cases} cases · {s.model_name} v{s.model_version}" for s in sessions
    }
    session_id = st.selectbox(
        "Review session", list(labels), format_func=labels.__getitem__, key=CHOICE
    )
    review = next(s for s in sessions if s.id == session_id)
    if review.instructions.strip():
        with st.container(border=True):
            st.caption("Instructions")
            st.text(review.instructions)

    queue = review_queue(session_id, account.username)
    cases, decided, undecided, n = queue.cases, queue.decided, queue.undecided, queue.n
    position_key = f"review_position_{account.username}_{session_id}"
    if position_key not in st.session_state:  # a new visit resumes at the first undecided case
        st.session_state[position_key] = queue.first_undecided() or 0
    position = queue.clamp(st.session_state[position_key])
    case = cases.iloc[position]

    st.progress(len(decided) / n, text=f"Case {position + 1} of {n} · {len(decided)} decided")
    b1, b2, b3, _ = st.columns([1, 1, 1, 3])
    b1.button(
        "Previous",
        icon=":material/arrow_back:",
        disabled=position == 0,
        on_click=move_to,
        args=(position_key, position - 1),
    )
    b2.button(
        "Next",
        icon=":material/arrow_forward:",
        disabled=position >= n - 1,
        on_click=move_to,
        args=(position_key, position + 1),
    )
    b3.button(
        "First undecided",
        icon=":material/skip_next:",
        disabled=not undecided or undecided[0] == position,
        on_click=move_to,
        args=(position_key, undecided[0] if undecided else position),
    )
    if not undecided:
        st.success(
            f"You have decided all {n} cases. You can go back and change any of them.",
            icon=":material/task_alt:",
        )

    card = get_card(review.model_id)
    left, right = st.columns([3, 2])
    with left:
        st.markdown(f"**Case {position + 1}**")
        show_case(review, case, card)
    with right:
        show_model_output(review, case, card)
        existing = decided.get(int(case.case_id))
        if existing:
            st.caption(f"You decided this case on {existing['updated']:%Y-%m-%d %H:%M} UTC.")
        choices = decision_form(review, case, card["layout"].get("classes", []), existing)
    if choices is None:
        return
    with guard("Saving the decision"):
        record_decision(
            session_id,
            int(case.case_id),
            account.username,
            agree=choices["agree"],
            label=None if choices["agree"] else choices["label"],
            confidence=choices["confidence"],
            note=choices["note"],
        )
        log(
            "review_decision",
            object_type="review_session",
            object_id=session_id,
            model_id=review.model_id,
            model_version=review.model_version,
            detail={
                "case": position + 1,
                "agree": bool(choices["agree"]),
            },  # as the page numbers it
        )
        st.session_state[position_key] = queue.after_decision(position)
        st.session_state[FLASH] = f"Saved your decision on case {position + 1}."
        st.rerun()


# -- the page ----------------------------------------------------------------------------------

st.title("Review")
account = require_page("review")
if st.session_state.get(FLASH):
    st.toast(st.session_state.pop(FLASH), icon=":material/check:")

if may(account, "review_manage"):
    review_tab, sessions_tab, summary_tab = st.tabs(["Review cases", "Sessions", "Summary"])
    with review_tab, guard("Showing the case"):
        review_section(account)
    with sessions_tab:
        with guard("Preparing the form"):
            create_section(account)
        with guard("Listing the sessions"):
            sessions_section()
    with summary_tab, guard("Summarising the session"):
        summary_section()
else:
    with guard("Showing the case"):
        review_section(account)
