"""Roles, sign-in, the Review and Administration pages, and the audit rows they write (AppTest).

Each test runs in its own workspace (DLCORE_HOME) with DLCORE_AUTH set for that test only:
``dlcore.accounts.auth_mode`` reads the environment on every call, so no restart is needed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT_KEY = "signed_in_account"
HOSTILE = "Robert'); DROP TABLE users;-- <script>alert(1)</script>"
PASSWORD = "a long enough passphrase"
CLINICIAN_PAGES = ["home", "predict", "explain", "evaluate", "review", "learn"]
OIDC_SECRETS = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "placeholder-cookie-secret",
        "client_id": "placeholder-client-id",
        "client_secret": "placeholder-client-secret",
        "server_metadata_url": "https://login.example.org/.well-known/openid-configuration",
    }
}


# -- helpers -----------------------------------------------------------------------------------


def new_app(account=None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if account is not None:
        signed_in(at, account)
    return at


def signed_in(at: AppTest, account) -> AppTest:
    """Sign ``account`` in, creating it in the store first when it is not there (the app
    re-reads the signed-in account at every run, so it must be a real one)."""
    from dlcore.governance.accounts import SYSTEM_ACCOUNT, acting_as, create_user, list_users

    with acting_as(SYSTEM_ACCOUNT):  # set up by the test, as an admin would
        if account.username not in {u["username"] for u in list_users()}:
            create_user(account.username, account.role, PASSWORD, display_name=account.display_name)
    at.session_state[ACCOUNT_KEY] = account
    return at


def healthy(at: AppTest) -> AppTest:
    """Fail on an exception or on the apology the pages show for unexpected errors."""
    assert not at.exception, [e.value for e in at.exception]
    apologies = [e.value for e in at.error if "Sorry" in e.value]
    assert not apologies, apologies
    return at


def open_page(at: AppTest, page: str) -> AppTest:
    return healthy(at.switch_page(f"pages/{page}.py").run())


def reachable(at: AppTest, page: str) -> bool:
    """Whether the page is in the account's navigation (AppTest refuses pages that are not)."""
    try:
        at.switch_page(f"pages/{page}.py")
    except ValueError:
        return False
    return True


def button(elements, label: str):
    found = [b for b in elements if b.label == label]
    assert found, f"no button '{label}' among {[b.label for b in elements]}"
    return found[0]


def widget(elements, label_start: str):
    found = [w for w in elements if w.label.startswith(label_start)]
    assert found, f"no widget labelled '{label_start}…' among {[w.label for w in elements]}"
    return found[0]


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def frame_with(at: AppTest, column: str):
    """The first table on the page with this column (as a pandas DataFrame)."""
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert found, f"no table with a '{column}' column"
    return found[0]


def audit_rows(who: str, action: str):
    from dlcore.governance.audit import audit_frame
    from dlcore.governance.roles import SYSTEM_ACCOUNT

    return audit_frame(username=who, action=action, actor=SYSTEM_ACCOUNT)


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    healthy(at.run())
    widget(at.text_input, "Username").input(username)
    widget(at.text_input, "Password").input(password)
    return healthy(button(at.button, "Sign in").click().run())


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """A workspace of its own (the session workspace is shared by the other test files)."""
    import streamlit as st

    from dlcore.config import reset_settings
    from dlcore.store import reset_stores

    def reset() -> None:
        reset_settings()
        reset_stores()
        st.cache_resource.clear()  # boot() and the model loaders
        st.cache_data.clear()

    monkeypatch.setenv("DLCORE_HOME", str(tmp_path / "workspace"))
    for name in ("DLCORE_DATABASE_URL", "DLCORE_ADMIN_USER", "DLCORE_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    reset()
    yield tmp_path / "workspace"
    monkeypatch.undo()
    reset()


@pytest.fixture
def tiny_model(fresh):
    """A one-epoch breast-cancer model in the fresh workspace, and its saved dataset."""
    from dlcore.data import load_demo
    from dlcore.data.catalog import ensure_saved
    from dlcore.models.spec import ModelSpec
    from dlcore.training.pipeline import train_and_register

    dataset = load_demo("breast_cancer")
    dataset_id = ensure_saved(dataset)
    spec = ModelSpec(hidden_units=[8], epochs=1, batch_size=64, seed=1)
    outcome = train_and_register(dataset, spec, name="tiny review model")
    return outcome.record.id, dataset_id


# -- who sees what -----------------------------------------------------------------------------


def test_a_signed_in_clinician_sees_only_the_clinical_pages(fresh, monkeypatch):
    from dlcore.governance.accounts import create_user

    monkeypatch.setenv("DLCORE_AUTH", "local")
    create_user("dr.clin", "clinician", PASSWORD, display_name="Dr Clin")
    at = new_app()
    healthy(at.run())
    assert [b.label for b in at.button] == ["Sign in"]  # nothing but the sign-in form
    assert not reachable(at, "home")

    sign_in(at, "dr.clin", PASSWORD)
    assert texts(at.title) == ["Clinician deep-learning dashboard"]
    assert "Use demo data" not in [b.label for b in at.button]  # its Data page is not theirs
    assert any("Dr Clin" in m for m in texts(at.sidebar.markdown))
    login = audit_rows("dr.clin", "login")
    assert len(login) == 1 and login.iloc[0]["role"] == "clinician"

    # The navigation app.py built for this role (AppTest refuses pages that are not in it).
    # Checked after a run of app.py: AppTest runs later page scripts without it.
    pages = [p for p in CLINICIAN_PAGES if (ROOT / "pages" / f"{p}.py").is_file()]
    assert {"home", "predict", "explain", "review"} <= set(pages)
    assert all(reachable(at, page) for page in pages)
    for page in ("data", "train", "models", "admin"):
        with pytest.raises(ValueError, match="navigation page"):
            at.switch_page(f"pages/{page}.py")

    healthy(button(at.sidebar.button, "Sign out").click().run())
    assert ACCOUNT_KEY not in at.session_state
    assert any("Sign in first" in i for i in texts(at.info))
    assert len(audit_rows("dr.clin", "logout")) == 1

    at = sign_in(new_app(), "dr.clin", PASSWORD)
    for page in pages:
        open_page(at, page)
        assert not [b for b in at.button if "Delete" in b.label], page
    open_page(at, "review")
    assert texts(at.title) == ["Review"]
    assert "Create the session" not in [b.label for b in at.button]  # trainers create sessions

    # Learn is open to clinicians, but running the survey's example trains a model: not theirs.
    open_page(at, "learn")
    assert texts(at.title) == ["Learn"]
    assert "Run the example" not in [b.label for b in at.button] and not at.get("file_uploader")
    assert any("the clinician role does not do" in i for i in texts(at.info))
    assert at.get("plotly_chart")  # the concepts themselves are computed and shown


def test_pages_check_the_role_themselves(fresh, monkeypatch):
    """Were a page script run without app.py, it still refuses a role that may not use it."""
    from dlcore.governance.accounts import Account

    monkeypatch.setenv("DLCORE_AUTH", "local")
    for page, account in [
        ("admin", Account("dr.c", "clinician")),
        ("admin", Account("t.t", "trainer")),
        ("data", Account("dr.c", "clinician")),
        ("train", Account("dr.c", "clinician")),
        ("review", None),
    ]:
        at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=60)
        if account is not None:
            signed_in(at, account)
        healthy(at.run())
        shown = texts(at.info)
        refusal = "role cannot use this page" if account else "Sign in first"
        assert shown and refusal in shown[-1], (page, shown)
        assert not at.button and not at.text_input, page


def test_a_wrong_password_is_refused_and_audited(fresh, monkeypatch):
    from dlcore.governance.accounts import create_user

    monkeypatch.setenv("DLCORE_AUTH", "local")
    create_user("dr.wrong", "clinician", PASSWORD)
    at = sign_in(new_app(), "dr.wrong", "not the passphrase")
    assert any("username or password is wrong" in e for e in texts(at.error))
    assert [b.label for b in at.button] == ["Sign in"]
    assert len(audit_rows("dr.wrong", "login_failed")) == 1


def test_a_trainer_cannot_reach_administration_and_an_admin_can(fresh, monkeypatch):
    from dlcore.governance.accounts import Account

    monkeypatch.setenv("DLCORE_AUTH", "local")
    at = new_app(Account("t.rainer", "trainer", "Trainer"))
    healthy(at.run())
    for page in ("data", "train", "models", "review"):
        assert reachable(at, page), page
    with pytest.raises(ValueError, match="navigation page"):
        at.switch_page("pages/admin.py")
    open_page(at, "review")
    assert [t.label for t in at.tabs] == ["Review cases", "Sessions", "Summary"]

    at = new_app(Account("a.dmin", "admin", "Admin"))
    healthy(at.run())
    open_page(at, "admin")
    assert texts(at.title) == ["Administration"]
    assert [t.label for t in at.tabs] == ["Users", "Audit trail", "Settings"]


def test_disabling_an_account_ends_its_open_session_and_a_new_role_applies_at_once(
    fresh, monkeypatch
):
    from dlcore.governance.accounts import Account, create_user, set_active, set_role

    monkeypatch.setenv("DLCORE_AUTH", "local")
    create_user("chief", "admin", PASSWORD)
    at = new_app(Account("dr.moves", "clinician", "Dr Moves"))
    healthy(at.run())
    assert not reachable(at, "train")

    set_role("dr.moves", "trainer", actor=Account("chief", "admin", "Chief"))  # elsewhere
    healthy(at.run())
    assert at.session_state[ACCOUNT_KEY].role == "trainer"
    assert reachable(at, "train")
    account = at.session_state[ACCOUNT_KEY]

    # Disabled while signed in: the session's next run (here on the Train page) refuses it...
    set_active("dr.moves", False, actor=Account("chief", "admin", "Chief"))
    healthy(at.run())
    assert ACCOUNT_KEY not in at.session_state and not at.button
    # ...and the app's start page says why (AppTest runs a switched-to page without app.py, so
    # the frame's own run is shown with the same signed-in state in a second AppTest).
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state[ACCOUNT_KEY] = account
    healthy(at.run())
    assert ACCOUNT_KEY not in at.session_state
    assert any("has ended" in w and "dr.moves" in w for w in texts(at.warning))
    assert widget(at.text_input, "Username")
    ended = audit_rows("dr.moves", "session_ended")
    assert len(ended) == 2  # once per session


def test_demo_mode_shows_the_banner(fresh, monkeypatch):
    monkeypatch.delenv("DLCORE_AUTH", raising=False)
    at = new_app()
    healthy(at.run())
    assert any("Demo mode — no login." in h for h in texts(at.get("html")))
    open_page(at, "admin")  # everyone is an administrator, and told so
    assert any("Demo mode" in w for w in texts(at.warning))
    settings = frame_with(at, "in effect").set_index("setting")["in effect"]
    assert settings["Sign-in"].startswith("none: open demo mode")
    assert settings["Workspace (DLCORE_HOME)"] == str(fresh.resolve())
    assert settings["Database (DLCORE_DATABASE_URL)"].startswith("sqlite:///")

    # A database password never reaches the page.
    import dataclasses

    import dlcore.config

    shown = dataclasses.replace(
        dlcore.config.get_settings(),
        database_url="postgresql+psycopg://dlcore:s3cret-pw@db.example.org:5432/dlcore",
    )
    monkeypatch.setattr(dlcore.config, "get_settings", lambda: shown)  # what the page reads
    healthy(at.run())
    settings = frame_with(at, "in effect").set_index("setting")["in effect"]
    assert settings["Database (DLCORE_DATABASE_URL)"] == (
        "postgresql+psycopg://dlcore:***@db.example.org:5432/dlcore"
    )
    assert not any("s3cret" in str(v) for d in at.dataframe for v in d.value.to_numpy().ravel())


# -- administration ----------------------------------------------------------------------------


def test_the_first_administrator_is_created_from_the_sign_in_page_and_audited(fresh, monkeypatch):
    from dlcore.governance.accounts import authenticate

    monkeypatch.setenv("DLCORE_AUTH", "local")
    at = new_app()
    healthy(at.run())
    assert any("No account exists yet" in i for i in texts(at.info))
    widget(at.text_input, "Username").input("chief")
    widget(at.text_input, "Full name").input("Chief")
    widget(at.text_input, "Password (at least").input(PASSWORD)
    widget(at.text_input, "Password again").input(PASSWORD)
    healthy(button(at.button, "Create the administrator").click().run())
    assert any("Created" in s for s in texts(at.success)), texts(at.error)
    assert authenticate("chief", PASSWORD).role == "admin"
    created = audit_rows("chief", "user_create")  # written once, by the engine
    assert list(created["object id"]) == ["chief"] and created.iloc[0]["detail"] == "role=admin"
    # With an account in the store the form is gone: a second 'first' admin cannot be made.
    healthy(at.run())
    assert "Create the administrator" not in [b.label for b in at.button]


def test_admin_creates_and_changes_accounts_with_audit_rows(fresh, monkeypatch):
    from dlcore.governance.accounts import Account, authenticate, create_user, list_users
    from dlcore.store import UserRow, get_store

    monkeypatch.setenv("DLCORE_AUTH", "local")
    create_user("chief", "admin", PASSWORD, display_name="Chief")
    at = sign_in(new_app(), "chief", PASSWORD)
    open_page(at, "admin")

    # A hostile display name is stored as typed and shown as text; the users table survives.
    widget(at.text_input, "Username").input("dr.new")
    widget(at.selectbox, "Role").set_value("clinician")
    widget(at.text_input, "Full name").input(HOSTILE)
    widget(at.text_input, "E-mail").input("Dr.New@Example.org")
    widget(at.text_input, "Password").input("the new doctor's passphrase")
    healthy(button(at.button, "Create the account").click().run())
    assert any("Created the clinician account" in s for s in texts(at.success))
    with get_store().session() as session:
        row = session.scalar(select(UserRow).where(UserRow.username == "dr.new"))
        assert session.scalar(text("SELECT COUNT(*) FROM users")) == 2
    assert row.display_name == HOSTILE and row.email == "dr.new@example.org"
    assert row.password_hash.startswith("$argon2id$") and "passphrase" not in row.password_hash
    assert authenticate("dr.new", "the new doctor's passphrase").role == "clinician"
    users = frame_with(at, "e-mail (for OIDC)")
    assert HOSTILE in set(users["name"]) and "password_hash" not in users.columns
    created = audit_rows("chief", "user_create")  # newest first; the first account audits itself
    assert list(created["object id"]) == ["dr.new", "chief"]
    assert created.iloc[0]["detail"] == "role=clinician"

    # A username that is SQL is refused with the rule, and nothing else happens.
    widget(at.text_input, "Username").input("x'); DROP TABLE users;--")
    widget(at.text_input, "Password").input("another long passphrase")
    healthy(button(at.button, "Create the account").click().run())
    assert any("is not allowed" in e for e in texts(at.error))
    assert len(list_users(actor=Account("chief", "admin"))) == 2

    # Change the role, disable, reset the password: each an audit row on the account.
    healthy(widget(at.selectbox, "Account").set_value("dr.new").run())
    healthy(at.selectbox(key="admin_role_dr.new").set_value("trainer").run())
    healthy(button(at.button, "Change role").click().run())
    healthy(button(at.button, "Disable account").click().run())
    assert authenticate("dr.new", "the new doctor's passphrase") is None
    healthy(button(at.button, "Enable account").click().run())
    widget(at.text_input, "New password again").input("a fresh passphrase!")
    widget(at.text_input, "New password").input("a fresh passphrase!")
    healthy(button(at.button, "Reset password").click().run())
    assert authenticate("dr.new", "a fresh passphrase!").role == "trainer"
    changes = audit_rows("chief", "user_change")
    assert list(changes["object id"]) == ["dr.new"] * 4
    assert list(changes["detail"])[::-1] == [
        "role=trainer, previous_role=clinician",
        "role=trainer, active=False",
        "role=trainer, active=True",
        "role=trainer, password_reset=True",
    ]

    # The audit trail, filtered, and exported (which is itself audited).
    healthy(widget(at.selectbox, "Who").set_value("chief").run())
    healthy(widget(at.selectbox, "Action").set_value("user_change").run())
    trail = frame_with(at, "who")
    assert len(trail) == 4 and set(trail["who"]) == {"chief"}
    healthy(at.download_button[0].click().run())
    exported = audit_rows("chief", "export")
    assert len(exported) == 1 and "format=csv" in exported.iloc[0]["detail"]


# -- review sessions ---------------------------------------------------------------------------


def create_session(at: AppTest, name: str, instructions: str) -> str:
    """Fill the trainer's form with the defaults (rows 0–19 of the model's dataset) and create."""
    from dlcore.governance.review import list_review_sessions

    before = {s.id for s in list_review_sessions(include_closed=True)}
    widget(at.text_input, "Session name").input(name)
    widget(at.text_area, "Instructions").input(instructions)
    healthy(at.run())
    assert any(c.startswith("20 case(s): 0, 1, 2") for c in texts(at.caption))
    healthy(button(at.button, "Create the session").click().run())
    new = [s for s in list_review_sessions(include_closed=True) if s.id not in before]
    assert len(new) == 1, texts(at.error)
    return new[0].id


def decide(at: AppTest, agree: bool, note: str, confidence: int = 4) -> AppTest:
    widget(at.radio, "Your decision").set_value("Agree" if agree else "Disagree")
    widget(at.select_slider, "Confidence").set_value(confidence)
    widget(at.text_area, "Note").input(note)
    return healthy(button(at.button, "Save decision").click().run())


def progress_text(at: AppTest) -> str:
    return at.get("progress")[0].text


def test_a_review_session_is_created_decided_resumed_after_a_restart_and_summarised(
    tiny_model, monkeypatch
):
    from dlcore.governance.accounts import Account
    from dlcore.governance.review import get_review_session, review_cases, reviewer_decisions
    from dlcore.store import reset_stores

    model_id, dataset_id = tiny_model
    monkeypatch.setenv("DLCORE_AUTH", "local")
    trainer = Account("t.lead", "trainer", "Trainer Lead")
    clinician = Account("dr.rev", "clinician", "Dr Rev")

    at = new_app(trainer)
    healthy(at.run())
    open_page(at, "review")
    assert any("no open review session" in i for i in texts(at.info))
    session_id = create_session(at, HOSTILE, f"Look at the nuclei. {HOSTILE}")
    review = get_review_session(session_id)
    assert review.name == HOSTILE and review.n_cases == 20 and review.dataset_id == dataset_id
    assert not review.show_identifiers
    created = audit_rows("t.lead", "review_create")
    assert list(created["object id"]) == [session_id]
    assert created.iloc[0]["model"] == model_id
    assert created.iloc[0]["model version"] == review.model_version
    assert created.iloc[0]["detail"] == "n=20"

    # A clinician: the instructions as plain text, the queue from the start, two decisions.
    at = new_app(clinician)
    healthy(at.run())
    open_page(at, "review")
    assert f"Look at the nuclei. {HOSTILE}" in texts(at.text)
    assert HOSTILE in widget(at.selectbox, "Review session").format_func(session_id)
    assert progress_text(at) == "Case 1 of 20 · 0 decided"
    cases = review_cases(session_id)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Decision at threshold 0.50"] == cases.iloc[0]["prediction"]
    from dlcore.report.wording import percent_text

    assert shown["Probability of malignant"] == percent_text(cases.iloc[0]["probability"])
    assert any(("Raises it" in i or "Lowers it" in i) for i in texts(at.info))
    record = frame_with(at, "variable")
    assert "mean radius" in set(record["variable"]) and "diagnosis" not in set(record["variable"])
    # Values as the data has them (issue 14 #14): 'mean area' 1001 is not '1001.0'.
    assert not [v for v in record["value"] if v.endswith(".0")], list(record["value"])

    decide(at, agree=True, note=HOSTILE)
    assert progress_text(at) == "Case 2 of 20 · 1 decided"
    widget(at.selectbox, "Your label").set_value(
        next(c for c in ("benign", "malignant") if c != cases.iloc[1]["prediction"])
    )
    decide(at, agree=False, note="Looks benign to me; biopsy anyway.", confidence=2)
    assert progress_text(at) == "Case 3 of 20 · 2 decided"
    mine = reviewer_decisions(session_id, "dr.rev")
    assert list(mine["agree"]) == [True, False] and mine.iloc[0]["note"] == HOSTILE
    decisions = audit_rows("dr.rev", "review_decision")
    assert set(decisions["object id"]) == {session_id}
    assert set(decisions["model version"]) == {review.model_version}
    # Case numbers as the page shows them (1-based), in the audit trail too.
    assert list(decisions["detail"])[::-1] == ["case=1, agree=True", "case=2, agree=False"]

    # The app restarts: a new session of the app, the store opened anew; the queue resumes.
    reset_stores()
    at = new_app(clinician)
    healthy(at.run())
    open_page(at, "review")
    assert progress_text(at) == "Case 3 of 20 · 2 decided"
    healthy(button(at.button, "Previous").click().run())
    assert progress_text(at) == "Case 2 of 20 · 2 decided"
    assert widget(at.text_area, "Note").value == "Looks benign to me; biopsy anyway."

    # The trainer's summary: agreement, kappa, the disagreement with its note, and the export.
    at = new_app(trainer)
    healthy(at.run())
    open_page(at, "review")
    shown = {m.label: m.value for m in at.metric}
    assert shown["Decisions"] == "2" and shown["Agreement with the model"] == "50%"
    per_reviewer = frame_with(at, "kappa (model vs reviewer)")
    assert list(per_reviewer["reviewer"]) == ["dr.rev"]
    assert per_reviewer.iloc[0]["agreement with model"] == 0.5
    disagreements = frame_with(at, "reviewer said")
    assert list(disagreements["note"]) == ["Looks benign to me; biopsy anyway."]
    assert list(disagreements["case"]) == [2]  # the page's "Case 2 of 20"
    assert disagreements.iloc[0]["probability"].endswith("%")
    assert button(at.download_button, "Download all decisions (CSV)").proto.url
    healthy(button(at.download_button, "Download all decisions (CSV)").click().run())
    exported = audit_rows("t.lead", "export")
    assert (
        list(exported["object id"]) == [session_id] and exported.iloc[0]["detail"] == "format=csv"
    )

    # Closed: no more decisions, and it leaves the reviewers' list.
    healthy(button(at.button, "Close session").click().run())
    assert get_review_session(session_id).closed
    at = new_app(clinician)
    healthy(at.run())
    open_page(at, "review")
    assert any("no open review session" in i for i in texts(at.info))


def test_case_lists_are_parsed_and_bad_ones_explained(tiny_model, monkeypatch):
    from dlcore.governance.accounts import Account
    from dlcore.governance.review import review_cases

    monkeypatch.setenv("DLCORE_AUTH", "local")
    at = new_app(Account("t.list", "trainer"))
    healthy(at.run())
    open_page(at, "review")
    healthy(widget(at.radio, "Cases").set_value("A list").run())
    widget(at.text_input, "Rows").input("3, 8, 12-14, 8")
    healthy(at.run())
    assert any(
        c == "5 case(s): 3, 8, 12, 13, 14. Rows are numbered from 0, as in the dataset."
        for c in texts(at.caption)
    )
    widget(at.text_input, "Rows").input("3, <b>8</b>")
    healthy(at.run())
    assert any("'<b>8</b>' in the list of cases is not a row number" in e for e in texts(at.error))
    widget(at.text_input, "Rows").input("560-570")
    widget(at.text_input, "Session name").input("beyond the end")
    healthy(button(at.button, "Create the session").click().run())
    assert any("outside the dataset" in e for e in texts(at.error))

    healthy(widget(at.radio, "Cases").set_value("A random sample").run())
    healthy(widget(at.number_input, "Number of cases").set_value(5).run())
    healthy(button(at.button, "Create the session").click().run())
    sample = at.session_state["review_session_choice"]
    first = list(review_cases(sample)["record_index"])
    assert len(first) == 5 and first == sorted(first)
    assert len(audit_rows("t.list", "review_create")) == 1


def test_an_image_case_shows_the_image_beside_its_heatmap(fresh, monkeypatch):
    from dlcore.data.catalog import load_dataset, save_dataset
    from dlcore.data.images import load_digits_images
    from dlcore.governance.accounts import Account
    from dlcore.governance.review import create_review_session, review_cases, reviewer_decisions
    from dlcore.models.spec import ModelSpec
    from dlcore.training.pipeline import train_and_register

    dataset = load_dataset(save_dataset(load_digits_images(28)))
    spec = ModelSpec(
        architecture="cnn", conv_filters=[4], hidden_units=[8], epochs=1, batch_size=64, seed=1
    )
    model_id = train_and_register(dataset, spec, name="tiny digits").record.id
    session_id = create_review_session(
        "digits", model_id, dataset.id, [5, 9, 40], created_by="t.img"
    )
    first = review_cases(session_id).iloc[0]

    monkeypatch.setenv("DLCORE_AUTH", "local")
    at = new_app(Account("dr.img", "clinician"))
    healthy(at.run())
    open_page(at, "review")
    assert progress_text(at) == "Case 1 of 3 · 0 decided"
    captions = [c for image in at.image for c in image.captions]
    assert captions[0] == "The image"
    assert captions[1] == f"Grad-CAM: the evidence for {first['prediction']}"
    shown = {m.label: m.value for m in at.metric}
    assert shown["Predicted class"] == first["prediction"]
    from dlcore.report.wording import percent_text

    assert shown["Its probability"] == percent_text(first["probability"])
    own = next(str(k) for k in range(10) if str(k) != first["prediction"])
    widget(at.selectbox, "Your label").set_value(own)
    decide(at, agree=False, note="")
    assert progress_text(at) == "Case 2 of 3 · 1 decided"
    assert list(reviewer_decisions(session_id, "dr.img")["label"]) == [own]


# -- OpenID Connect ----------------------------------------------------------------------------


def oidc_app(email: str | None) -> AppTest:
    at = new_app()
    at.secrets = OIDC_SECRETS
    at.user = {"is_logged_in": False} if email is None else {"is_logged_in": True, "email": email}
    return at


def test_oidc_sign_in_maps_the_e_mail_to_a_local_account(fresh, monkeypatch):
    from dlcore.governance.accounts import create_user

    monkeypatch.setenv("DLCORE_AUTH", "oidc")
    create_user("dr.oidc", "clinician", display_name="Dr Oidc", email="Dr@Example.org")

    at = oidc_app("dr@example.org")
    healthy(at.run())
    assert texts(at.title) == ["Clinician deep-learning dashboard"]
    assert any("Dr Oidc" in m for m in texts(at.sidebar.markdown))
    assert reachable(at, "review") and reachable(at, "predict")
    for page in ("train", "admin"):
        with pytest.raises(ValueError, match="navigation page"):
            at.switch_page(f"pages/{page}.py")
    login = audit_rows("dr.oidc", "login")
    assert len(login) == 1 and login.iloc[0]["detail"] == "via=oidc"

    at = oidc_app("stranger@example.org")
    healthy(at.run())
    assert any("no account of this app has that e-mail" in e for e in texts(at.error))
    assert not reachable(at, "home")

    at = oidc_app(None)
    healthy(at.run())
    assert [b.label for b in at.button] == ["Sign in"]
    assert not reachable(at, "home")


# -- audit rows from Data ----------------------------------------------------------------------


def test_an_upload_is_audited_by_its_hash_never_its_name(fresh, monkeypatch):
    import hashlib

    from dlcore.data.synthetic import make_cohort

    monkeypatch.delenv("DLCORE_AUTH", raising=False)
    data = make_cohort(60, seed=1).to_csv(index=False).encode()
    at = new_app()
    healthy(at.run())
    open_page(at, "data")
    healthy(
        at.file_uploader(key="data_upload")
        .set_value(("Jane_Doe_records.csv", data, "text/csv"))
        .run()
    )
    healthy(at.run())  # a rerun does not audit the same upload twice
    uploads = audit_rows("demo", "upload")
    assert len(uploads) == 1
    row = uploads.iloc[0]
    assert row["object id"] == hashlib.sha256(data).hexdigest()
    assert (
        f"sha256={hashlib.sha256(data).hexdigest()}" in row["detail"] and "rows=60" in row["detail"]
    )
    assert "Jane" not in row.to_csv()


def test_starting_training_is_audited_with_the_job_and_dataset(fresh, monkeypatch):
    from dlcore.training.jobs import cancel_job, list_jobs, wait_for_job

    monkeypatch.delenv("DLCORE_AUTH", raising=False)
    at = new_app()
    healthy(at.run())
    open_page(at, "train")
    healthy(widget(at.number_input, "Epochs").set_value(1).run())
    healthy(button(at.button, "Start training").click().run())
    jobs = list_jobs(limit=5)
    assert len(jobs) == 1
    job = wait_for_job(cancel_job(jobs[0].id).id, timeout_s=120)
    assert not job.is_active
    trained = audit_rows("demo", "train")
    assert len(trained) == 1 and trained.iloc[0]["object id"] == job.id
    dataset_id = job.params["dataset_id"]
    assert trained.iloc[0]["detail"] == f"job_id={job.id}, dataset_id={dataset_id}"
