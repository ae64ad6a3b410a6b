"""The audit trail cannot be rewritten (no REPLACE, UPDATE or DELETE; a hash chain doctor checks),
its detail keeps only code-shaped values, and roles are checked by the engine itself."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

from dlcore.errors import PermissionDeniedError
from dlcore.governance import audit
from dlcore.governance.accounts import Account, acting, create_user, set_role
from dlcore.store import get_store

ADMIN = Account("boss", "admin")
CLINICIAN = Account("nurse.ada", "clinician")
TRAINER = Account("t.rex", "trainer")


def _db_path() -> str:
    return get_store().url.split("///", 1)[1]


def test_insert_or_replace_update_and_delete_are_refused(isolated_workspace):
    audit.record("alice", "login", role="admin", detail={"via": "local"})
    audit.record("bob", "predict", role="clinician", detail={"rows": 3})
    raw = sqlite3.connect(_db_path())
    attacks = [
        "INSERT OR REPLACE INTO audit (id, at, username, role, action, object_type, object_id, "
        "detail, row_hash) VALUES (1, '2020-01-01', 'mallory', 'admin', 'login', '', '', '{}', 'x')",
        "REPLACE INTO audit (id, at, username, role, action, object_type, object_id, detail, "
        "row_hash) VALUES (1, '2020-01-01', 'mallory', 'admin', 'login', '', '', '{}', 'x')",
        "INSERT INTO audit (at, username, role, action, object_type, object_id, detail) "
        "VALUES ('2020-01-01', 'mallory', 'admin', 'login', '', '', '{}')",
        "UPDATE audit SET username = 'mallory' WHERE id = 1",
        "DELETE FROM audit WHERE id = 1",
    ]
    for statement in attacks:
        with pytest.raises(sqlite3.DatabaseError, match=r"append-only|UNIQUE"):
            raw.execute(statement)
            raw.commit()
        raw.rollback()
    raw.close()
    who = [
        r[0] for r in sqlite3.connect(_db_path()).execute("SELECT username FROM audit ORDER BY id")
    ]
    assert who == ["alice", "bob"]
    assert audit.verify_chain().ok


def test_the_chain_detects_an_edit_made_behind_the_triggers(isolated_workspace):
    for i in range(5):
        audit.record(f"user{i}", "predict", role="clinician", detail={"rows": i})
    report = audit.verify_chain()
    assert (report.rows, report.unchained, report.problems) == (5, 0, [])
    raw = sqlite3.connect(_db_path())
    raw.execute("DROP TRIGGER audit_no_update")  # someone with the file edits it directly
    raw.execute("UPDATE audit SET username = 'mallory' WHERE id = 3")
    raw.commit()
    problems = audit.verify_chain().problems
    assert problems == ["row 3's content does not match its hash (edited)"]
    raw.execute("DROP TRIGGER audit_no_delete")
    raw.execute("DELETE FROM audit WHERE id = 4")
    raw.commit()
    problems = audit.verify_chain().problems
    assert any("row 5 does not link" in p for p in problems), problems


def test_ten_concurrent_writers_keep_one_unbroken_chain(isolated_workspace):
    from concurrent.futures import ThreadPoolExecutor

    def write(i: int) -> None:
        for k in range(10):
            audit.record(f"writer{i}", "predict", role="clinician", detail={"rows": k})

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(write, range(10)))
    report = audit.verify_chain()
    assert report.rows == 100 and report.ok, report.problems


@pytest.mark.parametrize(
    ("key", "value", "kept"),
    [
        ("sha256", "ab" * 32, True),
        ("sha256", "Mr Smith, 12 Oak St", False),
        ("role", "admin", True),
        ("role", '=HYPERLINK("x")', False),
        ("method", "platt", True),
        ("method", "John Doe", False),
        ("format", "csv", True),
        ("format", "@SUM(A1)", False),
        ("dataset_id", "d-3f2a9c1b7d", True),
        ("dataset_id", "Doe_John_1970", False),
        ("target", "diagnosis", True),
        ("target", "=cmd|x", False),
        ("rows", 12, True),
        ("rows", float("nan"), False),
        ("note", "free text", False),
        ("via", "local", True),
        ("via", "1970-01-01", False),
    ],
)
def test_detail_whitelist_checks_values(isolated_workspace, key, value, kept):
    assert (key in audit._safe_detail({key: value})) is kept


def test_a_failed_sign_in_cannot_plant_a_formula_in_the_admins_export(isolated_workspace):
    audit.record('=HYPERLINK("http://x","click")', "login_failed")
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(audit.audit_csv(actor=ADMIN).decode())))
    assert [r["who"] for r in rows] == ['\'=HYPERLINK("http://x","click")']


def test_roles_are_checked_by_the_engine(isolated_workspace, monkeypatch):
    from dlcore.registry import delete_model

    monkeypatch.setenv("DLCORE_AUTH", "local")
    create_user("boss", "admin", "correct horse battery")  # the first account needs no actor
    create_user("nurse.ada", "clinician", "correct horse battery", actor=ADMIN)
    with pytest.raises(PermissionDeniedError, match=r"clinician account nurse\.ada may not"):
        set_role("nurse.ada", "admin", actor=CLINICIAN)
    with pytest.raises(PermissionDeniedError):
        set_role("nurse.ada", "admin")  # no account at all while DLCORE_AUTH is on
    with pytest.raises(PermissionDeniedError):
        delete_model("m-0123456789", actor=CLINICIAN)
    with pytest.raises(PermissionDeniedError):
        audit.audit_frame(actor=CLINICIAN)
    with pytest.raises(PermissionDeniedError):
        audit.audit_frame(actor=TRAINER)
    with pytest.raises(PermissionDeniedError):
        acting(CLINICIAN, "train")
    assert acting(TRAINER, "train") is TRAINER
    set_role("nurse.ada", "trainer", actor=ADMIN)
    roles = {
        r[0]: r[1]
        for r in get_store().engine.connect().execute(text("SELECT username, role FROM users"))
    }
    assert roles == {"boss": "admin", "nurse.ada": "trainer"}
    # The engine wrote the rows itself: the two creations and the one role change.
    trail = audit.audit_frame(actor=ADMIN)
    assert list(trail["action"])[::-1] == ["user_create", "user_create", "user_change"]
    assert set(trail["who"]) == {"boss"}


def test_demo_mode_acts_as_the_demo_admin(isolated_workspace, monkeypatch):
    monkeypatch.setenv("DLCORE_AUTH", "none")
    assert acting(None, "admin").username == "demo"


def test_a_clinician_cannot_train_register_or_upload_through_the_engine(isolated_workspace):
    from dlcore.registry import import_keras_model, list_models, register
    from dlcore.training.jobs import submit_training
    from dlcore.training.pipeline import train_and_register

    card = {"name": "x", "layout": {"task": "binary"}}
    calls = [
        lambda: train_and_register(None, None, actor=CLINICIAN),  # refused before any data is read
        lambda: register(object(), card, actor=CLINICIAN),
        lambda: import_keras_model(b"", "m.keras", actor=CLINICIAN),
        lambda: submit_training("d-0000000000", None, actor=CLINICIAN),
    ]
    for call in calls:
        with pytest.raises(PermissionDeniedError, match="may not do train"):
            call()
    assert list_models() == []
