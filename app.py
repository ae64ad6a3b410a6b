"""The frame: page config, sign-in, navigation by role, and the shared sidebar. Pages are in pages/."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import auth, sidebar, startup

HERE = Path(__file__).parent

st.set_page_config(
    page_title="Clinician deep-learning dashboard",
    # A file shipped with the app: a ':material/…:' page icon makes the browser fetch it from a CDN.
    page_icon=str(HERE / "assets" / "icon.png"),
    layout="wide",
)
st.logo(str(HERE / "assets" / "logo.png"), size="large")
st.html(f"<style>{(HERE / 'assets' / 'style.css').read_text()}</style>")

# (section, script, title, icon, permission): a page a role may not use is not in its navigation,
# so it cannot be reached by URL either.
PAGES = [
    ("", "pages/home.py", "Home", ":material/home:", "home"),
    ("Data", "pages/data.py", "Data", ":material/table_chart:", "data"),
    ("Data", "pages/train.py", "Train", ":material/model_training:", "train"),
    ("Data", "pages/models.py", "Models", ":material/inventory_2:", "models"),
    ("Use", "pages/predict.py", "Predict", ":material/stethoscope:", "predict"),
    ("Use", "pages/explain.py", "Explain", ":material/insights:", "explain"),
    ("Use", "pages/evaluate.py", "Evaluate", ":material/fact_check:", "evaluate"),
    ("Use", "pages/review.py", "Review", ":material/rate_review:", "review"),
    ("Learn", "pages/learn.py", "Learn", ":material/school:", "learn"),
    ("Admin", "pages/admin.py", "Administration", ":material/admin_panel_settings:", "admin"),
]

startup.boot()  # done already, or deferred until this first page is drawn (ui.serve)
account = auth.current_account()
if account is None:
    st.navigation(
        [st.Page(auth.sign_in_page, title="Sign in", icon=":material/login:", url_path="sign-in")]
    ).run()
    startup.after_first_page()
    st.stop()

sections: dict[str, list] = {}
for section, script, title, icon, permission in PAGES:
    if auth.allowed(account, permission) and (HERE / script).is_file():
        sections.setdefault(section, []).append(
            st.Page(script, title=title, icon=icon, default=script.endswith("home.py"))
        )
page = st.navigation(sections)
# Drawn before the page, so that a page that stops early (st.stop: nothing can be drawn after it in
# this run) still has it; redrawn after the page when the page changed the dataset or model.
finish_sidebar = sidebar.begin(account)
try:
    page.run()
finally:
    startup.after_first_page()
    finish_sidebar()
