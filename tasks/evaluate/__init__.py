"""Evaluate stage: the challenger and the champion on the same test rows, then the gate.

A refused model is a result, not a crash: the stage succeeds and writes reports/gate.json
with `blessed: false`; the flow then declines to register it (exit code MODEL_REFUSED).
The exported SavedModel must serve what the Keras model predicts (`tasks.evaluate.infra`,
a gate check). The champion is found and scored by `tasks.evaluate.champion`: only when its
signature matches, and only on the test rows it never trained or validated on. Each row of
reports/predictions.csv is named as a person finds it (`tasks.common.samples.prepared_ids`).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pandas as pd

from tasks.common.brief import listing
from tasks.common.errors import stage_entry
from tasks.common.io import write_json
from tasks.common.params import EvaluateParams, Params, load_params
from tasks.common.samples import prepared_ids
from tasks.evaluate.champion import Champion, champion_of
from tasks.evaluate.gate import decide, mismatch, slice_checks
from tasks.evaluate.infra import ServingChild, serving_check
from tasks.evaluate.slices import slice_metrics
from tasks.model.inputs import load_splits
from tasks.model.saved import SAVED_MODEL
from tasks.problems import KINDS, Problem, problem, problem_of


def versus(problem: Problem, found: Champion, y_true, outputs, meta, p: EvaluateParams) -> dict:
    """The champion against the challenger on the test rows it never saw: the champion's
    scores (and the challenger's on the same rows when some were left out), the significance
    test and the comparison's report, for `decide`."""
    comparison = found.comparison.report(p.min_comparison_rows) | {"champion": found.version}
    rows = found.comparison.rows
    if comparison["rows"] < p.min_comparison_rows:
        return {"comparison": comparison}
    theirs = problem.scores(y_true[rows], found.outputs[rows], meta)
    against = {"version": found.version} | {k: theirs[k] for k in problem.compared if k in theirs}
    against |= {"rows": comparison["rows"], "left_out": comparison["left_out"]}
    if comparison["left_out"]:
        ours = problem.scores(y_true[rows], outputs[rows], meta)
        against["challenger"] = {k: ours[k] for k in problem.compared if k in ours}
    significance = problem.significance(
        y_true[rows], outputs[rows], found.outputs[rows], p.gate.mcnemar_alpha
    )
    return {"champion": against, "significance": significance, "comparison": comparison}


def score(params: Params) -> tuple[dict, dict, pd.DataFrame, dict]:
    """Metrics, gate verdict, predictions table and curves for the workspace's model."""
    saved = Path(params.paths.model) / SAVED_MODEL
    tolerance = params.evaluate.gate.max_serving_difference
    with contextlib.ExitStack() as stack:
        serving = None
        if tolerance is not None and (saved / "saved_model.pb").exists():
            serving = stack.enter_context(ServingChild(saved))  # loads while we score
        return evaluated(params, serving)


def evaluated(
    params: Params, serving: ServingChild | None
) -> tuple[dict, dict, pd.DataFrame, dict]:
    """`score`, the SavedModel served by `serving` (None: the check is off or has no model)."""
    import keras

    from tasks.model.pipeline import model_outputs

    splits = load_splits(params.paths.prepared, ("test",))
    meta, test = splits.meta, splits.frames["test"]
    problem = problem_of(meta)
    model = keras.saving.load_model(Path(params.paths.model) / "model.keras", safe_mode=True)
    y_true, inputs = splits.labels("test"), splits.inputs("test")
    raw = model_outputs(model, inputs)
    outputs = problem.shaped(raw)
    scores = problem.scores(y_true, outputs, meta)
    slices = params.evaluate.slices
    scores["slices"] = slice_metrics(problem, test, y_true, outputs, meta, slices)
    against, other = {}, None
    found = champion_of(params, splits)
    if found is not None and found.differences:
        other = mismatch(params.register_.artifact, found.version, found.differences)
    elif found is not None:
        against = versus(problem, found, y_true, outputs, meta, params.evaluate)
        if "champion" in against:  # numbers only (a DVC metrics file); the version: gate.json
            scores["champion"] = {k: v for k, v in against["champion"].items() if k != "version"}
    checks = slice_checks(problem, scores["slices"], slices)
    if (tolerance := params.evaluate.gate.max_serving_difference) is not None:
        saved = Path(params.paths.model) / SAVED_MODEL
        checks.append(serving_check(saved, inputs, raw, tolerance, serving))
    verdict = decide(
        problem, scores, params.evaluate.gate, slices=checks, other_signature=other, **against
    )
    table = problem.predictions(prepared_ids(test, meta), y_true, outputs, meta)
    return scores, verdict | {"task": problem.name}, table, problem.curves(y_true, outputs, meta)


def plot_files(found: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The curves of this model, and the other kinds' curve files with their header only:
    dvc.yaml declares the plots of every kind, and `dvc plots show` reads every file it
    declares, so each exists (an empty plot is one of another kind of problem)."""
    empty = {
        name: pd.DataFrame(columns=list(columns))
        for kind in KINDS.values()
        for name, columns in kind.curve_columns.items()
    }
    return empty | found


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
    for name, frame in plot_files(found).items():
        frame.to_csv(reports / "curves" / f"{name}.csv", index=False)
    write_json(reports / "metrics.json", scores)
    write_json(reports / "gate.json", verdict)
    failed = [c["check"] for c in verdict["checks"] if not c["passed"]]
    word = f"REFUSED ({listing(failed)}; {reports / 'gate.json'})" if failed else "blessed"
    against = f" against champion {verdict['champion']}" if verdict["champion"] else ""
    words = problem(verdict["task"]).summary(scores)
    print(f"evaluate: {words}: {word}{against}{compared(verdict)}")
    return verdict


@stage_entry("evaluate")
def main() -> None:
    run(load_params())
