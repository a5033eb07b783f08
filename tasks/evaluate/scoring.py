"""Test-split scores with scikit-learn: metrics, per-row predictions and curve points."""

from __future__ import annotations

import numpy as np
import pandas as pd


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


def predictions(ids: pd.Series, y_true: np.ndarray, proba: np.ndarray, classes: list[str]):
    """One row per test sample: id, actual and predicted class, and every probability."""
    names = np.asarray(classes)
    frame = pd.DataFrame(
        {"id": ids.to_numpy(), "actual": names[y_true], "predicted": names[proba.argmax(axis=1)]}
    )
    for index, name in enumerate(classes):
        frame[f"p_{name}"] = proba[:, index]
    return frame


def curves(y_true: np.ndarray, proba: np.ndarray) -> dict[str, pd.DataFrame]:
    """ROC and precision-recall points: of the positive class for a binary task, micro-averaged
    one-vs-rest otherwise, so the plots exist for every task."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    if proba.shape[1] == 2:
        truth, score = (y_true == 1).astype(int), proba[:, 1]
    else:
        truth = np.eye(proba.shape[1], dtype=int)[y_true].ravel()
        score = proba.ravel()
    fpr, tpr, _ = roc_curve(truth, score)
    precision, recall, _ = precision_recall_curve(truth, score)
    return {
        "roc": pd.DataFrame({"fpr": fpr, "tpr": tpr}),
        "precision_recall": pd.DataFrame({"recall": recall, "precision": precision}),
    }
