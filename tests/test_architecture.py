"""One-way dependencies: dlcore never imports Streamlit, and heavy libraries load only when used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str) -> dict:
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_no_dlcore_module_imports_streamlit():
    found = _python(
        """
import importlib, json, pkgutil, sys
import dlcore
names = ["dlcore"]
for info in pkgutil.walk_packages(dlcore.__path__, "dlcore."):
    importlib.import_module(info.name)
    names.append(info.name)
print(json.dumps({"names": names, "streamlit": sorted(m for m in sys.modules if m.split(".")[0] == "streamlit")}))
"""
    )
    # the walk really imported the package, including the heavy modules
    for module in (
        "dlcore.data.tables",
        "dlcore.models.layers",
        "dlcore.explain",
        "dlcore.registry",
        "dlcore.__main__",
        "dlcore.training.jobs",
        "dlcore.explain.tabular",
        "dlcore.cli.commands",
    ):
        assert module in found["names"]
    assert found["streamlit"] == []


def test_light_imports_do_not_load_tensorflow_or_shap():
    found = _python(
        """
import json, sys
import dlcore, dlcore.data, dlcore.registry, dlcore.store
heavy = ("tensorflow", "keras", "shap", "streamlit", "pydicom")
print(json.dumps({"loaded": sorted({m.split(".")[0] for m in sys.modules} & set(heavy))}))
"""
    )
    assert found["loaded"] == []
