"""Classification as a problem kind: metrics, curves, McNemar, per-split class shares."""

import numpy as np
import pandas as pd
import pytest

from tasks.common.errors import DataValidationError
from tasks.problems import problem
from tasks.problems.classification import check_classes, mcnemar, metrics

CLASSIFY = problem("classification")
curves = CLASSIFY.curves

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
    binary = curves(np.array([0, 1, 1, 0]), proba_for([0, 1, 0, 0]), {"classes": CLASSES})
    assert list(binary["roc"].columns) == ["fpr", "tpr"]
    assert binary["roc"]["tpr"].iloc[-1] == 1.0
    multi = curves(np.array([0, 1, 2]), np.eye(3), {"classes": ["x", "y", "z"]})
    assert set(multi) == {"confusion", "roc", "precision_recall"}
    assert binary["confusion"].to_dict("list") == {
        "actual": ["a", "b", "b", "a"],
        "predicted": ["a", "b", "a", "a"],
    }
    assert multi["precision_recall"]["precision"].max() == 1.0


def test_mcnemar_counts_discordant_pairs():
    challenger = np.array([True] * 12 + [False] * 1 + [True] * 80)
    champion = np.array([False] * 12 + [True] * 1 + [True] * 80)
    p_value, wins, losses = mcnemar(challenger, champion)
    assert (wins, losses) == (12, 1)
    assert p_value == pytest.approx(14 / 8192)  # P(X >= 12), X ~ Binomial(13, 0.5)
    assert mcnemar(champion, champion)[0] == 1.0


def test_each_split_reports_its_class_counts_and_how_far_its_shares_are():
    labels = pd.Series(["a"] * 60 + ["b"] * 40)
    splits = {
        "train": np.arange(0, 100, 2),
        "val": np.arange(1, 60, 2),
        "test": np.arange(61, 100, 2),
    }
    report, notes, words = CLASSIFY.split_report(labels, splits, "label")
    assert report["class_counts"]["train"] == {"a": 30, "b": 20}
    assert report["class_counts"]["val"] == {"a": 30, "b": 0}
    assert notes == [
        "class [b] of 'label' has no row in the val split: its val metrics leave it out",
        "class [a] of 'label' has no row in the test split: its test metrics leave it out",
    ]
    assert words == "2 classes, each split's shares within 60.0 points of all"


def test_a_class_with_no_training_row_is_named():
    counts = {"train": {"a": 40, "b": 0}, "val": {"a": 9, "b": 1}, "test": {"a": 8, "b": 0}}
    with pytest.raises(DataValidationError, match=r"no training row of class \[b\]") as err:
        check_classes(counts, "label")
    assert "b: 1" in str(err.value)
