"""Who is using the app: open demo mode, local accounts, or OpenID Connect (st.login); the pages
each role may see; and the audit trail helper every page uses."""

from __future__ import annotations

import logging
import os
from typing import Any

import streamlit as st

from dlcore.governance.roles import DEMO_ACCOUNT, Account, auth_mode, may
from ui.common import guard

logger = logging.getLogger("dashboard")
ACCOUNT_KEY = "signed_in_account"
ENDED_KEY = "session_ended_for"


def mode() -> str:
    """'none', 'local' or 'oidc': DLCORE_AUTH, else ``[dlcore] auth`` in secrets, else 'none'."""
    if os.environ.get("DLCORE_AUTH"):
        return auth_mode()
    try:
        configured = st.secrets.get("dlcore", {}).get("auth")
    except (FileNotFoundError, KeyError, AttributeError):
        configured = None
    if configured:
        os.environ.setdefault("DLCORE_AUTH", str(configured))
        return auth_mode()
    return "none"


def current_account() -> Account | None:
    """The signed-in account (the demo account in open demo mode), or None."""
    current = mode()
    if current == "none":
        return DEMO_ACCOUNT
    if current == "oidc":
        if not st.user.is_logged_in:
            return None
        account = st.session_state.get(ACCOUNT_KEY)
        if account is None or account.email != str(st.user.get("email", "")).lower():
            from dlcore.governance.accounts import account_for_email

            account = account_for_email(str(st.user.get("email", "")))
            st.session_state[ACCOUNT_KEY] = account
            if account is not None:
                log("login", detail={"via": "oidc"}, account=account)
            return account
        return _still_valid(account)
    account = st.session_state.get(ACCOUNT_KEY)
    return None if account is None else _still_valid(account)


def _still_valid(account: Account) -> Account | None:
    """The signed-in account re-read from the store at every run: disabling an account ends its
    open sessions at their next click, and a role change applies at once."""
    from dlcore.governance.accounts import refresh

    current = refresh(account)
    if current is None:
        st.session_state.pop(ACCOUNT_KEY, None)
        st.session_state[ENDED_KEY] = account.username
        log("session_ended", account=account, detail={"reason": "account disabled or removed"})
        return None
    if current != account:
        st.session_state[ACCOUNT_KEY] = current
    return current


def log(action: str, *, account: Account | None = None, **fields: Any) -> None:
    """Append an audit row for the current account (never fails the page if the store is busy)."""
    from dlcore.governance import audit

    account = account or current_account() or Account("anonymous", "")
    try:
        audit.record(account.username, action, role=account.role, **fields)
    except Exception:  # the action itself succeeded; the failure is logged for the admins
        logger.exception("could not write the audit row for %s", action)


def sign_out() -> None:
    """End the session (and the OIDC identity cookie)."""
    account = st.session_state.pop(ACCOUNT_KEY, None)
    if account is not None:
        log("logout", account=account)
    if mode() == "oidc" and st.user.is_logged_in:
        st.logout()


def sign_in_page() -> None:
    """The only page before sign-in: the first admin, a username and password, or st.login."""
    from dlcore.governance.accounts import (
        authenticate,
        create_user,
        ensure_admin_from_environment,
        has_accounts,
    )

    st.title("Clinician deep-learning dashboard")
    current = mode()
    if current == "oidc":
        if st.user.is_logged_in:
            st.error(
                f"You are signed in as {st.user.get('email', 'an unknown address')}, but no account of this "
                "app has that e-mail. Ask an administrator to add you with this e-mail and a role.",
                icon=":material/block:",
            )
            st.button("Sign out", on_click=st.logout)
        else:
            st.markdown("Sign in with your organisation's account.")
            st.button("Sign in", type="primary", icon=":material/login:", on_click=st.login)
        return
    ensure_admin_from_environment()
    if not has_accounts():
        st.info(
            "No account exists yet. Create the first administrator.", icon=":material/person_add:"
        )
        with st.form("first_admin"):
            username = st.text_input("Username")
            display = st.text_input("Full name")
            password = st.text_input("Password (at least 10 characters)", type="password")
            again = st.text_input("Password again", type="password")
            if st.form_submit_button("Create the administrator", type="primary"):
                with guard("Creating the account"):
                    if password != again:
                        st.error("The two passwords differ. Type the same password twice.")
                    else:
                        # The first account needs no signed-in admin; it audits itself.
                        create_user(username, "admin", password, display_name=display)
                        st.success("Created. Sign in below.")
        return
    ended_for = st.session_state.pop(ENDED_KEY, None)
    if ended_for:
        st.warning(
            f"The session of '{ended_for}' has ended: the account was disabled or removed. "
            "Ask an administrator if you still need access.",
            icon=":material/lock:",
        )
    with st.form("sign_in"):
        username = st.text_input("Username")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary", icon=":material/login:")
    if submitted:
        account = authenticate(username, password)
        if account is None:
            log("login_failed", account=Account((username or "")[:64] or "unknown", ""))
            st.error(
                "The username or password is wrong, or the account is disabled.",
                icon=":material/block:",
            )
        else:
            st.session_state[ACCOUNT_KEY] = account
            log("login", account=account, detail={"via": "local"})
            st.rerun()


def allowed(account: Account, permission: str) -> bool:
    """Whether the account may see a page (the navigation shows only those)."""
    return may(account, permission)


def require_page(permission: str) -> Account:
    """The signed-in account, when it may use this page; else a message and st.stop().

    app.py's navigation already leaves such pages out; this also holds when a page script runs
    without app.py (Streamlit's pages-folder mode on a server's first run, and AppTest).
    """
    account = current_account()
    if account is None:
        st.info("Sign in first: open the app's start page.", icon=":material/login:")
        st.stop()
    if not may(account, permission):
        st.info(f"The {account.role} role cannot use this page.", icon=":material/block:")
        st.stop()
    return account


def log_once(signature: Any, action: str, *, slot: str = "", **fields: Any) -> None:
    """Append an audit row for ``action`` unless this session's last one in ``slot`` (a part of
    a page) was for ``signature``.

    Pages rerun on every click: a prediction or explanation still on screen is not done again.
    """
    key = f"audit_last_{action}_{slot}"
    if st.session_state.get(key) == signature:
        return
    st.session_state[key] = signature
    log(action, **fields)
