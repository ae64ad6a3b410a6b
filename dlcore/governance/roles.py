"""Roles, what each may do, and the account type: no database, so the app's frame can check a
role before anything heavy is imported (dlcore.governance.accounts re-exports all of it)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from dlcore.errors import UserError

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
