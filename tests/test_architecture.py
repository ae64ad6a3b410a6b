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


# -- the first page is light (issue 11 part 6) -------------------------------------------------

# Never on the first page: the frame (app.py, ui.auth, ui.sidebar, ui.startup) and Home load these
# only when a page needs them. (plotly is not listed: `import streamlit` loads it itself.)
FIRST_PAGE_FORBIDDEN = (
    "tensorflow",
    "keras",
    "shap",
    "sklearn",
    "pandas",
    "pyarrow",
    "sqlalchemy",
)


def test_the_frame_and_home_import_nothing_heavy():
    """app.py's top-level imports, the frame's modules and Home's top-level imports."""
    found = _python(
        """
import ast, json, sys
import streamlit
before = {m.split(".")[0] for m in sys.modules}
import ui, ui.auth, ui.sidebar, ui.startup, ui.serve
for script in ("app.py", "pages/home.py"):
    tree = ast.parse(open(script).read())
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            exec(compile(ast.Module([node], []), script, "exec"), {})
print(json.dumps({"loaded": sorted({m.split(".")[0] for m in sys.modules}), "by_streamlit": sorted(before)}))
"""
    )
    loaded = set(found["loaded"])
    assert {"ui", "dlcore", "streamlit"} <= loaded  # the imports really ran
    assert sorted(loaded & set(FIRST_PAGE_FORBIDDEN)) == []
    # and streamlit itself does not bring them either (else this test would say nothing)
    assert sorted(set(found["by_streamlit"]) & set(FIRST_PAGE_FORBIDDEN)) == []
    # numpy (0.1-0.3 s) is left to the warm-up while the browser loads (ui.serve); a module of
    # ours that imported it at the top would put it back on the first page's path
    assert "numpy" not in found["by_streamlit"] and "numpy" not in loaded


def test_the_warm_up_imports_what_the_first_page_run_imports(tmp_path):
    """ui.serve imports the first page's modules while the browser loads the app: every module of
    ours (and numpy, Pillow) that the first page's run loads is among those it warms."""
    preamble = f"""
import json, os, sys
os.environ["DLCORE_HOME"] = {str(tmp_path / "workspace")!r}
os.environ["DLCORE_DEMO_AUTOTRAIN"] = "0"
os.environ.pop("DLCORE_DATABASE_URL", None)
os.environ.pop("DLCORE_AUTH", None)
import streamlit
import ui.serve
def loaded():
    return sorted(m for m in sys.modules if m.split(".")[0] in ("ui", "dlcore", "numpy", "PIL"))
before = loaded()
"""
    warm = _python(
        preamble
        + """
from streamlit.runtime import Runtime
from streamlit.runtime.runtime import RuntimeState
class Started:
    state = RuntimeState.NO_SESSIONS_CONNECTED
Runtime.exists = classmethod(lambda cls: True)  # a server that has started
Runtime.instance = classmethod(lambda cls: Started())
ui.serve.warm_first_page()
print(json.dumps({"before": before, "after": loaded()}))
"""
    )
    first_run = _python(
        preamble
        + """
from streamlit.testing.v1 import AppTest
from ui import startup
startup.defer_boot()
startup.Boot.start_in_background = lambda self, after=None: None
at = AppTest.from_file("app.py", default_timeout=60).run()
assert not at.exception, [e.value for e in at.exception]
print(json.dumps({"before": before, "after": loaded()}))
"""
    )
    warmed = set(warm["after"])
    assert {"numpy", "PIL.Image", "ui.auth", "ui.sidebar"} <= warmed - set(warm["before"])
    missing = sorted(set(first_run["after"]) - warmed)
    assert missing == [], f"the first page imports {missing}: add them to ui.serve's warm-up"


def test_the_first_page_run_loads_nothing_heavy(tmp_path):
    """The first run of the app (Home, sidebar) as ``make run`` serves it: start-up work deferred
    to after the first page, in a workspace that already has datasets, a model and a job."""
    home = tmp_path / "workspace"
    found = _python(
        f"""
import json, os, sqlite3, sys
os.environ["DLCORE_HOME"] = {str(home)!r}
os.environ["DLCORE_DEMO_AUTOTRAIN"] = "0"
os.environ.pop("DLCORE_DATABASE_URL", None)
os.environ.pop("DLCORE_AUTH", None)
# a workspace made by the engine, in another process (as a previous server would have left it)
import subprocess
subprocess.run([sys.executable, "-c", "from dlcore.training.demo_models import ensure_demo_datasets; ensure_demo_datasets()"], check=True)
from streamlit.testing.v1 import AppTest
from ui import startup
startup.defer_boot()
startup.Boot.start_in_background = lambda self, after=None: None  # only the first page, not the work after it
at = AppTest.from_file("app.py", default_timeout=60).run()
assert not at.exception, [e.value for e in at.exception]
print(json.dumps({{
    "loaded": sorted({{m.split(".")[0] for m in sys.modules}}),
    "metrics": {{m.label: m.value for m in at.metric}},
    "title": [t.value for t in at.title],
    "markdown": [m.value for m in at.markdown],
}}))
"""
    )
    assert found["title"] == ["Clinician deep-learning dashboard"]
    from dlcore.data.demo import DEMOS

    assert found["metrics"]["Datasets"] == str(len(DEMOS))  # read, with the light reader
    assert found["metrics"]["Models"] == "0"
    assert any("Breast cancer" in m for m in found["markdown"])  # the datasets table
    assert sorted(set(found["loaded"]) & set(FIRST_PAGE_FORBIDDEN)) == []


# -- no import cycles, imports inside functions included (issue 11 part 2) ---------------------


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module -> the project modules it imports anywhere in its file (inside functions too)."""
    import ast

    modules: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            name = ".".join(path.relative_to(root).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path

    def target(name: str) -> str:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            for name in names:
                found = target(name)
                if found and found != module and not module.startswith(found + "."):
                    graph[module].add(found)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle_hidden_in_a_function(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("from pkg.b import f\n")
    (tmp_path / "pkg" / "b.py").write_text("def f():\n    from . import a\n")
    (tmp_path / "pkg" / "c.py").write_text("import pkg.a\n")
    assert cycles(import_graph(tmp_path, ("pkg",))) == [["pkg.a", "pkg.b"]]


def test_dlcore_and_ui_have_no_import_cycles():
    graph = import_graph(ROOT, ("dlcore", "ui"))
    assert "dlcore.glance" in graph["ui.startup"]  # the graph really holds the imports
    assert "dlcore.training.jobs" in graph["ui.startup"]  # including those inside functions
    assert cycles(graph) == []


# -- the two Streamlit internals ui/__init__.py adjusts (pinned: an upgrade must fail here) ----


def test_the_streamlit_internals_the_frame_adjusts_are_still_there():
    found = _python(
        """
import inspect, json, sys, types
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import script_runner
before = {
    "flag": PagesManager.uses_pages_directory,
    # Streamlit reads the flag to choose the legacy pages-folder run, and cleans keras after runs
    "flag_read": "PagesManager.uses_pages_directory" in inspect.getsource(script_runner.ScriptRunner),
    "clean_called": "_clean_problem_modules()" in inspect.getsource(script_runner.ScriptRunner)
    or "_log_if_error(_clean_problem_modules)" in inspect.getsource(script_runner.ScriptRunner),
    "clean_clears_keras": "clear_session" in inspect.getsource(script_runner._clean_problem_modules),
}
import ui
calls = []
fake = types.ModuleType("keras")
fake.backend = types.SimpleNamespace(clear_session=lambda **kw: calls.append(kw))
sys.modules["keras"] = fake
script_runner._clean_problem_modules()
print(json.dumps({**before,
    "flag_after": PagesManager.uses_pages_directory,
    "patched": script_runner._clean_problem_modules.__module__,
    "calls": calls}))
"""
    )
    assert found["flag"] is None  # Streamlit still decides the mode on the first run
    assert found["flag_read"], "Streamlit no longer reads PagesManager.uses_pages_directory"
    assert found["clean_called"], "Streamlit no longer calls _clean_problem_modules after runs"
    assert found["clean_clears_keras"], "_clean_problem_modules no longer clears Keras"
    assert found["flag_after"] is False  # importing ui stops the pages-folder mode
    assert found["patched"] == "ui"
    assert found["calls"] == [{"free_memory": False}]  # Keras cleared, without a full gc
