"""Streamlit-side helpers shared by the pages: cached loaders, session state, shared widgets.

Importing ``ui`` adjusts two Streamlit internals (Streamlit 1.67 offers no option for either);
tests/test_architecture.py pins both, so a Streamlit upgrade that moves them fails loudly.
"""

from __future__ import annotations

import contextlib
import sys


def _stop_pages_folder_mode() -> None:
    """Make every script run start at app.py, whatever URL the first visitor opens.

    Streamlit decides on a server's first script run whether the app is a legacy ``pages/``
    folder app; until app.py has called st.navigation once, a URL such as /data runs
    pages/data.py directly, without app.py's frame (sign-in, navigation by role, sidebar; each
    page still checks its role with ui.auth.require_page). This runs as soon as any page imports
    ``ui`` (and before the server starts under ``python -m ui.serve``).
    """
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False


def _clean_problem_modules_without_full_gc() -> None:
    """What Streamlit does after every script run, minus Keras' full garbage collection.

    Streamlit calls ``keras.backend.clear_session()`` after each run once Keras is imported; its
    default ``gc.collect()`` over TensorFlow's objects took ~1 s per page switch under load (the
    same cost as ``[runner] postScriptGC``, which .streamlit/config.toml turns off).
    """
    keras = sys.modules.get("keras")
    if keras is not None:
        with contextlib.suppress(Exception):  # as Streamlit does: never fail a run over this
            keras.backend.clear_session(free_memory=False)
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        with contextlib.suppress(Exception):
            pyplot.close("all")


def _no_full_gc_after_runs() -> None:
    from streamlit.runtime.scriptrunner import script_runner

    script_runner._clean_problem_modules = _clean_problem_modules_without_full_gc


_stop_pages_folder_mode()
_no_full_gc_after_runs()
