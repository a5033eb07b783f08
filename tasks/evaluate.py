"""Evaluate stage: the challenger and the champion on the same test split, then the gate.

A refused model is a result, not a crash: the stage succeeds and writes reports/gate.json
with `blessed: false`; the flow then declines to register it (exit code MODEL_REFUSED).
The champion (production version, else the latest registered) is read from the registry, not
declared as a DVC dependency: registering would otherwise invalidate every later run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.errors import RegistryError, stage_entry
from tasks.gate import decide, significance_check, slice_checks
from tasks.io import write_json
from tasks.params import Params, SliceGate, load_params
from tasks.scoring import curves, metrics, predictions

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
            from tasks.errors import ParamsError

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


def champion_proba(params: Params, inputs) -> tuple[str, np.ndarray] | None:
    """The champion's probabilities on the same inputs; None on the first run."""
    import keras

    from tasks.pipeline import predict_proba
    from tasks.registry import champion, fetch_model

    repo = Path(".")
    version = champion(repo, params.register_.artifact)
    if version is None or not params.evaluate.compare_champion:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        folder = fetch_model(repo, params, version, Path(tmp) / "champion")
        model = keras.saving.load_model(folder / "model.keras", safe_mode=True)
        try:
            return version, predict_proba(model, inputs)
        except Exception as err:  # a champion trained on another schema cannot be scored
            raise RegistryError(f"champion {version} cannot score this test split: {err}") from err


def load_challenger(params: Params):
    import keras

    from tasks.train import load_splits

    splits = load_splits(params.paths.prepared, ("test",))
    model = keras.saving.load_model(Path(params.paths.model) / "model.keras", safe_mode=True)
    return splits, model


def score(params: Params) -> tuple[dict, dict, pd.DataFrame, dict]:
    """Metrics, gate verdict, predictions table and curves for the workspace's model."""
    from tasks.pipeline import predict_proba

    splits, model = load_challenger(params)
    inputs, y_true, classes = splits.inputs("test"), splits.labels("test"), splits.meta["classes"]
    test = splits.frames["test"]
    proba = predict_proba(model, inputs)
    scores = metrics(y_true, proba, classes)
    scores["slices"] = slice_metrics(test, y_true, proba, classes, params.evaluate.slices)
    gate_params, champion, significance = params.evaluate.gate, None, None
    if found := champion_proba(params, inputs):
        version, champion_p = found
        champion_scores = metrics(y_true, champion_p, classes)
        champion = {"version": version} | {k: champion_scores[k] for k in CHAMPION_METRICS}
        scores["champion"] = champion
        significance = significance_check(
            y_true, proba.argmax(1), champion_p.argmax(1), gate_params.mcnemar_alpha
        )
    checks = slice_checks(scores["slices"], params.evaluate.slices)
    verdict = decide(scores, gate_params, champion, significance, checks)
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
    word = "blessed" if verdict["blessed"] else "REFUSED"
    against = f" against champion {verdict['champion']}" if verdict["champion"] else ""
    print(
        f"evaluate: accuracy {scores['accuracy']:.4f}, macro-F1 {scores['macro_f1']:.4f}:"
        f" {word}{against}"
    )
    return verdict


@stage_entry("evaluate")
def main() -> None:
    run(load_params())


if __name__ == "__main__":
    main()
