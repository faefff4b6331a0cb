"""The layers stay layers: an import-graph walk over the package's source.

Checked by reading the source (``ast``), not by importing it:

* the core (``calibkit/``) never imports a task (``calibkit.tasks``);
* a lower layer never imports a higher one: base (records, errors,
  progress) < stats < draw, and base < engine < runs; the write-up
  (``calibkit.paper``) reads runs and statistics, never the engine; the command line and
  the package's public API sit on top; tasks may use the whole core below
  the command line (their commands' plumbing is :mod:`calibkit.runs.command`);
* a task folder imports no other task folder, except the shared families
  (the free-answer layer, multiple choice, freeform) and the tasks' shared
  modules (``tasks/base.py``, ``reporting.py``, ``sources.py``); only the
  registry (``tasks/__init__.py``) names every task;
* only the engine imports torch (stats and drawing never do);
* no module imports another module's underscore names;
* no function is longer than 80 lines.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO

LAYERS = {"base": 0, "stats": 1, "draw": 2, "engine": 1, "runs": 2, "paper": 3, "top": 4, "tasks": 5}
#: which layers each layer may import (itself included)
ALLOWED = {
    "base": {"base"},
    "stats": {"base", "stats"},
    "draw": {"base", "stats", "draw"},
    "engine": {"base", "engine"},
    "runs": {"base", "engine", "runs"},
    # the write-up reads run folders and computed statistics: never the engine (torch) or a task
    "paper": {"base", "stats", "draw", "runs", "paper"},
    "top": {"base", "stats", "draw", "engine", "runs", "paper", "top"},
    "tasks": {"base", "stats", "draw", "engine", "runs", "paper", "tasks"},
}

#: task folders every task may build on (besides the shared modules tasks/base.py, reporting.py, sources.py)
SHARED_FAMILIES = {"free_answer", "multiple_choice", "freeform"}
#: imports between task folders that are not into a shared family, each with why it is (still) there
CROSS_TASK_EXCEPTIONS: set[tuple[str, str]] = set()
MAX_FUNCTION_LINES = 80


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[0] == "tasks":  # installed as calibkit.tasks
        parts = ["calibkit", *parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer(module: str) -> str | None:
    """The layer of a calibkit module; None for anything outside calibkit."""
    parts = module.split(".")
    if parts[0] != "calibkit":
        return None
    if len(parts) == 1 or parts[1] == "cli" or parts[1] == "__main__":
        return "top"
    if parts[1] in ("records", "errors", "progress", "files"):
        return "base"
    if parts[1] in ("engine", "runs", "stats", "draw", "paper", "tasks"):
        return parts[1]
    if parts[1] == "human_data":
        return "tasks"
    raise AssertionError(f"{module}: a module outside every layer; add it to one")


SOURCES = sorted([*REPO.joinpath("calibkit").rglob("*.py"), *REPO.joinpath("tasks").rglob("*.py")])


def imports(path: Path) -> list[tuple[int, str, str | None]]:
    """(line, imported module, imported name or None) for every import in a file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            out += [(node.lineno, base, a.name) for a in node.names]
    return out


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_imports_go_down_the_layers(path):
    here = module_name(path)
    own = layer(here)
    bad = []
    for line, module, name in imports(path):
        target = f"{module}.{name}" if module == "calibkit" and name else module  # from calibkit import records
        theirs = layer(target)
        if theirs is not None and theirs not in ALLOWED[own]:
            bad.append(f"line {line}: {own} imports {target} ({theirs})")
        if module.split(".")[0] == "torch" and own != "engine":
            bad.append(f"line {line}: only the engine imports torch")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_underscore_imports_and_short_functions(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = [f"line {line}: imports {module}.{name}" for line, module, name in imports(path)
           if name and name.startswith("_") and name != "__future__" and module != "__future__"]
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                bad.append(f"line {node.lineno}: {node.name} is {length} lines (> {MAX_FUNCTION_LINES})")
    assert not bad, "\n".join(bad)


def task_folder(module: str) -> str | None:
    """The task folder (``calibkit.tasks.<folder>...``) a module is in; None for the tasks' shared modules."""
    parts = module.split(".")
    if parts[:2] != ["calibkit", "tasks"] or len(parts) < 3:
        return None
    return parts[2] if REPO.joinpath("tasks", parts[2]).is_dir() else None


@pytest.mark.parametrize("path", [p for p in SOURCES if p.parts[-2] != "tasks" or p.name != "__init__.py"],
                         ids=lambda p: str(p.relative_to(REPO)))
def test_task_folders_import_only_shared_families(path):
    """A task folder builds on the core, the shared modules and the shared families; never on another task."""
    here = module_name(path)
    own = task_folder(here)
    bad = []
    for line, module, name in imports(path):
        target = f"{module}.{name}" if module == "calibkit.tasks" and name else module
        theirs = task_folder(target)
        if theirs is None or theirs == own:
            continue
        if own is None and layer(here) == "tasks":
            bad.append(f"line {line}: the tasks' shared module {here} imports the task folder {theirs}")
        elif theirs not in SHARED_FAMILIES and (here, theirs) not in CROSS_TASK_EXCEPTIONS:
            bad.append(f"line {line}: {here} imports the task folder {theirs} (not a shared family)")
    assert not bad, "\n".join(bad)


def test_shared_families_form_no_cycle():
    """The families build on each other in one direction: their import graph has no cycle (mmlu <-> multiple choice was one)."""
    edges: dict[str, set[str]] = {}
    for path in SOURCES:
        own = task_folder(module_name(path))
        for _, module, name in imports(path):
            theirs = task_folder(f"{module}.{name}" if module == "calibkit.tasks" and name else module)
            if own is not None and theirs is not None and theirs != own:
                edges.setdefault(own, set()).add(theirs)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in edges.get(start, ()))

    cycles = sorted(f for f in SHARED_FAMILIES if reaches(f, f, {f}))
    assert not cycles, f"task folders in an import cycle: {cycles} ({ {k: sorted(v) for k, v in edges.items()} })"


def test_the_core_never_names_a_task_package():
    """`grep -rn "calibkit.tasks" calibkit/` finds nothing: tasks reach the core through the registry."""
    named = [f"{p.relative_to(REPO)}:{i}" for p in REPO.joinpath("calibkit").rglob("*.py")
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1) if "calibkit.tasks" in line]
    assert not named, named


def test_the_walk_sees_what_it_checks(tmp_path, monkeypatch):
    """The rules are not vacuous: relative imports resolve, and a stats module importing the engine is caught."""
    run = imports(REPO / "tasks" / "free_answer" / "run.py")
    assert (any(m == "calibkit.tasks.free_answer.answers" for _, m, _ in run)
            and any(m == "calibkit.runs.runner" for _, m, _ in run))
    assert any(m == "torch" for _, m, _ in imports(REPO / "calibkit" / "engine" / "scoring.py"))
    fake = tmp_path / "calibkit" / "stats" / "bad.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("from calibkit.engine.models import load_model\nfrom ..records import _private\n")
    monkeypatch.setattr(f"{__name__}.REPO", tmp_path)
    with pytest.raises(AssertionError, match="stats imports calibkit.engine.models"):
        test_imports_go_down_the_layers(fake)
    with pytest.raises(AssertionError, match="imports calibkit.records._private"):
        test_no_underscore_imports_and_short_functions(fake)


def test_the_task_rules_are_not_vacuous(tmp_path, monkeypatch):
    """A task importing the command line, or another task folder, is caught; a shared family is not."""
    fake = tmp_path / "tasks" / "mmlu" / "bad.py"
    fake.parent.mkdir(parents=True)
    for folder in ("multiple_choice", "free_answer", "pik"):
        tmp_path.joinpath("tasks", folder).mkdir()
    fake.write_text("from calibkit.cli import run_settings\nfrom calibkit.tasks.pik import Pik\n"
                    "from calibkit.tasks.multiple_choice import MultipleChoiceTask\nfrom calibkit.tasks import free_answer\n")
    monkeypatch.setattr(f"{__name__}.REPO", tmp_path)
    with pytest.raises(AssertionError, match="tasks imports calibkit.cli"):
        test_imports_go_down_the_layers(fake)
    with pytest.raises(AssertionError) as caught:
        test_task_folders_import_only_shared_families(fake)
    assert "imports the task folder pik (not a shared family)" in str(caught.value)
    assert "multiple_choice" not in str(caught.value) and "free_answer" not in str(caught.value)


def test_the_write_up_never_reaches_the_engine_or_a_task(tmp_path, monkeypatch):
    """calibkit.paper reads runs and statistics: importing the engine (torch) or a task is caught; runs is not."""
    fake = tmp_path / "calibkit" / "paper" / "bad.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("from calibkit.runs.store import RunStore\nfrom calibkit.engine.models import load_model\n"
                    "from calibkit.tasks.mmlu import MMLU\n")
    monkeypatch.setattr(f"{__name__}.REPO", tmp_path)
    with pytest.raises(AssertionError) as caught:
        test_imports_go_down_the_layers(fake)
    assert "paper imports calibkit.engine.models (engine)" in str(caught.value)
    assert "paper imports calibkit.tasks.mmlu (tasks)" in str(caught.value) and "runs.store" not in str(caught.value)
