"""Start the dashboard: ``python -m ui.serve [streamlit options]`` (what ``make run`` does).

It is ``streamlit run app.py``, with the start-up work (store, stale jobs, demo data, the demo
model's job) deferred until the first page has been drawn: that page reads the workspace with a
light query and imports nothing heavy, then a background thread prepares the workspace and
imports what the other pages need (see ui.startup).
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"


def main() -> int:
    """Run Streamlit on app.py with the given options."""
    from streamlit.web import cli

    import ui  # noqa: F401  (its import stops Streamlit's pages-folder mode before any run)
    from ui import startup

    startup.defer_boot()
    sys.argv = ["streamlit", "run", str(APP), *sys.argv[1:]]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
