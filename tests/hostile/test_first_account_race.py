"""Twelve processes creating a fresh workspace's first account at the same moment (no acting
account: the bootstrap path): the database's bootstrap claim lets exactly one in, the others are
refused with the clear error, and the audit trail holds exactly one creation."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from apptools import race_at_start_line
from sqlalchemy import text

from dlcore.config import get_settings
from dlcore.store import get_store

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("first_account_child.py")
RACERS = 12
FIX = "an account already exists; sign in as its admin to add accounts"


def test_twelve_processes_racing_for_the_first_account_one_wins(isolated_workspace):
    from dlcore.governance.audit import audit_frame, verify_chain
    from dlcore.governance.roles import Account

    get_store()  # the workspace's tables exist before the racers open it
    environment = {
        **os.environ,
        "DLCORE_HOME": str(get_settings().home),
        "DLCORE_AUTH": "local",
        "PYTHONPATH": str(ROOT),
    }
    environment.pop("DLCORE_DATABASE_URL", None)
    outputs = race_at_start_line(
        [[sys.executable, str(CHILD), str(i)] for i in range(RACERS)],
        environment,
        get_settings().home,
    )
    outcomes = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    created = [i for i, outcome in enumerate(outcomes) if outcome["outcome"] == "created"]
    refused = [outcome["error"] for outcome in outcomes if outcome["outcome"] == "refused"]
    raced = sum(outcome["saw_none"] for outcome in outcomes)
    print(
        f"{RACERS} racers, {raced} saw no account: {len(created)} created, {len(refused)} refused"
    )
    assert len(created) == 1, outcomes
    assert len(refused) == RACERS - 1, outcomes
    assert raced >= 2, outcomes  # a real race: several got past the "no account yet?" check
    assert all(r.startswith("FirstAccountTakenError") and FIX in r for r in refused), refused
    winner = f"admin{created[0]}"
    with get_store().engine.connect() as connection:
        users = connection.execute(text("SELECT username, role FROM users")).all()
        claims = connection.execute(text("SELECT claim, username FROM bootstrap")).all()
    assert [tuple(u) for u in users] == [(winner, "admin")]
    assert [tuple(c) for c in claims] == [("first_account", winner)]
    trail = audit_frame(actor=Account(winner, "admin"))
    creations = trail[trail["action"] == "user_create"]
    assert len(trail) == 1 and list(creations["who"]) == [winner], trail
    assert verify_chain().ok
