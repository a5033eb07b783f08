import numpy as np
import pytest

from tasks.evaluate.scoring import curves, metrics

CLASSES = ["a", "b"]


def proba_for(predicted: list[int], confidence: float = 0.9) -> np.ndarray:
    return np.array(
        [
            [confidence, 1 - confidence] if p == 0 else [1 - confidence, confidence]
            for p in predicted
        ]
    )


def test_metrics_match_hand_counts():
    y_true = np.array([0, 0, 1, 1])
    scores = metrics(y_true, proba_for([0, 1, 1, 1]), CLASSES)
    assert scores["accuracy"] == pytest.approx(0.75)
    assert scores["per_class"]["a"] == {"precision": 1.0, "recall": 0.5, "support": 2}
    assert scores["per_class"]["b"]["precision"] == pytest.approx(2 / 3)
    assert scores["log_loss"] == pytest.approx(-(3 * np.log(0.9) + np.log(0.1)) / 4)
    assert "roc_auc" in scores


def test_multiclass_has_no_roc_auc():
    scores = metrics(np.array([0, 1, 2]), np.eye(3), ["x", "y", "z"])
    assert scores["accuracy"] == 1.0
    assert "roc_auc" not in scores


def test_curves_exist_for_binary_and_multiclass():
    binary = curves(np.array([0, 1, 1, 0]), proba_for([0, 1, 0, 0]))
    assert list(binary["roc"].columns) == ["fpr", "tpr"]
    assert binary["roc"]["tpr"].iloc[-1] == 1.0
    multi = curves(np.array([0, 1, 2]), np.eye(3))
    assert set(multi) == {"roc", "precision_recall"}
    assert multi["precision_recall"]["precision"].max() == 1.0
