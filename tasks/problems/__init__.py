"""Kinds of problem: what differs between predicting a class and predicting a number.

Every stage asks the problem kind of its data (`problem_of`) for what depends on it: the
target's checks (validate), its encoding and per-split report (prepare), the model's output
layer, loss and metrics (train), the scores, the gate's metrics and significance test, the
predictions table and plots (evaluate, `trainflow predict`), the signature's part and the
summary line. One module per kind implements `Problem`: `classification`, `regression`.

Adding a kind is one module (a `Problem` subclass, registered in `KINDS`) and its tests.
These modules import only `tasks.common` at the top; Keras, scikit-learn, SciPy and Great
Expectations are imported by the methods that need them, so validate stays light.
"""

from __future__ import annotations

from tasks.common.errors import ParamsError
from tasks.problems.base import Problem
from tasks.problems.classification import Classification
from tasks.problems.regression import Regression
from tasks.problems.target import TargetFacts, choose, class_folders_task

KINDS: dict[str, Problem] = {kind.name: kind for kind in (Classification(), Regression())}
LEGACY = "classification"  # what models recorded before signatures said their task

__all__ = [
    "KINDS",
    "Problem",
    "TargetFacts",
    "choose",
    "class_folders_task",
    "problem",
    "problem_of",
]


def problem(name: str) -> Problem:
    """The problem kind called `name` (`data.task` once decided)."""
    if name not in KINDS:
        raise ParamsError(f"data.task: unknown task {name!r}; one of {sorted(KINDS)}")
    return KINDS[name]


def problem_of(meta: dict) -> Problem:
    """The problem kind of prepared data, a model's meta or a signature."""
    signature = meta.get("signature") or meta
    return problem(signature.get("task") or meta.get("task") or LEGACY)
