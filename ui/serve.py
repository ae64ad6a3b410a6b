"""Start the dashboard: ``python -m ui.serve [streamlit options]`` (what ``make run`` does).

It is ``streamlit run app.py``, with the start-up work (store, stale jobs, demo data, the demo
model's job) deferred until the first page has been drawn: that page reads the workspace with a
light query and imports nothing heavy, then a background thread prepares the workspace and
imports what the other pages need (see ui.startup).
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"
logger = logging.getLogger("dashboard")
# What the first page's script run imports, in the order it needs them: app.py's own modules, and
# numpy and Pillow, which Streamlit imports to serve any image (the page icon and the logo).
FIRST_PAGE_MODULES = (
    "ui.auth",
    "ui.sidebar",
    "numpy",
    "PIL.Image",
    # what Pillow's Image.preinit() loads before it opens any image
    "PIL.BmpImagePlugin",
    "PIL.GifImagePlugin",
    "PIL.JpegImagePlugin",
    "PIL.PpmImagePlugin",
    "PIL.PngImagePlugin",
    "dlcore.governance.roles",
)
SERVER_START_WAIT_S = 60.0


def warm_first_page(modules: tuple[str, ...] = FIRST_PAGE_MODULES) -> None:
    """Import what the first page needs once the server listens, while the browser loads the app.

    The server has nothing else to do between answering its health check and the browser's first
    script run (the browser downloads and starts the front end meanwhile); started earlier, these
    imports would only delay the server's own start.
    """
    from streamlit.runtime import Runtime
    from streamlit.runtime.runtime import RuntimeState

    deadline = time.monotonic() + SERVER_START_WAIT_S
    while time.monotonic() < deadline:
        if Runtime.exists() and Runtime.instance().state in (
            RuntimeState.NO_SESSIONS_CONNECTED,
            RuntimeState.ONE_OR_MORE_SESSIONS_CONNECTED,
        ):
            break
        time.sleep(0.02)
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # the first page meets the same problem and reports it
            logger.exception("warming %s failed", name)


def main() -> int:
    """Run Streamlit on app.py with the given options."""
    from streamlit.web import cli

    import ui  # noqa: F401  (its import stops Streamlit's pages-folder mode before any run)
    from ui import startup

    startup.defer_boot()
    threading.Thread(target=warm_first_page, name="dashboard-warm", daemon=True).start()
    sys.argv = ["streamlit", "run", str(APP), *sys.argv[1:]]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
