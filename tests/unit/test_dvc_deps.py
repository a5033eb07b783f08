"""dvc.yaml's deps and params cover everything each stage runs and reads.

DVC reruns a stage only when one of its declared deps or params changed, so a module a stage
imports (inner imports included) that no dep covers, or a params key it reads that it does not
declare, is a stale result waiting to happen. These tests compute each stage's import closure
from the source (AST) and compare it with dvc.yaml.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import ROOT

FIRST_PARTY = ("tasks", "flows")
ALIASES = {"validate_": "validate", "register_": "register"}
TEMPLATED = {"paths"}  # interpolated into dvc.yaml itself: a change changes the stage


def stages() -> dict[str, dict]:
    return YAML(typ="safe").load((ROOT / "dvc.yaml").read_text())["stages"]


def module_file(name: str) -> Path | None:
    base = ROOT / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported(tree: ast.AST) -> Iterator[str]:
    """Every first-party module an AST imports, at any depth (function bodies included)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] in FIRST_PARTY and module_file(name):
                yield name


def with_parents(name: str) -> list[str]:
    """Importing a.b.c runs a/__init__.py and a/b/__init__.py too."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def closure(start: str) -> dict[str, Path]:
    """The modules `python -m start` runs, each with its file."""
    found: dict[str, Path] = {}
    todo = with_parents(start)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found[name] = module_file(name)
        for other in imported(ast.parse(found[name].read_text())):
            todo += with_parents(other)
    return found


def entry_module(stage: dict) -> str:
    command = stage["cmd"].split()
    assert command[:2] == ["python", "-m"], f"{stage['cmd']}: expected `python -m tasks.<stage>`"
    return f"{command[2]}.__main__"


def uncovered(name: str, stage: dict) -> list[str]:
    """Modules the stage runs that none of its deps covers, as `module (file)`."""
    deps = [Path(d) for d in stage.get("deps", []) if "${" not in d]
    missing = []
    for module, path in sorted(closure(entry_module(stage)).items()):
        relative = path.relative_to(ROOT)
        if not any(relative == dep or dep in relative.parents for dep in deps):
            missing.append(f"stage '{name}' runs {module} ({relative}) but no dep covers it")
    return missing


def param_reads(tree: ast.AST) -> Iterator[tuple[str, str | None]]:
    """(section, key) of every `params.<section>[.<key>]` in an AST."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
            continue
        if node.value.id != "params":
            continue
        section = ALIASES.get(node.attr, node.attr)
        parent = getattr(node, "parent", None)
        key = parent.attr if isinstance(parent, ast.Attribute) else None
        yield section, key


def parsed(path: Path) -> ast.AST:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            child.parent = node
    return tree


def reads_of(stage: dict) -> set[tuple[str, str | None]]:
    files = closure(entry_module(stage)).values()
    return {read for path in files for read in param_reads(parsed(path))}


def declared(stage: dict) -> set[str]:
    return set(stage.get("params", []))


def undeclared(name: str, stage: dict) -> list[str]:
    """Params a stage reads but does not declare (a section covers all its keys)."""
    params = declared(stage)
    missing = []
    for section, key in sorted(reads_of(stage), key=str):
        if section in TEMPLATED or section in params or f"{section}.{key}" in params:
            continue
        what = f"{section}.{key}" if key else section
        missing.append(f"stage '{name}' reads params {what} but does not declare it")
    return missing


def unread(name: str, stage: dict) -> list[str]:
    """Declared params a stage never reads: changing them would rerun it for nothing."""
    reads = reads_of(stage)
    sections = {section for section, _ in reads}
    return [
        f"stage '{name}' declares params {entry} but never reads it"
        for entry in sorted(declared(stage))
        if entry not in sections and tuple(entry.split(".", 1)) not in reads
    ]


@pytest.mark.parametrize("name", sorted(stages()))
def test_every_module_a_stage_runs_is_covered_by_its_deps(name):
    assert uncovered(name, stages()[name]) == []


@pytest.mark.parametrize("name", sorted(stages()))
def test_every_params_key_a_stage_reads_is_declared_and_nothing_more(name):
    stage = stages()[name]
    assert undeclared(name, stage) + unread(name, stage) == []


def test_the_check_names_the_stage_and_the_module_a_dep_misses():
    train = stages()["train"]
    narrowed = dict(train, deps=[d for d in train["deps"] if d != "tasks/common"])
    found = uncovered("train", narrowed)
    assert "stage 'train' runs tasks.common.params (tasks/common/params.py)" in "\n".join(found)
    evaluate = stages()["evaluate"]
    found = undeclared("evaluate", dict(evaluate, params=["evaluate"]))
    assert found == ["stage 'evaluate' reads params register.artifact but does not declare it"]
    assert unread("train", dict(train, params=["train", "data"])) == [
        "stage 'train' declares params data but never reads it"
    ]


def test_inner_imports_count():
    """`champion_reference` imports the registry inside a function: validate still runs it."""
    assert "tasks.registry.files" in closure("tasks.validate.__main__")
    assert not any(name.startswith("flows") for name in closure("tasks.evaluate.__main__"))


def test_params_reach_stage_code_only_as_params():
    """The scan above finds reads by the name `params`: every Params argument is named so."""
    offenders = []
    for path in sorted((ROOT / "tasks").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for arg in node.args.args + node.args.kwonlyargs:
                    annotation = ast.unparse(arg.annotation or ast.Constant(None))
                    if annotation == "Params" and arg.arg != "params":
                        offenders.append(f"{path.relative_to(ROOT)}:{node.name}({arg.arg})")
    assert offenders == []


def test_no_stage_declares_the_flow_section():
    """Retries are the flow's business: a new retry count must not retrain the model."""
    assert not any(
        entry == "flow" or entry.startswith("flow.")
        for stage in stages().values()
        for entry in declared(stage)
    )
