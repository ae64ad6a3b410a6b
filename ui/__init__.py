"""Streamlit-side helpers shared by the pages: cached loaders, session state, shared widgets."""


def _stop_pages_folder_mode() -> None:
    """Make every script run start at app.py, whatever URL the first visitor opens.

    Streamlit decides on a server's first script run whether the app is a legacy ``pages/``
    folder app; until app.py has called st.navigation once, a URL such as /data runs
    pages/data.py directly, without app.py's sign-in and role checks. This runs as soon as
    any page imports ``ui`` (and before the server starts under ``python -m ui.serve``).
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager

        PagesManager.uses_pages_directory = False
    except Exception:  # a Streamlit without this attribute has no such mode to stop
        pass


_stop_pages_folder_mode()
