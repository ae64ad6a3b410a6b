"""Streamlit-side helpers shared by the pages: cached loaders, session state, shared widgets."""
