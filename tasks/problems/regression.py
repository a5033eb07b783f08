"""Regression: a number per sample, predicted in the target's own units.

The model learns a scaled target: (t(y) - mean) / std, with t the identity or, for positive
skewed targets (`train.target_transform: log`), log(1 + y), mean and std fitted on the training
split. The saved model ends in Keras layers that undo the scaling (and the log), so it returns
the target's own units at serving time. Loss `train.loss`: mse, mae or huber (on the scaled
target); the epoch metrics and the test scores are in the target's units: rmse, mae, r2.
Significance is a Wilcoxon signed-rank test on the paired absolute errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.common.brief import few
from tasks.common.errors import DataValidationError, ParamsError
from tasks.common.params import GateParams, SliceGate, TrainParams
from tasks.problems.base import Problem, check

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
MAX_EXAMPLES = 5
MAX_POINTS = 10_000  # plotted test rows (a seeded sample beyond): dvc plots stay readable
SPLITS = ("train", "val", "test")


def quantiles(values: pd.Series) -> dict[str, float]:
    if not len(values):
        return {}
    found = np.quantile(values.to_numpy(dtype=float), QUANTILES)
    return {f"{q:g}": round(float(v), 6) for q, v in zip(QUANTILES, found, strict=True)}


def wilcoxon(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, int, int]:
    """p-value that the challenger's absolute errors are smaller, and the rows it wins and
    loses (Wilcoxon signed-rank test on the paired differences)."""
    from scipy.stats import wilcoxon as signed_rank

    gain = np.abs(theirs) - np.abs(ours)
    wins, losses = int((gain > 0).sum()), int((gain < 0).sum())
    if wins + losses == 0:
        return 1.0, wins, losses
    return float(signed_rank(gain, alternative="greater").pvalue), wins, losses


def metrics(y_true: np.ndarray, predicted: np.ndarray) -> dict:
    """rmse, mae and r2 (scikit-learn), in the target's units."""
    from sklearn import metrics as skm

    scores = {
        "rmse": float(np.sqrt(skm.mean_squared_error(y_true, predicted))),
        "mae": float(skm.mean_absolute_error(y_true, predicted)),
    }
    if len(y_true) > 1 and np.ptp(y_true) > 0:
        scores["r2"] = float(skm.r2_score(y_true, predicted))
    return scores


def _unit_metric(base, name: str, units):
    """A Keras metric of the model's outputs in the target's units."""
    from keras import ops

    class InUnits(base):
        def update_state(self, y_true, y_pred, sample_weight=None):
            truth = ops.reshape(ops.cast(y_true, "float32"), (-1, 1))
            return super().update_state(truth, units(y_pred), sample_weight)

    return InUnits(name=name)


class Regression(Problem):
    name = "regression"
    numeric_target = True
    label_dtype = "float32"
    compared = ("rmse", "mae", "r2")
    epoch_metrics = ("rmse", "mae")
    curve_columns = {
        "predicted_vs_actual": ("actual", "predicted"),
        "residuals": ("predicted", "residual"),
    }

    def encode(self, values: pd.Series, target: str) -> pd.Series:
        numbers = pd.to_numeric(values, errors="coerce")
        bad = values.notna() & numbers.isna()
        if bad.any():
            examples = [f"row {i} ({v!r})" for i, v in values[bad].head(MAX_EXAMPLES).items()]
            raise DataValidationError(
                f"prepare: column '{target}' must hold numbers (data.task: regression): "
                f"{int(bad.sum())} values do not, e.g. {', '.join(examples)}"
            )
        return numbers.astype("float64")

    def describe_target(self, values: pd.Series) -> dict:
        return {}

    def split_report(self, values, splits, target):
        found = {name: quantiles(values.iloc[rows]) for name, rows in splits.items()}
        medians = " / ".join(f"{found[name].get('0.5', float('nan')):.4g}" for name in SPLITS)
        return {"target_quantiles": found}, [], f"'{target}' median {medians}"

    def signature_part(self, meta: dict) -> dict:
        return {}

    def outputs(self, signature: dict) -> str:
        return f"a number, '{signature['target']}'"

    def differences(self, champion: dict, challenger: dict) -> list[str]:
        return []

    def labels(self, column, meta: dict, where: str) -> np.ndarray:
        import pyarrow as pa

        values = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
        if np.isnan(values).any():
            raise DataValidationError(
                f"{where}: column '{meta['target']}' has rows without a number; rerun prepare"
            )
        return values.astype("float32")

    def fit_target(self, train, p: TrainParams) -> dict:
        """Mean and spread of the (transformed) training target."""
        values = train.read_labels().astype("float64")
        if p.target_transform == "log":
            low = values <= -1
            if low.any():
                raise ParamsError(
                    "train.target_transform: log learns log(1 + y), so every target must be "
                    f"above -1: {int(low.sum())} training rows are not, e.g. "
                    f"{few(sorted(values[low].tolist())[:MAX_EXAMPLES])}"
                )
            values = np.log1p(values)
        std = float(values.std()) if len(values) else 1.0
        mean = float(values.mean()) if len(values) else 0.0
        return {"transform": p.target_transform, "mean": mean, "std": std or 1.0}

    def output_layer(self, meta: dict):
        from keras import layers

        return layers.Dense(1, dtype="float32", name="scaled_target")

    def compile_args(self, p: TrainParams, target: dict | None) -> dict:
        import keras
        from keras import ops

        mean, std, log = target["mean"], target["std"], target["transform"] == "log"
        base = {
            "mse": keras.losses.mean_squared_error,
            "mae": keras.losses.mean_absolute_error,
            "huber": keras.losses.huber,
        }[p.loss]

        def scaled(y):
            y = ops.reshape(ops.cast(y, "float32"), (-1, 1))
            return ((ops.log1p(y) if log else y) - mean) / std

        def units(z):
            value = ops.cast(z, "float32") * std + mean
            return ops.expm1(value) if log else value

        def loss(y_true, y_pred):
            return base(scaled(y_true), ops.cast(y_pred, "float32"))

        metrics = [
            _unit_metric(keras.metrics.RootMeanSquaredError, "rmse", units),
            _unit_metric(keras.metrics.MeanAbsoluteError, "mae", units),
        ]
        return {"loss": loss, "metrics": metrics}

    def export(self, model, target: dict | None):
        """The trained model with Keras layers that undo the scaling: the target's units out."""
        import keras
        from keras import layers

        x = layers.Rescaling(target["std"], offset=target["mean"], name="target_units")(
            model.outputs[0]
        )
        if target["transform"] == "log":
            x = layers.Activation("exponential", name="undo_log")(x)
            x = layers.Rescaling(1.0, offset=-1.0, name="undo_log_offset")(x)
        return keras.Model(model.input, x, name=model.name)

    def shaped(self, outputs: np.ndarray) -> np.ndarray:
        return np.asarray(outputs, dtype="float64").reshape(-1)

    def scores(self, y_true, outputs, meta) -> dict:
        return metrics(np.asarray(y_true, dtype="float64"), outputs)

    def gated(self, p: GateParams):
        return [
            ("r2", "min_r2", 1, p.min_r2),
            ("rmse", "max_rmse", -1, p.max_rmse),
            ("mae", "max_mae", -1, p.max_mae),
        ]

    def worst_allowed(self, best: float, margin: float, direction: int) -> float:
        """r2 may drop by `margin`; an error may grow by `margin` of the champion's."""
        return best - margin if direction > 0 else best * (1 + margin)

    def significance(self, y_true, ours, theirs, alpha: float) -> dict:
        truth = np.asarray(y_true, dtype="float64")
        p_value, wins, losses = wilcoxon(ours - truth, theirs - truth)
        found = check("significantly_better", "wilcoxon_p_value", p_value, "<=", alpha)
        return found | {"wins": wins, "losses": losses}

    def slice_scores(self, y_true, outputs, meta) -> dict:
        scores = metrics(np.asarray(y_true, dtype="float64"), outputs)
        return {"rmse": scores["rmse"], "mae": scores["mae"]}

    def slice_threshold(self, gate: SliceGate):
        return None if gate.max_rmse is None else ("rmse", "<=", gate.max_rmse)

    def predictions(self, ids, y_true, outputs, meta) -> pd.DataFrame:
        """id, actual (when known) and the predicted number."""
        frame = pd.DataFrame({"id": ids.to_numpy()})
        if y_true is not None:
            frame["actual"] = np.asarray(y_true, dtype="float64")
        frame["predicted"] = outputs
        return frame

    def curves(self, y_true, outputs, meta) -> dict[str, pd.DataFrame]:
        """Predicted against actual, and residuals against predicted (a sample of the rows
        beyond MAX_POINTS)."""
        rows = np.arange(len(outputs))
        if len(rows) > MAX_POINTS:
            rows = np.sort(np.random.default_rng(0).choice(rows, MAX_POINTS, replace=False))
        actual, predicted = np.asarray(y_true, dtype="float64")[rows], outputs[rows]
        return {
            "predicted_vs_actual": pd.DataFrame({"actual": actual, "predicted": predicted}),
            "residuals": pd.DataFrame({"predicted": predicted, "residual": actual - predicted}),
        }

    def summary(self, scores: dict) -> str:
        r2 = f", r2 {scores['r2']:.4f}" if "r2" in scores else ""
        return f"rmse {scores['rmse']:.4g}, mae {scores['mae']:.4g}{r2}"

    def target_checks(self, tally, rules, runner):
        """The target holds numbers, and more than one value."""
        import great_expectations.expectations as gxe

        facts = tally.target_facts
        table = pd.DataFrame(
            {"not_numbers": [facts.not_numbers], "distinct": [len(facts.distinct)]}
        )
        expectations = [
            gxe.ExpectColumnValuesToBeBetween(
                column="not_numbers",
                max_value=0,
                description=f"`{tally.target}` holds only numbers (data.task: regression).",
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="distinct",
                min_value=2,
                description=f"`{tally.target}` takes more than one value.",
            ),
        ]
        numbers, varied = runner.run(table, expectations)
        checks = [
            {
                "expectation": "expect_target_to_be_numeric",
                "column": tally.target,
                "success": bool(numbers.success),
                "observed": f"{facts.not_numbers} of {facts.values} values are not numbers",
                "examples": list(facts.examples),
            },
            {
                "expectation": "expect_target_to_vary",
                "column": tally.target,
                "success": bool(varied.success),
                "observed": f"{len(facts.distinct)} distinct values",
            },
        ]
        return checks, [numbers, varied]
