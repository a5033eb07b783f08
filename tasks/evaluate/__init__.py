"""Evaluate stage: the challenger and the champion on the same test rows, then the gate.

A refused model is a result, not a crash: the stage succeeds and writes reports/gate.json
with `blessed: false`; the flow then declines to register it (exit code MODEL_REFUSED).
The champion is found and scored by `tasks.evaluate.champion`: only when its signature matches,
and only on the test rows it never trained or validated on. Each row of
reports/predictions.csv is named as a person finds it (`tasks.common.samples.prepared_ids`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tasks.common.errors import ParamsError, stage_entry
from tasks.common.io import write_json
from tasks.common.params import EvaluateParams, Params, SliceGate, load_params
from tasks.common.samples import prepared_ids
from tasks.evaluate.champion import Champion, champion_of
from tasks.evaluate.gate import decide, mismatch, significance_check, slice_checks
from tasks.evaluate.scoring import curves, metrics, predictions
from tasks.model.inputs import load_splits

CHAMPION_METRICS = ("accuracy", "macro_f1", "log_loss")


def slice_masks(frame: pd.DataFrame, gate: SliceGate) -> dict[str, np.ndarray]:
    """Named boolean masks: one per value of the column, or one per bin."""
    column = frame[gate.column]
    if gate.bins:
        binned = pd.cut(pd.to_numeric(column, errors="coerce"), gate.bins)
        return {f"{gate.column}={b}": (binned == b).to_numpy() for b in binned.cat.categories}
    values = column.astype("string").fillna("<missing>")
    return {f"{gate.column}={v}": (values == v).to_numpy() for v in sorted(values.unique())}


def slice_metrics(frame, y_true, proba, classes, gates: list[SliceGate]) -> dict[str, dict]:
    found = {}
    for gate in gates:
        if gate.column not in frame.columns:
            raise ParamsError(f"evaluate.slices: column {gate.column!r} is not in the test split")
        for name, mask in slice_masks(frame, gate).items():
            if mask.any():
                scores = metrics(y_true[mask], proba[mask], classes)
                found[name] = {
                    "accuracy": scores["accuracy"],
                    "macro_f1": scores["macro_f1"],
                    "support": int(mask.sum()),
                }
    return found


def versus(found: Champion, y_true, proba, classes, p: EvaluateParams) -> dict:
    """The champion against the challenger on the test rows it never saw: the champion's
    scores (and the challenger's on the same rows when some were left out), McNemar's test
    and the comparison's report, for `decide`."""
    comparison = found.comparison.report(p.min_comparison_rows) | {"champion": found.version}
    rows = found.comparison.rows
    if comparison["rows"] < p.min_comparison_rows:
        return {"comparison": comparison}
    theirs = metrics(y_true[rows], found.proba[rows], classes)
    against = {"version": found.version} | {k: theirs[k] for k in CHAMPION_METRICS}
    against |= {"rows": comparison["rows"], "left_out": comparison["left_out"]}
    if comparison["left_out"]:
        ours = metrics(y_true[rows], proba[rows], classes)
        against["challenger"] = {k: ours[k] for k in CHAMPION_METRICS}
    significance = significance_check(
        y_true[rows], proba[rows].argmax(1), found.proba[rows].argmax(1), p.gate.mcnemar_alpha
    )
    return {"champion": against, "significance": significance, "comparison": comparison}


def score(params: Params) -> tuple[dict, dict, pd.DataFrame, dict]:
    """Metrics, gate verdict, predictions table and curves for the workspace's model."""
    import keras

    from tasks.model.pipeline import predict_proba

    splits = load_splits(params.paths.prepared, ("test",))
    model = keras.saving.load_model(Path(params.paths.model) / "model.keras", safe_mode=True)
    y_true, classes, test = splits.labels("test"), splits.meta["classes"], splits.frames["test"]
    proba = predict_proba(model, splits.inputs("test"))
    scores = metrics(y_true, proba, classes)
    scores["slices"] = slice_metrics(test, y_true, proba, classes, params.evaluate.slices)
    against, other = {}, None
    found = champion_of(params, splits)
    if found is not None and found.differences:
        other = mismatch(params.register_.artifact, found.version, found.differences)
    elif found is not None:
        against = versus(found, y_true, proba, classes, params.evaluate)
        if "champion" in against:
            scores["champion"] = against["champion"]
    checks = slice_checks(scores["slices"], params.evaluate.slices)
    verdict = decide(scores, params.evaluate.gate, slices=checks, other_signature=other, **against)
    ids = prepared_ids(test, splits.meta)
    return scores, verdict, predictions(ids, y_true, proba, classes), curves(y_true, proba)


def compared(verdict: dict) -> str:
    """The terminal's words on the comparison, when it left rows out."""
    found = verdict.get("comparison") or {}
    if not found.get("left_out"):
        return ""
    total = found["rows"] + found["left_out"]
    return (
        f"; compared on {found['rows']} of {total} test rows ({found['left_out']} the champion "
        "trained or validated on left out)"
    )


def run(params: Params) -> dict:
    scores, verdict, table, found = score(params)
    reports = Path(params.paths.reports)
    reports.mkdir(parents=True, exist_ok=True)
    table.to_csv(reports / "predictions.csv", index=False)
    (reports / "curves").mkdir(exist_ok=True)
    for name, frame in found.items():
        frame.to_csv(reports / "curves" / f"{name}.csv", index=False)
    write_json(reports / "metrics.json", scores)
    write_json(reports / "gate.json", verdict)
    failed = [c["check"] for c in verdict["checks"] if not c["passed"]]
    word = f"REFUSED ({', '.join(failed)}; {reports / 'gate.json'})" if failed else "blessed"
    against = f" against champion {verdict['champion']}" if verdict["champion"] else ""
    print(
        f"evaluate: accuracy {scores['accuracy']:.4f}, macro-F1 {scores['macro_f1']:.4f}:"
        f" {word}{against}{compared(verdict)}"
    )
    return verdict


@stage_entry("evaluate")
def main() -> None:
    run(load_params())
