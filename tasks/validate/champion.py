"""The champion's training data, which new raw data is compared with for drift.

Drift against a champion trained on other data (images against a table, other classes or
columns) would measure nothing useful, so it is skipped with a one-line reason.
"""

from __future__ import annotations

from pathlib import Path

from tasks.common.brief import few
from tasks.common.errors import ParamsError
from tasks.common.io import read_json
from tasks.common.params import Params


def champion_reference(params: Params) -> dict | None:
    """Statistics of the champion's training data: `validate.drift.reference` if set, else
    the registry's copy; None before the first registration (no drift check then)."""
    path = params.validate_.drift.reference
    if path:
        if not Path(path).is_file():
            raise ParamsError(f"validate.drift.reference: {path} does not exist")
        return read_json(path)
    if not Path(".git").exists():
        return None
    from tasks.registry.files import champion_reference as registered

    return registered(params)


def _their_columns(reference: dict, target: str) -> set[str]:
    signature = reference.get("signature")
    if signature:
        return {spec["column"] for spec in signature["inputs"]}
    return set(reference["columns"]) - {target}


def mismatch(
    reference: dict, kind: str, task: str, target: str, classes: set, columns: set
) -> str | None:
    """Why `reference` describes other data than this (None when drift can be measured).

    Args:
        reference: the champion's reference.json.
        kind: "image" or "table", this data's.
        task: "classification" or "regression", this data's (`tasks.problems`).
        target: this data's label column.
        classes: the labels seen in this data.
        columns: this data's feature columns (tables; empty for images).
    """
    signature = reference.get("signature") or {}
    theirs = signature.get("kind", reference.get("kind"))
    if theirs != kind:
        return f"the champion was trained on {theirs} data, this is {kind} data"
    their_task = signature.get("task", "classification")
    if their_task != task:
        return f"the champion was trained for {their_task}, this data is for {task}"
    their_target = signature.get("target", reference.get("target"))
    if their_target != target:
        return f"the champion's label column is '{their_target}', this data's is '{target}'"
    their_classes = set(signature.get("classes") or [])
    if task == "classification" and their_classes and their_classes != classes:
        theirs, ours = _listed(their_classes), _listed(classes)
        return f"the champion's classes are {theirs}, this data's {ours}"
    their_columns = _their_columns(reference, their_target) if kind == "table" else set()
    if their_columns != columns:
        gone, new = their_columns - columns, columns - their_columns
        found = [f"only the champion's: {_listed(gone)}"] if gone else []
        found += [f"only this data's: {_listed(new)}"] if new else []
        return "other feature columns (" + "; ".join(found) + ")"
    return None


def _listed(values) -> str:
    return few(sorted(map(str, values)))
