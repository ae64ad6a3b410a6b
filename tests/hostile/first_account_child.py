"""One of many processes creating a fresh workspace's first account at the same moment: waits
for the start signal, then creates its own admin without an acting account and prints one JSON
line: the outcome ('created' or 'refused'), the error, and whether its own check found no
account (it then raced for the database's claim). Usage: first_account_child.py INDEX."""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    index = int(sys.argv[1])
    from dlcore.config import get_settings
    from dlcore.errors import UserError
    from dlcore.governance import accounts
    from dlcore.store import get_store

    get_store()  # opened before the start line: the race is the creation, not the open
    seen: list[bool] = []
    check = accounts.has_accounts

    def recorded_check() -> bool:
        seen.append(check())
        return seen[-1]

    accounts.has_accounts = recorded_check
    start = get_settings().home / "start"
    (get_settings().home / f"ready-{index}").write_text("ready")
    while not start.exists():
        time.sleep(0.005)
    result = {"outcome": "created", "error": None}
    try:
        accounts.create_user(f"admin{index}", "admin", "first admin passphrase")
    except UserError as exc:
        result = {"outcome": "refused", "error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps({**result, "saw_none": seen == [False]}))


if __name__ == "__main__":
    main()
