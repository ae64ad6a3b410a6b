"""Run readers on files under the memory cap the parent set; print one JSON line per case.

Usage: python memory_child.py CASES.json, a list of [name, reader, path, environment]. TensorFlow
is never imported here.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    from dlcore.config import reset_settings
    from dlcore.data.images import read_images
    from dlcore.data.tables import read_table
    from dlcore.errors import UserError
    from dlcore.registry import check_keras_archive

    baseline = _peak_mb()
    for name, reader, path_text, environment in json.loads(Path(sys.argv[1]).read_text()):
        os.environ.update(environment)
        reset_settings()
        path = Path(path_text)
        outcome: dict[str, object] = {"name": name, "bytes": path.stat().st_size}
        try:
            if reader == "images":
                outcome["result"] = list(read_images(path).images.shape)
            elif reader == "table":
                outcome["result"] = list(read_table(path).frame.shape)
            else:
                check_keras_archive(path.read_bytes(), path.name)
                outcome["result"] = "accepted"
            outcome["outcome"] = "read"
        except UserError as exc:
            outcome.update(outcome="refused", message=exc.message, fix=exc.fix)
        except MemoryError:
            outcome["outcome"] = "MemoryError"
        for key in environment:
            os.environ.pop(key, None)
        outcome.update(
            baseline_mb=round(baseline),
            peak_mb=round(_peak_mb()),
            tensorflow="tensorflow" in sys.modules,
        )
        sys.stdout.write(json.dumps(outcome) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
