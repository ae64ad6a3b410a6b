"""Account and model changes check the acting account's role in the engine itself and write
their own audit rows, whoever calls them (a page, the CLI, a script)."""

from __future__ import annotations

import json

import pytest

from dlcore.errors import PermissionDeniedError
from dlcore.governance import audit
from dlcore.governance.accounts import (
    Account,
    acting_as,
    authenticate,
    create_user,
    list_users,
    set_active,
    set_password,
    set_role,
)

ADMIN = Account("boss", "admin")
TRAINER = Account("t.rex", "trainer")
CLINICIAN = Account("nurse.ada", "clinician")
PASSWORD = "correct horse battery"
MODEL_ID = "m-0123456789"


@pytest.fixture
def accounts_on(isolated_workspace, monkeypatch):
    """DLCORE_AUTH=local with an admin, a trainer and a clinician, and a registered model's
    folder (a card is all renaming and deleting read)."""
    from dlcore.config import get_settings

    monkeypatch.setenv("DLCORE_AUTH", "local")
    create_user("boss", "admin", PASSWORD)
    create_user("t.rex", "trainer", PASSWORD, actor=ADMIN)
    create_user("nurse.ada", "clinician", PASSWORD, actor=ADMIN)
    folder = get_settings().models_dir / MODEL_ID
    folder.mkdir(parents=True)
    (folder / "card.json").write_text(json.dumps({"name": "sepsis model", "version": 3}))
    return folder


def _trail():
    """The audit rows, oldest first."""
    return audit.audit_frame(actor=ADMIN).iloc[::-1].reset_index(drop=True)


def test_a_clinician_cannot_change_accounts_or_models_through_the_engine(accounts_on):
    from dlcore.registry import delete_model, get_card, rename_model

    before = len(_trail())
    refused = [
        lambda actor: create_user("dr.new", "admin", PASSWORD, actor=actor),
        lambda actor: set_active("boss", False, actor=actor),
        lambda actor: set_password("boss", "a new passphrase!", actor=actor),
        lambda actor: set_role("nurse.ada", "admin", actor=actor),
        lambda actor: rename_model(MODEL_ID, "renamed", actor=actor),
        lambda actor: delete_model(MODEL_ID, actor=actor),
    ]
    for call in refused:
        with pytest.raises(PermissionDeniedError, match=r"clinician account nurse\.ada may not"):
            call(CLINICIAN)
        with pytest.raises(PermissionDeniedError, match="without a signed-in account"):
            call(None)  # accounts are on: no account at all is refused too
    for call in refused[:4]:  # a trainer manages models, not accounts
        with pytest.raises(PermissionDeniedError, match=r"trainer account t\.rex may not"):
            call(TRAINER)
    for actor in (CLINICIAN, TRAINER, None):  # the accounts' names and e-mails are the admin's
        with pytest.raises(PermissionDeniedError):
            list_users(actor=actor)
    # The command line acts as its signed-in account: the same checks.
    with acting_as(CLINICIAN), pytest.raises(PermissionDeniedError):
        set_active("boss", False)

    # Nothing changed, and nothing was written to the trail.
    users = {u["username"]: u for u in list_users(actor=ADMIN)}
    assert set(users) == {"boss", "t.rex", "nurse.ada"}
    assert users["boss"]["active"] and users["nurse.ada"]["role"] == "clinician"
    assert authenticate("boss", PASSWORD) is not None
    assert get_card(MODEL_ID)["name"] == "sepsis model" and accounts_on.is_dir()
    assert len(_trail()) == before


def test_what_an_admin_does_through_the_engine_is_in_the_audit_trail(accounts_on):
    from dlcore.registry import delete_model, get_card, rename_model

    create_user("dr.new", "clinician", PASSWORD, actor=ADMIN)
    set_role("dr.new", "trainer", actor=ADMIN)
    set_active("dr.new", False, actor=ADMIN)
    assert authenticate("dr.new", PASSWORD) is None
    set_active("dr.new", True, actor=ADMIN)
    set_password("dr.new", "a fresh passphrase!", actor=ADMIN)
    assert authenticate("dr.new", "a fresh passphrase!").role == "trainer"
    rename_model(MODEL_ID, "  Doe John model  ", actor=TRAINER)  # trainers manage models
    assert get_card(MODEL_ID)["name"] == "Doe John model"
    with acting_as(ADMIN):  # the command line's way: one account for the whole command
        delete_model(MODEL_ID)
    assert not accounts_on.exists()

    trail = _trail()
    # The fixture's three creations: the first account audits itself, then the admin.
    assert list(zip(trail["who"][:3], trail["object id"][:3], strict=True)) == [
        ("boss", "boss"),
        ("boss", "t.rex"),
        ("boss", "nurse.ada"),
    ]
    rows = trail.iloc[3:]
    assert list(rows["action"]) == [
        "user_create",
        "user_change",
        "user_change",
        "user_change",
        "user_change",
        "model_rename",
        "model_delete",
    ]
    assert list(rows["who"]) == ["boss"] * 5 + ["t.rex", "boss"]
    assert list(rows["role"]) == ["admin"] * 5 + ["trainer", "admin"]
    assert list(rows["object id"]) == ["dr.new"] * 5 + [MODEL_ID] * 2
    assert list(rows["detail"]) == [
        "role=clinician",
        "role=trainer, previous_role=clinician",
        "role=trainer, active=False",
        "role=trainer, active=True",
        "role=trainer, password_reset=True",
        "",
        "",
    ]
    assert list(rows["model version"].iloc[-2:]) == [3, 3]
    # Neither the password nor the typed model name reaches the trail.
    text = audit.audit_csv(actor=ADMIN).decode()
    assert "fresh passphrase" not in text and "Doe John" not in text
    assert audit.verify_chain().ok


def test_the_first_account_needs_no_actor_and_only_the_first(isolated_workspace, monkeypatch):
    monkeypatch.setenv("DLCORE_AUTH", "local")
    create_user("first.admin", "admin", PASSWORD)
    with pytest.raises(PermissionDeniedError, match="without a signed-in account"):
        create_user("second", "admin", PASSWORD)
    trail = _trail()
    assert list(trail["who"]) == ["first.admin"] and list(trail["action"]) == ["user_create"]


def test_doctor_releases_the_first_account_claim_only_when_every_account_was_deleted(
    isolated_workspace, monkeypatch
):
    """Accounts deleted by hand left the claim behind, and nobody could create a first
    administrator again; doctor releases it then, and never while an account exists."""
    from sqlalchemy import text

    from dlcore.doctor import run_doctor
    from dlcore.store import get_store

    monkeypatch.setenv("DLCORE_AUTH", "local")
    create_user("first.admin", "admin", PASSWORD)
    assert not any("first-account" in f for f in run_doctor().fixed)  # an account exists
    with get_store().engine.begin() as connection:
        connection.execute(text("DELETE FROM users"))
    with pytest.raises(PermissionDeniedError):  # the stale claim locks the workspace out
        create_user("new.admin", "admin", PASSWORD)
    report = run_doctor()
    assert [f for f in report.fixed if "first-account claim" in f]
    assert create_user("new.admin", "admin", PASSWORD).role == "admin"
    with get_store().engine.connect() as connection:
        claims = connection.execute(text("SELECT claim, username FROM bootstrap")).all()
    assert [tuple(c) for c in claims] == [("first_account", "new.admin")]
    assert not any("first-account" in f for f in run_doctor().fixed)


def test_a_first_account_created_meanwhile_refuses_the_second_clearly(
    isolated_workspace, monkeypatch
):
    """The race's loser, made deterministic: it saw no account (its check ran before the
    winner's commit), then the database's bootstrap claim refuses it."""
    from sqlalchemy import text

    from dlcore.governance import accounts
    from dlcore.store import get_store

    monkeypatch.setenv("DLCORE_AUTH", "local")
    create_user("first.admin", "admin", PASSWORD)
    monkeypatch.setattr(accounts, "has_accounts", lambda: False)  # the stale check
    with pytest.raises(accounts.FirstAccountTakenError) as refused:
        create_user("second.admin", "admin", PASSWORD)
    assert refused.value.fix == "an account already exists; sign in as its admin to add accounts"
    assert "first account" in refused.value.received and "admin signed in" in refused.value.expected
    with get_store().engine.connect() as connection:
        users = connection.execute(text("SELECT username FROM users")).scalars().all()
        claims = connection.execute(text("SELECT claim, username FROM bootstrap")).all()
    assert users == ["first.admin"]
    assert [tuple(c) for c in claims] == [("first_account", "first.admin")]
    trail = _trail()
    assert list(trail["action"]) == ["user_create"] and list(trail["who"]) == ["first.admin"]
    # Without accounts (DLCORE_AUTH=none) the loser acts as the open demo admin, as any later
    # call without an account does.
    monkeypatch.setenv("DLCORE_AUTH", "none")
    create_user("third", "clinician", PASSWORD)
    assert list(_trail()["who"]) == ["first.admin", "demo"]


def test_a_workspace_from_before_the_bootstrap_table_gets_it_on_open(
    isolated_workspace, monkeypatch
):
    from sqlalchemy import inspect, text

    from dlcore.store import get_store, reset_stores

    with get_store().engine.begin() as connection:
        connection.execute(text("DROP TABLE bootstrap"))
    reset_stores()
    assert "bootstrap" in inspect(get_store().engine).get_table_names()
    monkeypatch.setenv("DLCORE_AUTH", "local")
    create_user("first.admin", "admin", PASSWORD)
    assert authenticate("first.admin", PASSWORD).role == "admin"
