"""``python -m dlcore``: the command line (see dlcore.cli)."""

from dlcore.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
