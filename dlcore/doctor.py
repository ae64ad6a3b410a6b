"""``python -m dlcore doctor``: check the workspace and the database, repair what is safe to repair.

It removes temporary folders left by writers that died, marks jobs whose worker stopped beating
as failed, releases the first-account claim of a workspace whose accounts were all deleted by
hand (else nobody could create its first account again), and reports (without touching) model files that do not match their checksums, index
rows without a folder, a damaged database and a broken audit hash chain.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from dlcore.config import get_settings
from dlcore.fsutil import remove_orphaned_folders, sha256_file
from dlcore.store import BootstrapRow, ModelRow, UserRow, get_store, reap_stale_jobs

logger = logging.getLogger(__name__)


@dataclass
class DoctorReport:
    """What doctor found and what it fixed; ``ok`` when nothing is left for a person to do."""

    fixed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    checked: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def clean_workspace() -> list[str]:
    """Remove orphaned temporary folders under the models and datasets folders (start-up)."""
    settings = get_settings()
    return remove_orphaned_folders(settings.models_dir, settings.datasets_dir, settings.home)


def release_orphaned_first_account_claim() -> bool:
    """Delete the first-account claim when no account exists; True when one was released.

    The claim and the first account are inserted in one transaction, so a claim without any
    account only follows a manual ``DELETE FROM users``. The delete is one statement that
    checks for accounts itself, so it cannot release a claim whose account is being created.
    """
    from sqlalchemy import delete, exists

    from dlcore.governance.accounts import FIRST_ACCOUNT

    with get_store().session() as session:
        released = session.execute(
            delete(BootstrapRow).where(
                BootstrapRow.claim == FIRST_ACCOUNT, ~exists().where(UserRow.username.is_not(None))
            )
        ).rowcount
        session.commit()
    return bool(released)


def run_doctor() -> DoctorReport:
    """Check and repair the workspace and database; returns what was found and fixed."""
    from dlcore.governance.audit import verify_chain

    report = DoctorReport()
    store = get_store()
    for name in clean_workspace():
        report.fixed.append(f"removed the orphaned temporary folder {name}")
    reaped = reap_stale_jobs(store.engine)
    if reaped:
        report.fixed.append(f"marked {reaped} job(s) failed: their worker stopped beating")
    if release_orphaned_first_account_claim():
        report.fixed.append(
            "released the first-account claim: the workspace has no account left (they were "
            "deleted outside the app), so a first administrator can be created again"
        )
    report.problems.extend(store.notes)
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as connection:
            result = [r[0] for r in connection.execute(text("PRAGMA integrity_check"))]
        report.checked["database_integrity"] = result[0] if result else "unknown"
        if result != ["ok"]:
            report.problems.append(
                "the database's integrity check failed: " + "; ".join(result[:5])
            )
    with store.session() as session:
        rows = session.scalars(select(ModelRow)).all()
    mismatched = 0
    for row in rows:
        folder = Path(row.path)
        model_file = folder / "model.keras"
        if not model_file.is_file():
            report.problems.append(f"model {row.id} is listed but its file is missing")
            continue
        if row.checksum and sha256_file(model_file) != row.checksum:
            mismatched += 1
            report.problems.append(
                f"model {row.id}'s file does not match its checksum (changed or damaged on disk)"
            )
    report.checked["models"] = len(rows)
    report.checked["model_checksum_mismatches"] = mismatched
    chain = verify_chain()
    report.checked["audit_rows"] = chain.rows
    report.checked["audit_rows_before_the_chain"] = chain.unchained
    report.problems.extend(f"audit: {p}" for p in chain.problems)
    logger.info("doctor: %d fixed, %d problem(s)", len(report.fixed), len(report.problems))
    return report
