"""Administration: accounts and roles, the audit trail with its CSV export, and the settings in
effect (read-only)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import streamlit as st

from dlcore.config import get_settings
from dlcore.errors import UserError
from dlcore.governance import audit
from dlcore.governance.accounts import (
    ROLES,
    create_user,
    list_users,
    set_active,
    set_password,
    set_role,
)
from ui.auth import ACCOUNT_KEY, log, mode, require_page, sign_out
from ui.common import guard, plain

FLASH = "admin_flash"
AUDIT_DAYS = 30
MODES = {
    "none": "none: open demo mode, everyone is an administrator (DLCORE_AUTH unset)",
    "local": "local accounts with passwords (DLCORE_AUTH=local)",
    "oidc": "OpenID Connect through st.login; roles from the local account with the same e-mail "
    "(DLCORE_AUTH=oidc)",
}


def masked_url(url: str) -> str:
    """A database URL with its password replaced by ***."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads: show only its scheme
        return url.split("://", 1)[0] + "://***"


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, AttributeError):
        return False


def changed(account, who: str, what: str, **detail) -> None:
    """A message for the next run about a change to an account (the engine wrote its audit row)."""
    st.session_state[FLASH] = f"{what} for {plain(who)}."
    if who.lower() == account.username.lower() and account.via != "demo":
        # The change applies to this very session: a disabled self signs out, a new role shows.
        if detail.get("active") is False:
            sign_out()
        elif "role" in detail:
            st.session_state[ACCOUNT_KEY] = dataclasses.replace(account, role=detail["role"])
    st.rerun()


def users_section(account) -> None:
    users = list_users(actor=account)
    st.dataframe(
        pd.DataFrame(
            users,
            columns=[
                "username",
                "role",
                "display_name",
                "email",
                "active",
                "created",
                "last_login",
            ],
        ).rename(
            columns={
                "display_name": "name",
                "email": "e-mail (for OIDC)",
                "created": "created (UTC)",
                "last_login": "last sign-in (UTC)",
            }
        ),
        hide_index=True,
    )
    left, right = st.columns(2)
    with left, st.container(border=True):
        st.markdown("**Create an account**")
        oidc = mode() == "oidc"
        with st.form("create_user", clear_on_submit=True, border=False):
            username = st.text_input("Username", max_chars=64, placeholder="j.smith")
            role = st.selectbox("Role", ROLES, index=ROLES.index("clinician"))
            display = st.text_input("Full name", max_chars=120)
            email = st.text_input(
                "E-mail",
                max_chars=200,
                help="The address the OIDC provider reports (for st.login).",
            )
            password = st.text_input(
                "Password" + (" (optional with OIDC)" if oidc else " (at least 10 characters)"),
                type="password",
            )
            created = st.form_submit_button("Create the account", type="primary")
        if created:
            with guard("Creating the account"):
                if not password and not oidc:
                    raise UserError(
                        "The password is empty.",
                        expected="at least 10 characters (only accounts that sign in through "
                        "OIDC may have none)",
                        fix="type a password; the person can be asked to change it",
                    )
                if oidc and not password and not email.strip():
                    raise UserError(
                        "The account has neither a password nor an e-mail.",
                        expected="the e-mail the OIDC provider reports for this person",
                        fix="type the person's e-mail",
                    )
                new = create_user(
                    username,
                    role,
                    password or None,
                    display_name=display,
                    email=email or None,
                    actor=account,
                )
                st.session_state[FLASH] = f"Created the {new.role} account {plain(new.username)}."
                st.rerun()

    with right, st.container(border=True):
        st.markdown("**Change an account**")
        if not users:
            st.caption("No accounts yet.")
            return
        rows = {u["username"]: u for u in users}
        who = st.selectbox("Account", list(rows), key="admin_account")
        row = rows[who]
        st.caption(f"Now: {row['role']}, {'active' if row['active'] else 'disabled'}.")
        c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
        role = c1.selectbox("Role", ROLES, index=ROLES.index(row["role"]), key=f"admin_role_{who}")
        if c2.button("Change role", disabled=role == row["role"]):
            with guard("Changing the role"):
                set_role(who, role, actor=account)
                changed(account, who, f"Role set to {role}", role=role)
        if st.button(
            "Disable account" if row["active"] else "Enable account",
            icon=":material/person_off:" if row["active"] else ":material/person_check:",
        ):
            with guard("Changing the account"):
                set_active(who, not row["active"], actor=account)
                changed(
                    account,
                    who,
                    "Disabled" if row["active"] else "Enabled",
                    role=row["role"],
                    active=not row["active"],
                )
        with st.form(f"reset_{who}", clear_on_submit=True, border=False):
            first = st.text_input("New password", type="password")
            again = st.text_input("New password again", type="password")
            reset = st.form_submit_button("Reset password")
        if reset:
            with guard("Resetting the password"):
                if first != again:
                    raise UserError("The two passwords differ.", fix="type the same password twice")
                set_password(who, first, actor=account)
                changed(account, who, "Password reset", role=row["role"], password_reset=True)


def audit_section() -> None:
    everything = audit.audit_frame(actor=account)
    names = sorted({u["username"] for u in list_users(actor=account)} | set(everything["who"]))
    c1, c2, c3 = st.columns(3)
    who = c1.selectbox(
        "Who", [None, *names], format_func=lambda v: "anyone" if v is None else v, key="audit_who"
    )
    action = c2.selectbox(
        "Action",
        [None, *audit.ACTIONS],
        format_func=lambda v: "any action" if v is None else v.replace("_", " "),
        key="audit_action",
    )
    today = dt.datetime.now(dt.UTC).date()
    dates = c3.date_input(
        "Dates (UTC)",
        (today - dt.timedelta(days=AUDIT_DAYS), today),
        max_value=today,
        key="audit_dates",
    )
    dates = tuple(dates) if isinstance(dates, list | tuple) else (dates,)
    filters = {
        "username": who,
        "action": action,
        "since": dt.datetime.combine(dates[0], dt.time.min) if dates else None,
        "until": dt.datetime.combine(dates[-1], dt.time.max) if dates else None,
    }
    frame = audit.audit_frame(**filters, actor=account)
    st.dataframe(frame, hide_index=True)
    st.caption(
        f"{len(frame):,} row(s), newest first (at most 5,000 are shown). The trail is append-only: "
        "the database refuses changes and deletions. It holds identifiers and hashes, never "
        "patient values or file names."
    )
    st.download_button(
        "Download as CSV",
        # Built on click, by the engine's one export (formulas neutralised, admin checked).
        lambda: audit.audit_csv(**filters, actor=account),
        file_name=f"audit-{today:%Y%m%d}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click=log,
        args=("export",),
        kwargs={"object_type": "audit", "detail": {"format": "csv", "rows": len(frame)}},
    )


def settings_section() -> None:
    settings = get_settings()
    rows = [
        ("Sign-in", MODES[mode()]),
        (
            "OIDC provider ([auth] in secrets.toml)",
            "configured" if oidc_configured() else "not configured",
        ),
        ("Workspace (DLCORE_HOME)", str(settings.home)),
        ("Database (DLCORE_DATABASE_URL)", masked_url(settings.database_url)),
        (
            "Upload limit",
            f"{settings.max_upload_mb} MB (DLCORE_MAX_UPLOAD_MB); the browser refuses files over "
            f"{st.get_option('server.maxUploadSize')} MB (server.maxUploadSize)",
        ),
        ("Largest table (DLCORE_MAX_ROWS)", f"{settings.max_rows:,} rows"),
        ("Training jobs at once (DLCORE_MAX_CONCURRENT_JOBS)", str(settings.max_concurrent_jobs)),
        (
            "TensorFlow threads (DLCORE_TF_THREADS)",
            str(settings.tf_threads) if settings.tf_threads else "TensorFlow's choice",
        ),
    ]
    st.dataframe(pd.DataFrame(rows, columns=["setting", "in effect"]), hide_index=True)
    st.caption(
        "Read-only. Change them in the environment, .streamlit/config.toml or "
        ".streamlit/secrets.toml, and restart the app."
    )


# -- the page ----------------------------------------------------------------------------------

st.title("Administration")
account = require_page("admin")
if st.session_state.get(FLASH):
    st.success(st.session_state.pop(FLASH), icon=":material/check_circle:")
if account.via == "demo":
    st.warning(
        "Demo mode: nobody signs in, so the accounts below are not used until DLCORE_AUTH is set "
        "to local or oidc. Create an administrator among them before you switch.",
        icon=":material/warning:",
    )

users_tab, audit_tab, settings_tab = st.tabs(["Users", "Audit trail", "Settings"])
with users_tab, guard("Showing the accounts"):
    users_section(account)
with audit_tab, guard("Reading the audit trail"):
    audit_section()
with settings_tab, guard("Reading the settings"):
    settings_section()
