"""write_json writes integer arrays chunk by chunk: the same text as json.dump of the lists."""

from __future__ import annotations

import json

import numpy as np

from dlcore.fsutil import write_json


def test_arrays_are_written_as_the_lists_json_dump_would_write(tmp_path):
    payload = {
        "train": np.arange(250_003) * 3,
        "validation": np.array([], dtype=np.int64),
        "test": np.array([7], dtype=np.int32),
        "seed": 3,
        "group": None,
        "nested": {"a": [1, 2], "b": {"c": "x\ny"}},
        "text": "é",
    }
    path = tmp_path / "split.json"
    write_json(path, payload)
    expected = {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in payload.items()}
    assert path.read_text(encoding="utf-8") == json.dumps(expected, indent=2)
    assert json.loads(path.read_text())["train"][-1] == 250_002 * 3
