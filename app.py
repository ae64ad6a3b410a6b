"""The frame: page config, navigation and the shared sidebar. Pages live in pages/."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import sidebar, startup

HERE = Path(__file__).parent

st.set_page_config(
    page_title="Clinician deep-learning dashboard",
    page_icon=":material/cardiology:",
    layout="wide",
)
st.logo(str(HERE / "assets" / "logo.png"), size="large")
st.html(f"<style>{(HERE / 'assets' / 'style.css').read_text()}</style>")

PAGES = {
    "": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
    "Data": [
        st.Page("pages/data.py", title="Data", icon=":material/table_chart:"),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/models.py", title="Models", icon=":material/inventory_2:"),
    ],
    "Use": [
        st.Page("pages/predict.py", title="Predict", icon=":material/stethoscope:"),
        st.Page("pages/explain.py", title="Explain", icon=":material/insights:"),
    ],
}

page = st.navigation(PAGES)
startup.boot()
try:
    page.run()
finally:
    # Drawn after the page so it shows the page's choices; st.stop() in a page still lands here.
    sidebar.render()
