"""Accounts and roles, review sessions that persist, Cohen's kappa, and the append-only audit trail."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select, text

from dlcore.data.catalog import save_dataset
from dlcore.errors import UserError
from dlcore.governance import audit
from dlcore.governance.accounts import (
    DEMO_ACCOUNT,
    Account,
    authenticate,
    create_user,
    ensure_admin_from_environment,
    list_users,
    may,
    set_active,
    set_role,
)
from dlcore.governance.review import (
    case_view,
    create_review_session,
    get_review_session,
    list_review_sessions,
    next_position,
    record_decision,
    review_cases,
    review_summary,
)
from dlcore.store import UserRow, get_store, reset_stores

HOSTILE = "Robert'); DROP TABLE users;-- <script>alert('x')</script>"


def test_passwords_are_stored_as_argon2_hashes_only():
    create_user(
        "nurse.ada",
        "clinician",
        "a long enough passphrase",
        display_name=HOSTILE,
        email="Ada@Example.org",
    )
    with get_store().session() as session:
        row = session.scalar(select(UserRow).where(UserRow.username == "nurse.ada"))
    assert row.password_hash.startswith("$argon2id$")
    assert "passphrase" not in row.password_hash
    assert row.display_name == HOSTILE[:120]  # stored as text, harmlessly
    assert row.email == "ada@example.org"
    assert authenticate("nurse.ada", "a long enough passphrase").role == "clinician"
    assert (
        authenticate("NURSE.ADA", "a long enough passphrase") is not None
    )  # usernames ignore case
    assert authenticate("nurse.ada", "wrong password!!") is None
    assert authenticate("nobody", "whatever") is None
    assert "password_hash" not in list_users()[0]
    with get_store().session() as session:  # the hostile name did not drop anything
        assert session.scalar(text("SELECT COUNT(*) FROM users")) >= 1


@pytest.mark.parametrize(
    ("username", "role", "password", "message"),
    [
        ("x", "clinician", "long enough pass", "not allowed"),
        ("valid.name", "surgeon", "long enough pass", "Role 'surgeon'"),
        ("short.pw", "clinician", "short", "characters"),
    ],
)
def test_account_rules(username, role, password, message):
    with pytest.raises(UserError, match=message):
        create_user(username, role, password)


def test_duplicate_usernames_and_last_admin_are_refused():
    create_user("chief", "admin", "the chief's passphrase")
    with pytest.raises(UserError, match="taken"):
        create_user("CHIEF", "clinician", "another passphrase")
    with get_store().session() as session:
        admins = session.scalars(select(UserRow).where(UserRow.role == "admin")).all()
    if len(admins) == 1:
        with pytest.raises(UserError, match="last admin"):
            set_role("chief", "clinician")
    set_active("nurse.ada", False) if any(
        u["username"] == "nurse.ada" for u in list_users()
    ) else None


def test_role_permissions():
    clinician, trainer, admin = (
        Account("c", "clinician"),
        Account("t", "trainer"),
        Account("a", "admin"),
    )
    assert may(clinician, "predict") and may(clinician, "review") and may(clinician, "explain")
    assert (
        not may(clinician, "train")
        and not may(clinician, "delete_model")
        and not may(clinician, "admin")
    )
    assert may(trainer, "train") and may(trainer, "review_manage") and not may(trainer, "admin")
    assert all(may(admin, page) for page in ("admin", "train", "review", "delete_model"))
    assert may(DEMO_ACCOUNT, "admin") and not may(None, "home")


def test_first_admin_from_the_environment(monkeypatch, tmp_path):
    from dlcore.config import reset_settings

    monkeypatch.setenv("DLCORE_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    monkeypatch.setenv("DLCORE_ADMIN_USER", "firstadmin")
    monkeypatch.setenv("DLCORE_ADMIN_PASSWORD", "first admin passphrase")
    reset_settings()
    try:
        assert ensure_admin_from_environment() is True
        assert ensure_admin_from_environment() is False  # only when there is no account yet
        assert authenticate("firstadmin", "first admin passphrase").role == "admin"
    finally:
        monkeypatch.undo()
        reset_settings()
        reset_stores()


def test_audit_is_append_only_and_keeps_no_free_text():
    audit.record(
        "nurse.ada",
        "predict",
        role="clinician",
        object_type="model",
        object_id="m-1",
        model_id="m-1",
        model_version=2,
        detail={"rows": 3, "note": "Mr Smith, 12 Oak St", "sha256": "ab" * 32},
    )
    frame = audit.audit_frame(username="nurse.ada", action="predict")
    assert len(frame) >= 1
    row = frame.iloc[0]
    assert row["model version"] == 2 and "rows=3" in row["detail"] and "Smith" not in row["detail"]
    for statement in ("UPDATE audit SET username = 'x'", "DELETE FROM audit"):
        with (
            pytest.raises(Exception, match="append-only"),
            get_store().engine.begin() as connection,
        ):
            connection.execute(text(statement))
    with pytest.raises(ValueError):
        audit.record("x", "made_up_action")
    assert (
        audit.audit_csv(action="predict").decode().startswith('"when (UTC)","who","role","action"')
    )


@pytest.fixture(scope="module")
def review(tiny_binary, breast_cancer):
    from dlcore.data.catalog import ensure_saved

    dataset_id = ensure_saved(breast_cancer)
    session_id = create_review_session(
        HOSTILE,
        tiny_binary.record.id,
        dataset_id,
        list(range(12)),
        created_by="trainer.tom",
        instructions=HOSTILE,
    )
    return session_id, dataset_id


def test_review_session_holds_predictions_and_summaries(review, tiny_binary):
    session_id, _ = review
    session = get_review_session(session_id)
    assert session.name == HOSTILE and session.n_cases == 12 and session.threshold == 0.5
    cases = review_cases(session_id)
    assert list(cases["record_index"]) == list(range(12))
    assert set(cases["prediction"]) <= {"malignant", "benign"}
    decided = np.where(cases["probability"] >= 0.5, "malignant", "benign")
    assert list(cases["prediction"]) == list(decided)
    assert all(("Raises it" in s) or ("Lowers it" in s) for s in cases["summary"])


def test_reviewers_resume_where_they_stopped_and_a_restart_loses_nothing(review):
    session_id, _ = review
    cases = review_cases(session_id)
    assert next_position(session_id, "dr.lee") == 0
    for case in cases.head(3).itertuples():
        record_decision(session_id, case.case_id, "dr.lee", agree=True, confidence=4, note=HOSTILE)
    assert next_position(session_id, "dr.lee") == 3
    reset_stores()  # as an app restart would: nothing lives only in memory
    assert next_position(session_id, "dr.lee") == 3
    assert session_id in {s.id for s in list_review_sessions()}


def test_disagreeing_needs_a_different_label(review):
    session_id, _ = review
    case = review_cases(session_id).iloc[5]
    with pytest.raises(UserError, match="needs your own label"):
        record_decision(session_id, int(case.case_id), "dr.lee", agree=False, label=case.prediction)
    with pytest.raises(UserError, match="Confidence"):
        record_decision(session_id, int(case.case_id), "dr.lee", agree=True, confidence=9)


def test_kappa_and_agreement_by_hand(review):
    from sklearn.metrics import cohen_kappa_score

    session_id, _ = review
    cases = review_cases(session_id)
    other = {"malignant": "benign", "benign": "malignant"}
    labels_a, labels_b = [], []
    for i, case in enumerate(cases.itertuples()):
        agree_a = i % 3 != 0
        agree_b = i % 4 != 1
        label_a = case.prediction if agree_a else other[case.prediction]
        label_b = case.prediction if agree_b else other[case.prediction]
        record_decision(
            session_id, case.case_id, "rev.a", agree=agree_a, label=label_a, confidence=3, note="a"
        )
        record_decision(
            session_id, case.case_id, "rev.b", agree=agree_b, label=label_b, confidence=5, note="b"
        )
        labels_a.append(label_a)
        labels_b.append(label_b)
    summary = review_summary(session_id)
    a = summary.per_reviewer.set_index("reviewer").loc["rev.a"]
    assert a["agreement with model"] == pytest.approx(np.mean([i % 3 != 0 for i in range(12)]))
    assert a["kappa (model vs reviewer)"] == pytest.approx(
        cohen_kappa_score(list(cases["prediction"]), labels_a)
    )
    pair = summary.between_reviewers.set_index("reviewers").loc["rev.a / rev.b"]
    assert pair["kappa"] == pytest.approx(cohen_kappa_score(labels_a, labels_b))
    assert (summary.disagreements["reviewer"].isin(["rev.a", "rev.b"])).sum() == sum(
        i % 3 == 0 for i in range(12)
    ) + sum(i % 4 == 1 for i in range(12))
    assert len(summary.decisions) >= 24


def test_identifier_columns_are_hidden_unless_the_session_allows_them(cohort_dataset):
    from dlcore.models.spec import ModelSpec
    from dlcore.training.pipeline import train_and_register

    model_id = train_and_register(
        cohort_dataset, ModelSpec(hidden_units=[8], epochs=1, seed=1)
    ).record.id
    dataset_id = cohort_dataset.id
    hidden = get_review_session(
        create_review_session("hidden ids", model_id, dataset_id, [0, 1], created_by="t")
    )
    shown = get_review_session(
        create_review_session(
            "shown ids",
            model_id,
            dataset_id,
            [0, 1],
            created_by="t",
            show_identifiers=True,
        )
    )
    assert not {"patient_id", "name", "email"} & set(case_view(hidden, 0).columns)
    assert {"patient_id", "name", "email"} <= set(case_view(shown, 0).columns)
    assert "outcome" not in case_view(shown, 0).columns


def test_review_refusals(tiny_binary, tiny_regression, review):
    _, dataset_id = review
    with pytest.raises(UserError, match="no name"):
        create_review_session(" ", tiny_binary.record.id, dataset_id, [1], created_by="t")
    with pytest.raises(UserError, match="outside"):
        create_review_session("x", tiny_binary.record.id, dataset_id, [10_000], created_by="t")
    diabetes_id = save_dataset(
        __import__("dlcore.data", fromlist=["load_demo"]).load_demo("diabetes_progression")
    )
    with pytest.raises(UserError, match="classification"):
        create_review_session("x", tiny_regression.record.id, diabetes_id, [1], created_by="t")
