"""Roles, what each may do, the account type and the acting account's check: no database, so
the app's frame can check a role before anything heavy is imported, and the audit trail can
check its reader without importing the accounts (dlcore.governance.accounts re-exports all of
it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from dlcore.errors import PermissionDeniedError, UserError

ROLES = ("admin", "trainer", "clinician")
# Which role may use what (pages and actions); admins may use everything.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "home": ("admin", "trainer", "clinician"),
    "data": ("admin", "trainer"),
    "train": ("admin", "trainer"),
    "models": ("admin", "trainer"),
    "evaluate": ("admin", "trainer", "clinician"),
    "predict": ("admin", "trainer", "clinician"),
    "explain": ("admin", "trainer", "clinician"),
    "review": ("admin", "trainer", "clinician"),
    "review_manage": ("admin", "trainer"),
    "learn": ("admin", "trainer", "clinician"),
    "admin": ("admin",),
    "delete_model": ("admin", "trainer"),
    "rename_model": ("admin", "trainer"),
}
AUTH_MODES = ("none", "local", "oidc")


@dataclass
class Account:
    """A person using the app: username, role, and how they signed in."""

    username: str
    role: str
    display_name: str = ""
    email: str | None = None
    via: str = "local"  # local | oidc | demo

    @property
    def label(self) -> str:
        return self.display_name or self.username


DEMO_ACCOUNT = Account("demo", "admin", "Demo user (no login)", via="demo")
# The app itself, for what it does unasked (the demo model queued at start-up).
SYSTEM_ACCOUNT = Account("dlcore", "admin", "The app itself", via="system")


def auth_mode() -> str:
    """'none' (open demo mode: everyone is an admin, a banner says so), 'local' or 'oidc'.

    From ``DLCORE_AUTH``; raises UserError for another value.
    """
    mode = (os.environ.get("DLCORE_AUTH") or "none").strip().lower()
    if mode not in AUTH_MODES:
        raise UserError(
            f"DLCORE_AUTH is '{mode}'.",
            expected="none (demo mode), local (accounts in the database) or oidc (st.login)",
            fix="set DLCORE_AUTH to one of those",
        )
    return mode


def may(account: Account | None, what: str) -> bool:
    """Whether ``account`` may use a page or take an action (see PERMISSIONS)."""
    if account is None:
        return False
    return account.role == "admin" or account.role in PERMISSIONS.get(what, ())


_current: ContextVar[Account | None] = ContextVar("dlcore_acting_account", default=None)


@contextmanager
def acting_as(account: Account) -> Iterator[Account]:
    """Within this block, protected engine functions called without an account act as
    ``account`` (the command line signs in once and acts as that account throughout)."""
    token = _current.set(account)
    try:
        yield account
    finally:
        _current.reset(token)


def acting(account: Account | None, what: str) -> Account:
    """The account acting on a protected engine function, after checking it may do ``what``.

    ``None`` stands for the open demo account only when DLCORE_AUTH is 'none' (everyone is an
    admin there); with accounts on, a protected function called without an account is refused.
    Raises PermissionDeniedError.
    """
    account = account or _current.get()
    if account is None:
        if auth_mode() == "none":
            return DEMO_ACCOUNT
        raise PermissionDeniedError(
            f"'{what}' was asked for without a signed-in account.",
            expected="the acting account (DLCORE_AUTH is on)",
            fix="sign in (the app), or pass --user / DLCORE_USER with its password (the CLI)",
        )
    if not may(account, what):
        raise PermissionDeniedError(
            f"The {account.role} account {account.username} may not do {what}.",
            expected="an account whose role allows it: "
            + ", ".join(r for r in ROLES if r == "admin" or r in PERMISSIONS.get(what, ())),
            fix="ask an admin to do it, or to change your role",
        )
    return account
