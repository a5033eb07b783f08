"""Evaluate stage: test-split metrics with scikit-learn, plots data, and the gate.

A refused model is a result, not a crash: the stage succeeds and writes reports/gate.json
with `blessed: false`; the flow then declines to register it (exit code MODEL_REFUSED).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tasks.errors import stage_entry
from tasks.io import write_json
from tasks.params import GateParams, Params, load_params

GATED = (
    ("accuracy", "min_accuracy", ">="),
    ("macro_f1", "min_macro_f1", ">="),
    ("log_loss", "max_log_loss", "<="),
)


def metrics(y_true: np.ndarray, proba: np.ndarray, classes: list[str]) -> dict:
    """Scores a user compares across runs (`dvc metrics diff`)."""
    from sklearn import metrics as skm

    labels = list(range(len(classes)))
    y_pred = proba.argmax(axis=1)
    precision, recall, _, support = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    scores = {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "macro_f1": float(skm.f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "log_loss": float(skm.log_loss(y_true, proba, labels=labels)),
    }
    if len(classes) == 2 and len(np.unique(y_true)) == 2:
        scores["roc_auc"] = float(skm.roc_auc_score(y_true, proba[:, 1]))
    scores["per_class"] = {
        name: {"precision": float(p), "recall": float(r), "support": int(s)}
        for name, p, r, s in zip(classes, precision, recall, support, strict=True)
    }
    return scores


def gate(scores: dict, p: GateParams) -> dict:
    """Absolute thresholds; a model is blessed only if every configured check passes."""
    checks = []
    for metric, key, op in GATED:
        threshold = getattr(p, key)
        if threshold is None:
            continue
        value = scores[metric]
        passed = value >= threshold if op == ">=" else value <= threshold
        checks.append(
            {
                "check": key,
                "metric": metric,
                "value": value,
                "op": op,
                "threshold": threshold,
                "passed": bool(passed),
            }
        )
    return {"blessed": all(c["passed"] for c in checks), "checks": checks}


def predictions(ids: pd.Series, y_true: np.ndarray, proba: np.ndarray, classes: list[str]):
    frame = pd.DataFrame(
        {
            "id": ids.to_numpy(),
            "actual": np.asarray(classes)[y_true],
            "predicted": np.asarray(classes)[proba.argmax(axis=1)],
        }
    )
    for index, name in enumerate(classes):
        frame[f"p_{name}"] = proba[:, index]
    return frame


def run(params: Params) -> dict:
    import keras

    from tasks.pipeline import predict_proba
    from tasks.train import load_splits

    splits = load_splits(params.paths.prepared, ("test",))
    model = keras.saving.load_model(Path(params.paths.model) / "model.keras", safe_mode=True)
    proba = predict_proba(model, splits.inputs("test"))
    y_true, classes = splits.labels("test"), splits.meta["classes"]
    scores = metrics(y_true, proba, classes)
    verdict = gate(scores, params.evaluate.gate)
    test = splits.frames["test"]
    ids = test["path"] if "path" in test.columns else pd.Series(test.index)
    reports = Path(params.paths.reports)
    table = predictions(ids, y_true, proba, classes)
    reports.mkdir(parents=True, exist_ok=True)
    table.to_csv(reports / "predictions.csv", index=False)
    write_json(reports / "metrics.json", scores)
    write_json(reports / "gate.json", verdict)
    word = "blessed" if verdict["blessed"] else "REFUSED"
    print(f"evaluate: accuracy {scores['accuracy']:.4f}, macro-F1 {scores['macro_f1']:.4f}: {word}")
    return verdict


@stage_entry("evaluate")
def main() -> None:
    run(load_params())


if __name__ == "__main__":
    main()
