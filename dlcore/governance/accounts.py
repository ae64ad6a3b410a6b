"""Local accounts, roles and what each role may do; passwords hashed with Argon2 (argon2-cffi).

Roles: 'admin' (users and settings, and everything else), 'trainer' (data, training, models)
and 'clinician' (predict, explain, review). Accounts can also come from an OpenID Connect login
(Streamlit's st.login), matched to a local account by e-mail for its role.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from dlcore.errors import NotFoundError, PermissionDeniedError, UserError
from dlcore.governance.roles import (  # noqa: F401  (re-exported: the public names)
    AUTH_MODES,
    DEMO_ACCOUNT,
    PERMISSIONS,
    ROLES,
    SYSTEM_ACCOUNT,
    Account,
    _current,
    acting,
    acting_as,
    auth_mode,
    may,
)
from dlcore.store import BootstrapRow, UserRow, get_store, utcnow

logger = logging.getLogger(__name__)

_USERNAME = re.compile(r"^[A-Za-z0-9._@-]{2,64}$")
MIN_PASSWORD = 10
# The bootstrap claim of the first account: one row per workspace, ever (a primary key).
FIRST_ACCOUNT = "first_account"


class FirstAccountTakenError(PermissionDeniedError):
    """An account was asked for without an acting account, as the workspace's first, but the
    workspace has one (created before, or by another process a moment ago)."""


def _audit(actor: Account, action: str, **fields: Any) -> None:
    """The audit row of an account change, written by the engine itself (the pages, the CLI
    and scripts all leave the same trace)."""
    from dlcore.governance import audit  # lazily: the audit module loads pandas

    audit.record(actor.username, action, role=actor.role, **fields)


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


def _check_new(username: str, role: str, password: str | None) -> None:
    if not _USERNAME.match(username or ""):
        raise UserError(
            f"Username '{username}' is not allowed.",
            expected="2 to 64 letters, digits, dots, dashes, underscores or @",
            fix="choose a simple username such as j.smith",
        )
    if role not in ROLES:
        raise UserError(
            f"Role '{role}' is unknown.", expected=", ".join(ROLES), fix="pick one of those roles"
        )
    if password is not None and len(password) < MIN_PASSWORD:
        raise UserError(
            f"The password has {len(password)} characters.",
            expected=f"at least {MIN_PASSWORD} characters",
            fix="choose a longer password (a passphrase of several words works well)",
        )


def create_user(
    username: str,
    role: str,
    password: str | None = None,
    *,
    display_name: str = "",
    email: str | None = None,
    actor: Account | None = None,
) -> Account:
    """Create a local account (a password is required unless it signs in through OIDC), as
    ``actor`` (an admin), and write its audit row.

    The very first account of a workspace needs no actor (the first administrator is created
    from a form or the environment before anyone can sign in); its row names the new account.
    It is claimed in the database (the bootstrap table's primary key, inserted in the account's
    own transaction), so of several processes creating it at the same moment exactly one
    succeeds. Only the Argon2 hash of the password is stored. Raises PermissionDeniedError when
    accounts exist and ``actor`` is not an admin; FirstAccountTakenError (a UserError) when
    accounts are on, no ``actor`` is given and the workspace already has an account (also when
    another process created the first one a moment ago); UserError for a taken or invalid
    username, an unknown role or a short password.
    """
    unsigned = actor is None and _current.get() is None
    first = unsigned and not has_accounts()
    creator: Account | None = None
    if not first:
        creator = _first_account_taken() if unsigned else acting(actor, "admin")
    username = (username or "").strip()
    _check_new(username, role, password)
    email = (email or "").strip().lower() or None
    # Hashed before the transaction: no write lock is held for the hash's tens of milliseconds.
    password_hash = _hasher().hash(password) if password else None
    row = {
        "username": username,
        "role": role,
        "display_name": display_name.strip()[:120],
        "email": email,
        "password_hash": password_hash,
    }
    if first and not _insert_user(row, claim=True):
        creator = _first_account_taken()  # another process's first account committed meanwhile
        first = False
    if not first:
        _insert_user(row, claim=False)
    logger.info("created a %s account", role)
    account = Account(username, role, display_name.strip()[:120], email)
    _audit(
        creator or account,
        "user_create",
        object_type="user",
        object_id=username,
        detail={"role": role},
    )
    return account


def _insert_user(row: dict[str, Any], *, claim: bool) -> bool:
    """Insert the account; with ``claim``, in the same transaction as the first account's
    bootstrap claim. Returns False when the claim was already taken (nothing is inserted).

    The claim is the transaction's first statement: on SQLite it takes the write lock before
    anything is read (a transaction that had read first could not upgrade after another
    writer's commit), on PostgreSQL a second inserter waits for the first and then fails on
    the primary key.
    """
    username = row["username"]
    taken = UserError(
        f"The username '{username}' is taken.", expected="a new username", fix="choose another"
    )
    with get_store().session() as session:
        if claim:
            try:
                session.execute(
                    insert(BootstrapRow).values(claim=FIRST_ACCOUNT, username=username, at=utcnow())
                )
            except IntegrityError:
                session.rollback()
                return False
        if session.scalar(select(UserRow).where(func.lower(UserRow.username) == username.lower())):
            raise taken
        session.add(UserRow(**row))
        try:
            session.commit()
        except IntegrityError as exc:  # the same username created by another admin meanwhile
            session.rollback()
            raise taken from exc
    return True


def _first_account_taken() -> Account:
    """An account asked for without an acting account when one exists (also the loser of the
    first-account race): refused while accounts are on; with DLCORE_AUTH=none it acts as the
    open demo admin, as every call without an account does there."""
    if auth_mode() == "none":
        return acting(None, "admin")
    raise FirstAccountTakenError(
        "A new account was asked for without a signed-in account, but this workspace already "
        "has its first account (perhaps created by someone else a moment ago).",
        expected="an admin signed in to add accounts (only the very first account needs none)",
        fix="an account already exists; sign in as its admin to add accounts",
    )


def authenticate(username: str, password: str) -> Account | None:
    """The account when the password is right (and the account active), else None."""
    from argon2.exceptions import InvalidHashError, VerificationError

    with get_store().session() as session:
        row = session.scalar(
            select(UserRow).where(func.lower(UserRow.username) == (username or "").strip().lower())
        )
        if row is None or not row.active or not row.password_hash:
            _hasher().hash("timing equaliser")  # no hint, by timing, that the name exists
            return None
        try:
            _hasher().verify(row.password_hash, password or "")
        except (VerificationError, InvalidHashError):
            return None
        row.last_login = utcnow()
        session.commit()
        return Account(row.username, row.role, row.display_name, row.email)


def account_for_email(email: str) -> Account | None:
    """The active local account with this e-mail (how an OIDC login gets its role), or None."""
    with get_store().session() as session:
        row = session.scalar(
            select(UserRow).where(
                UserRow.email == (email or "").strip().lower(), UserRow.active.is_(True)
            )
        )
        if row is None:
            return None
        row.last_login = utcnow()
        session.commit()
        return Account(row.username, row.role, row.display_name, row.email, via="oidc")


def refresh(account: Account) -> Account | None:
    """The account as the store has it now (a changed role applies at once), or None when it
    has been disabled or removed since sign-in: a session must not outlive its account."""
    if account.via in ("demo", "system"):
        return account
    with get_store().session() as session:
        row = session.scalar(select(UserRow).where(UserRow.username == account.username))
    if row is None or not row.active:
        return None
    return Account(row.username, row.role, row.display_name, row.email, via=account.via)


def list_users(*, actor: Account | None = None) -> list[dict[str, Any]]:
    """Accounts without their password hashes, for ``actor`` (an admin: names, roles and
    e-mails are not every user's to read).

    Raises PermissionDeniedError for another role (or no account while DLCORE_AUTH is on).
    """
    acting(actor, "admin")
    with get_store().session() as session:
        rows = session.scalars(select(UserRow).order_by(UserRow.username)).all()
    return [
        {
            "username": r.username,
            "role": r.role,
            "display_name": r.display_name,
            "email": r.email,
            "active": r.active,
            "created": r.created,
            "last_login": r.last_login,
        }
        for r in rows
    ]


def set_role(username: str, role: str, *, actor: Account | None = None) -> None:
    """Change an account's role, as ``actor`` (an admin), and write its audit row.

    Raises PermissionDeniedError when ``actor`` is not an admin, NotFoundError / UserError.
    """
    actor = acting(actor, "admin")
    _check_new(username, role, None)
    with get_store().session() as session:
        row = _user(session, username)
        previous, name = row.role, row.username
        if row.role == "admin" and role != "admin" and _admins(session) <= 1:
            raise UserError(
                "This is the last admin account.",
                expected="at least one admin",
                fix="make someone else admin first",
            )
        row.role = role
        session.commit()
    _audit(
        actor,
        "user_change",
        object_type="user",
        object_id=name,
        detail={"role": role, "previous_role": previous},
    )


def set_active(username: str, active: bool, *, actor: Account | None = None) -> None:
    """Enable or disable an account (disabled accounts cannot sign in), as ``actor`` (an admin),
    and write its audit row.

    Raises PermissionDeniedError when ``actor`` is not an admin, NotFoundError / UserError.
    """
    actor = acting(actor, "admin")
    with get_store().session() as session:
        row = _user(session, username)
        if not active and row.role == "admin" and _admins(session) <= 1:
            raise UserError(
                "This is the last admin account.",
                expected="at least one active admin",
                fix="make someone else admin first",
            )
        row.active = active
        role, name = row.role, row.username
        session.commit()
    _audit(
        actor,
        "user_change",
        object_type="user",
        object_id=name,
        detail={"role": role, "active": bool(active)},
    )


def set_password(username: str, password: str, *, actor: Account | None = None) -> None:
    """Replace an account's password (hashed), as ``actor`` (an admin: the app has no
    self-service change), and write its audit row (without the password).

    Raises PermissionDeniedError when ``actor`` is not an admin, NotFoundError / UserError.
    """
    actor = acting(actor, "admin")
    _check_new(username, "clinician", password)
    with get_store().session() as session:
        row = _user(session, username)
        row.password_hash = _hasher().hash(password)
        role, name = row.role, row.username
        session.commit()
    _audit(
        actor,
        "user_change",
        object_type="user",
        object_id=name,
        detail={"role": role, "password_reset": True},
    )


def _user(session: Any, username: str) -> UserRow:
    row = session.scalar(
        select(UserRow).where(func.lower(UserRow.username) == (username or "").lower())
    )
    if row is None:
        raise NotFoundError(
            f"There is no account '{username}'.",
            expected="an existing username",
            fix="pick one from the list",
        )
    return row


def _admins(session: Any) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(UserRow)
            .where(UserRow.role == "admin", UserRow.active.is_(True))
        )
        or 0
    )


def has_accounts() -> bool:
    """Whether any account exists (else the first admin is created from the environment or a form)."""
    with get_store().session() as session:
        return bool(session.scalar(select(func.count()).select_from(UserRow)))


def ensure_admin_from_environment() -> bool:
    """Create the first admin from DLCORE_ADMIN_USER / DLCORE_ADMIN_PASSWORD when no account exists.

    Returns True when it created one.
    """
    username, password = (
        os.environ.get("DLCORE_ADMIN_USER"),
        os.environ.get("DLCORE_ADMIN_PASSWORD"),
    )
    if has_accounts() or not username or not password:
        return False
    try:
        create_user(
            username,
            "admin",
            password,
            display_name="Administrator",
            email=os.environ.get("DLCORE_ADMIN_EMAIL"),
        )
    except UserError:
        if has_accounts():  # another process starting at the same moment created it
            return False
        raise
    return True
