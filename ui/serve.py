"""Start the dashboard: ``python -m ui.serve [streamlit options]`` (what ``make run`` does).

It is ``streamlit run app.py``, plus a warm-up: while the web server starts and the browser loads
the page, a background thread imports the engine and prepares the workspace (store, demo data),
so the first page renders sooner. The first script run then finds all of it done.
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

logger = logging.getLogger("dashboard")
APP = Path(__file__).resolve().parents[1] / "app.py"


def warm_up() -> None:
    """Import what the first page needs and open the workspace; never raises."""
    try:
        import plotly.graph_objects  # noqa: F401  (every chart)

        from dlcore.store import get_store
        from dlcore.training.demo_models import ensure_demo_datasets
        from ui import common, sidebar, startup  # noqa: F401

        get_store()
        ensure_demo_datasets()
    except Exception:  # the app's own start-up will meet and report the same problem
        logger.exception("warm-up failed")


def main() -> int:
    """Run Streamlit on app.py with the given options."""
    from streamlit.web import cli

    import ui  # noqa: F401  (its import stops Streamlit's pages-folder mode before any run)

    threading.Thread(target=warm_up, name="dashboard-warm-up", daemon=True).start()
    sys.argv = ["streamlit", "run", str(APP), *sys.argv[1:]]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
