"""Evaluate stage: the challenger and the champion on the same test split, then the gate.

A refused model is a result, not a crash: the stage succeeds and writes reports/gate.json
with `blessed: false`; the flow then declines to register it (exit code MODEL_REFUSED).
The champion (production version, else the latest registered) is read from the registry, not
declared as a DVC dependency: registering would otherwise invalidate every later run. It is
scored only when its signature (`tasks.common.signature`) matches the challenger's.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.common.brief import listing
from tasks.common.errors import ParamsError, RegistryError, stage_entry
from tasks.common.io import read_json, write_json
from tasks.common.params import Params, SliceGate, load_params
from tasks.common.signature import differences, signature_of
from tasks.evaluate.gate import decide, mismatch, significance_check, slice_checks
from tasks.evaluate.scoring import curves, metrics, predictions
from tasks.model.inputs import Splits, load_splits

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


@dataclass
class Champion:
    """The champion as evaluate meets it: scored on the test split, or of another signature."""

    version: str
    proba: np.ndarray | None = None
    differences: list[str] = field(default_factory=list)


def champion_of(params: Params, splits: Splits) -> Champion | None:
    """The champion scored on the test split; None on the first run or when not compared.

    Its signature is checked first: a champion trained on other data (another kind, other
    classes or columns) is not scored, and the differences say why.
    """
    import keras

    from tasks.model.pipeline import predict_proba
    from tasks.registry.files import fetch_model
    from tasks.registry.versions import champion

    repo = Path(".")
    version = champion(repo, params.register_.artifact)
    if version is None or not params.evaluate.compare_champion:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        folder = fetch_model(repo, params, version, Path(tmp) / "champion")
        theirs = signature_of(read_json(folder / "meta.json"))
        if found := differences(theirs, splits.signature):
            return Champion(version, differences=found)
        model = keras.saving.load_model(folder / "model.keras", safe_mode=True)
        try:
            return Champion(version, predict_proba(model, splits.inputs("test", theirs)))
        except Exception as err:  # the signature matched, so this is a broken model file
            raise RegistryError(f"champion {version} cannot score this test split: {err}") from err


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
    gate_params, against, significance, other = params.evaluate.gate, None, None, None
    found = champion_of(params, splits)
    if found is not None and found.differences:
        other = mismatch(params.register_.artifact, found.version, found.differences)
    elif found is not None:
        champion_scores = metrics(y_true, found.proba, classes)
        scores["champion"] = {k: champion_scores[k] for k in CHAMPION_METRICS}  # numbers only
        against = {"version": found.version} | scores["champion"]  # the version: in gate.json
        significance = significance_check(
            y_true, proba.argmax(1), found.proba.argmax(1), gate_params.mcnemar_alpha
        )
    checks = slice_checks(scores["slices"], params.evaluate.slices)
    verdict = decide(scores, gate_params, against, significance, checks, other)
    ids = test["path"] if "path" in test.columns else pd.Series(test.index)
    return scores, verdict, predictions(ids, y_true, proba, classes), curves(y_true, proba)


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
    word = f"REFUSED ({listing(failed)}; {reports / 'gate.json'})" if failed else "blessed"
    against = f" against champion {verdict['champion']}" if verdict["champion"] else ""
    print(
        f"evaluate: accuracy {scores['accuracy']:.4f}, macro-F1 {scores['macro_f1']:.4f}:"
        f" {word}{against}"
    )
    return verdict


@stage_entry("evaluate")
def main() -> None:
    run(load_params())
