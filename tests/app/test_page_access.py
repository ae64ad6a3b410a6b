"""Every page is refused to a role that may not use it (issue 11 #6), whichever way it is opened:

- through the frame (app.py): the page is not in the role's navigation, so it cannot be reached;
- run on its own, as Streamlit's pages-folder mode or an AppTest rerun would: the page's own
  require_page check stops it with a refusal before it draws anything of its own.

The pages and their permissions are read from app.py's PAGES; the roles' rights from
dlcore.governance.roles.PERMISSIONS.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dlcore.governance.roles import ROLES, Account, may

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough passphrase"


def app_pages() -> list[tuple[str, str]]:
    """(script, permission) of every entry of app.py's PAGES."""
    tree = ast.parse((ROOT / "app.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PAGES":
            return [(e.elts[1].value, e.elts[4].value) for e in node.value.elts]
    raise AssertionError("app.py has no PAGES list")


PAGES = app_pages()


@pytest.fixture
def accounts(tmp_path, monkeypatch):
    """A workspace of its own with DLCORE_AUTH=local and one account per role."""
    import streamlit as st

    from dlcore.config import reset_settings
    from dlcore.governance.accounts import create_user
    from dlcore.store import reset_stores

    def reset() -> None:
        reset_settings()
        reset_stores()
        st.cache_resource.clear()
        st.cache_data.clear()

    monkeypatch.setenv("DLCORE_HOME", str(tmp_path / "workspace"))
    monkeypatch.setenv("DLCORE_AUTH", "local")
    for name in ("DLCORE_DATABASE_URL", "DLCORE_ADMIN_USER", "DLCORE_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    reset()
    made = {}
    for role in ROLES:
        # The first (the admin) needs no actor; the admin creates the others.
        create_user(
            f"the.{role}", role, PASSWORD, display_name=f"The {role}", actor=made.get("admin")
        )
        made[role] = Account(f"the.{role}", role, f"The {role}")
    yield made
    monkeypatch.undo()
    reset()


def signed_in(script: str, account: Account) -> AppTest:
    at = AppTest.from_file(str(ROOT / script), default_timeout=60)
    at.session_state["signed_in_account"] = account
    return at


def test_the_pages_and_roles_are_the_ones_we_think():
    assert len(PAGES) == 10 and all((ROOT / script).is_file() for script, _ in PAGES)
    refused = {
        role: sorted(s for s, p in PAGES if not may(Account("x", role), p)) for role in ROLES
    }
    assert refused["admin"] == []
    assert refused["trainer"] == ["pages/admin.py"]
    assert refused["clinician"] == [
        "pages/admin.py",
        "pages/data.py",
        "pages/models.py",
        "pages/train.py",
    ]


@pytest.mark.parametrize("role", ROLES)
def test_the_frame_offers_a_role_only_its_pages(accounts, role):
    at = signed_in("app.py", accounts[role])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    for script, permission in PAGES:
        if may(accounts[role], permission):
            at.switch_page(script)  # in the navigation
        else:
            with pytest.raises(ValueError):  # AppTest: "not in the app's pages"
                at.switch_page(script)


@pytest.mark.parametrize("role", ["trainer", "clinician"])
def test_a_page_run_on_its_own_refuses_a_role_that_may_not_use_it(accounts, role):
    account = accounts[role]
    checked = 0
    for script, permission in PAGES:
        if may(account, permission):
            continue
        at = signed_in(script, account).run()
        assert not at.exception, (script, [e.value for e in at.exception])
        refusal = f"The {role} role cannot use this page."
        assert [i.value for i in at.info] == [refusal], script
        # nothing of the page itself: no widget, no table, no chart, no other text
        for kind in ("button", "text_input", "selectbox", "file_uploader", "dataframe", "metric"):
            assert len(at.get(kind)) == 0, (script, kind)
        assert [m.value for m in at.markdown] == [], script
        checked += 1
    assert checked == (1 if role == "trainer" else 4)


def test_a_page_run_on_its_own_before_sign_in_asks_to_sign_in(accounts):
    for script, _ in PAGES:
        at = AppTest.from_file(str(ROOT / script), default_timeout=60).run()
        assert not at.exception, (script, [e.value for e in at.exception])
        assert [i.value for i in at.info] == ["Sign in first: open the app's start page."], script
        assert len(at.get("button")) == 0, script
