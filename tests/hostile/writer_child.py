"""One of many concurrent writers: waits for the start signal, then registers a model version,
records a review decision on a shared case and appends audit rows (or, with 'hang', starts a
registration and hangs inside it, to be killed). Usage: writer_child.py INDEX MODE SESSION CASE."""

from __future__ import annotations

import sys
import time
from pathlib import Path

AUDIT_ROWS = 5


class FakeModel:
    """Saves a small file where a Keras model would be (no TensorFlow in this process)."""

    def __init__(self, index: int, hang: Path | None = None) -> None:
        self.index, self.hang = index, hang

    def save(self, path: Path) -> None:
        Path(path).write_bytes(f"model of writer {self.index}".encode())
        if self.hang is not None:
            self.hang.write_text("inside the registration")
            time.sleep(120)


def main() -> None:
    index, mode = int(sys.argv[1]), sys.argv[2]
    from dlcore.config import get_settings
    from dlcore.governance import audit
    from dlcore.governance.review import record_decision
    from dlcore.registry import register

    card = {"name": "race", "layout": {"task": "binary", "classes": ["0", "1"]}}
    if mode == "hang":
        register(FakeModel(index, Path(sys.argv[3])), card)
        return
    start = get_settings().home / "start"
    (get_settings().home / f"ready-{index}").write_text("ready")
    while not start.exists():
        time.sleep(0.01)
    register(FakeModel(index), card)
    session_id, case_id = sys.argv[3], int(sys.argv[4])
    record_decision(
        session_id, case_id, "ada", agree=index % 2 == 0, label=None if index % 2 == 0 else "0"
    )
    for k in range(AUDIT_ROWS):
        audit.record(f"writer{index}", "predict", role="clinician", detail={"rows": k})


if __name__ == "__main__":
    main()
