"""Single-label classification: a class per sample, probabilities per class out.

The classes are the sorted labels of the prepared data; the model ends in a float32 softmax
(stable under mixed precision) trained with sparse categorical cross-entropy. Scores are
accuracy, macro-F1 and log-loss (plus ROC AUC for two classes); significance is McNemar's
exact test on the paired predictions. Splits are not stratified (they are stable hashes), so
prepare reports how far each split's class shares are from the whole data's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.common.brief import few
from tasks.common.errors import DataValidationError
from tasks.common.params import GateParams, SliceGate, TrainParams
from tasks.problems.base import Problem, check

MAX_EXAMPLES = 5


def class_counts(labels: pd.Series, splits: dict[str, np.ndarray]) -> dict[str, dict]:
    """Rows of each class in each split, classes in sorted order."""
    classes = sorted(labels.unique().tolist())
    return {
        name: labels.iloc[rows].value_counts().reindex(classes, fill_value=0).astype(int).to_dict()
        for name, rows in splits.items()
    }


def check_classes(counts: dict[str, dict], target: str) -> list[str]:
    """Warnings for classes missing from val or test; an error for one missing from train.

    Raises:
        DataValidationError: a class with no training row (the model could never learn it).
    """
    absent = {name: [c for c, n in found.items() if not n] for name, found in counts.items()}
    if absent["train"]:
        total = [f"{c}: {sum(found[c] for found in counts.values())}" for c in absent["train"]]
        raise DataValidationError(
            f"prepare: no training row of class {few(absent['train'])} of '{target}' "
            f"(rows in all: {few(total)}): add rows of it, or raise "
            "validate.min_rows_per_class so validation stops such data"
        )
    return [
        f"class {few(classes)} of '{target}' has no row in the {name} split: its {name} "
        "metrics leave it out"
        for name, classes in absent.items()
        if classes
    ]


def share_spread(counts: dict[str, dict]) -> float:
    """The largest gap, in points, between a class's share in a split and in all the data."""
    table = pd.DataFrame(counts)
    overall = table.sum(axis=1) / max(int(table.to_numpy().sum()), 1)
    shares = table / table.sum(axis=0).clip(lower=1)
    return round(100 * float((shares.sub(overall, axis=0)).abs().to_numpy().max()), 1)


def mcnemar(challenger_right: np.ndarray, champion_right: np.ndarray) -> tuple[float, int, int]:
    """Exact McNemar test: p-value that the challenger is better, and the discordant counts."""
    from scipy.stats import binomtest

    wins = int(np.sum(challenger_right & ~champion_right))
    losses = int(np.sum(~challenger_right & champion_right))
    if wins + losses == 0:
        return 1.0, wins, losses
    return float(binomtest(wins, wins + losses, 0.5, alternative="greater").pvalue), wins, losses


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


class Classification(Problem):
    name = "classification"
    numeric_target = False
    label_dtype = "int32"
    compared = ("accuracy", "macro_f1", "log_loss")
    epoch_metrics = ("accuracy",)
    curve_columns = {
        "confusion": ("actual", "predicted"),
        "roc": ("fpr", "tpr"),
        "precision_recall": ("recall", "precision"),
    }

    def encode(self, values: pd.Series, target: str) -> pd.Series:
        return values.astype(str)

    def describe_target(self, values: pd.Series) -> dict:
        return {"classes": sorted(values.unique().tolist())}

    def split_report(self, values, splits, target):
        counts = class_counts(values, splits)
        notes = check_classes(counts, target)
        words = f"{len(counts['train'])} classes, each split's shares within "
        return {"class_counts": counts}, notes, words + f"{share_spread(counts)} points of all"

    def signature_part(self, meta: dict) -> dict:
        return {"classes": list(meta["classes"])}

    def outputs(self, signature: dict) -> str:
        return f"{len(signature['classes'])} classes of '{signature['target']}'"

    def differences(self, champion: dict, challenger: dict) -> list[str]:
        if champion["classes"] == challenger["classes"]:
            return []
        return [
            f"classes: champion {few(champion['classes'])}, this model {few(challenger['classes'])}"
        ]

    def labels(self, column, meta: dict, where: str) -> np.ndarray:
        import pyarrow as pa
        import pyarrow.compute as pc

        classes = pa.array(meta["classes"], pa.string())
        labels = column.cast(pa.string())
        index = pc.index_in(labels, value_set=classes)
        if index.null_count:
            found = sorted(set(map(str, pc.filter(labels, pc.is_null(index)).to_pylist())))
            raise DataValidationError(
                f"{where}: column '{meta['target']}' holds labels outside meta.json's classes "
                f"{few(meta['classes'])}: {few(found)}; rerun prepare"
            )
        return index.to_numpy(zero_copy_only=False).astype("int32")

    def fit_target(self, train, p: TrainParams) -> dict | None:
        return None

    def output_layer(self, meta: dict):
        from keras import layers

        n = len(meta["classes"])
        return layers.Dense(n, activation="softmax", dtype="float32", name="probabilities")

    def compile_args(self, p: TrainParams, target: dict | None) -> dict:
        return {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}

    def export(self, model, target: dict | None):
        return model

    def shaped(self, outputs: np.ndarray) -> np.ndarray:
        return outputs

    def scores(self, y_true, outputs, meta) -> dict:
        return metrics(y_true, outputs, meta["classes"])

    def gated(self, p: GateParams):
        return [
            ("accuracy", "min_accuracy", 1, p.min_accuracy),
            ("macro_f1", "min_macro_f1", 1, p.min_macro_f1),
            ("log_loss", "max_log_loss", -1, p.max_log_loss),
        ]

    def worst_allowed(self, best: float, margin: float, direction: int) -> float:
        return best - margin if direction > 0 else best + margin

    def significance(self, y_true, ours, theirs, alpha: float) -> dict:
        p_value, wins, losses = mcnemar(ours.argmax(1) == y_true, theirs.argmax(1) == y_true)
        found = check("significantly_better", "mcnemar_p_value", p_value, "<=", alpha)
        return found | {"wins": wins, "losses": losses}

    def slice_scores(self, y_true, outputs, meta) -> dict:
        scores = metrics(y_true, outputs, meta["classes"])
        return {"accuracy": scores["accuracy"], "macro_f1": scores["macro_f1"]}

    def slice_threshold(self, gate: SliceGate):
        return None if gate.min_accuracy is None else ("accuracy", ">=", gate.min_accuracy)

    def predictions(self, ids, y_true, outputs, meta) -> pd.DataFrame:
        """id, actual (when known), predicted class, and every class's probability."""
        names = np.asarray(meta["classes"])
        frame = pd.DataFrame({"id": ids.to_numpy()})
        if y_true is not None:
            frame["actual"] = names[y_true]
        frame["predicted"] = names[outputs.argmax(axis=1)]
        for index, name in enumerate(meta["classes"]):
            frame[f"p_{name}"] = outputs[:, index]
        return frame

    def curves(self, y_true, outputs, meta) -> dict[str, pd.DataFrame]:
        """Actual and predicted classes (the confusion matrix), ROC and precision-recall
        points: of the positive class for a binary task, micro-averaged one-vs-rest
        otherwise, so the plots exist for every task."""
        from sklearn.metrics import precision_recall_curve, roc_curve

        names = np.asarray(meta["classes"])
        confusion = pd.DataFrame(
            {"actual": names[y_true], "predicted": names[outputs.argmax(axis=1)]}
        )

        if outputs.shape[1] == 2:
            truth, score = (y_true == 1).astype(int), outputs[:, 1]
        else:
            truth = np.eye(outputs.shape[1], dtype=int)[y_true].ravel()
            score = outputs.ravel()
        fpr, tpr, _ = roc_curve(truth, score)
        precision, recall, _ = precision_recall_curve(truth, score)
        return {
            "confusion": confusion,
            "roc": pd.DataFrame({"fpr": fpr, "tpr": tpr}),
            "precision_recall": pd.DataFrame({"recall": recall, "precision": precision}),
        }

    def summary(self, scores: dict) -> str:
        return f"accuracy {scores['accuracy']:.4f}, macro-F1 {scores['macro_f1']:.4f}"

    def target_checks(self, tally, rules, runner):
        """At least `validate.min_classes` classes, each with `min_rows_per_class` rows;
        checked on a table of class counts, so the label column is never held whole."""
        import great_expectations.expectations as gxe

        counts = pd.DataFrame(sorted(tally.classes.items()), columns=["class", "rows"])
        minimum = rules.min_rows_per_class
        expectations = [
            gxe.ExpectColumnUniqueValueCountToBeBetween(
                column="class",
                min_value=rules.min_classes,
                description=f"`{tally.target}` has at least {rules.min_classes} classes "
                "(validate.min_classes).",
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="rows",
                min_value=minimum,
                description=f"Every class of `{tally.target}` has at least {minimum} rows "
                "(validate.min_rows_per_class).",
            ),
        ]
        classes, rows = runner.run(counts, expectations)
        small = counts[counts["rows"] < minimum]
        checks = [
            {
                "expectation": "expect_column_unique_value_count_to_be_between",
                "column": tally.target,
                "success": bool(classes.success),
                "observed": len(counts),
            },
            {
                "expectation": "expect_min_rows_per_class",
                "column": tally.target,
                "success": bool(rows.success),
                "observed": dict(
                    zip(counts["class"], counts["rows"].astype(int).tolist(), strict=True)
                ),
                "examples": [
                    f"{c}: {n} rows (< {minimum})" for c, n in small.itertuples(index=False)
                ][:MAX_EXAMPLES],
            },
        ]
        return checks, [classes, rows]
