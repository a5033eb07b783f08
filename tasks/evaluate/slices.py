"""Slices of the test split (tabular data): metrics by column value or numeric bin."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.common.errors import ParamsError
from tasks.common.params import SliceGate
from tasks.problems import Problem


def slice_masks(frame: pd.DataFrame, gate: SliceGate) -> dict[str, np.ndarray]:
    """Named boolean masks: one per value of the column, or one per bin."""
    column = frame[gate.column]
    if gate.bins:
        binned = pd.cut(pd.to_numeric(column, errors="coerce"), gate.bins)
        return {f"{gate.column}={b}": (binned == b).to_numpy() for b in binned.cat.categories}
    values = column.astype("string").fillna("<missing>")
    return {f"{gate.column}={v}": (values == v).to_numpy() for v in sorted(values.unique())}


def slice_metrics(
    problem: Problem, frame: pd.DataFrame, y_true, outputs, meta: dict, gates: list[SliceGate]
) -> dict[str, dict]:
    """Each slice's metrics (the problem kind's few) and its number of rows."""
    found = {}
    for gate in gates:
        if gate.column not in frame.columns:
            raise ParamsError(f"evaluate.slices: column {gate.column!r} is not in the test split")
        for name, mask in slice_masks(frame, gate).items():
            if mask.any():
                scores = problem.slice_scores(y_true[mask], outputs[mask], meta)
                found[name] = scores | {"support": int(mask.sum())}
    return found
