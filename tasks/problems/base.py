"""The interface of a kind of problem (see `tasks.problems`), and the gate's check record."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np
import pandas as pd

from tasks.common.params import GateParams, SliceGate, TrainParams


def check(
    name: str, metric: str, value: float, op: str, threshold: float, champion: float | None = None
) -> dict:
    """One gate check as reports/gate.json records it."""
    passed = value >= threshold if op == ">=" else value <= threshold
    return {
        "check": name,
        "metric": metric,
        "value": value,
        "champion": champion,
        "op": op,
        "threshold": threshold,
        "passed": bool(passed),
    }


class Problem(ABC):
    """What one kind of problem decides, stage by stage. Stateless: one instance per kind."""

    name: str
    numeric_target: bool  # drift and reference statistics treat the target as a number
    label_dtype: str  # what a model is trained against: "int32" class indices, "float32"
    compared: tuple[str, ...]  # metrics of the champion beside the challenger's
    curve_columns: dict[str, tuple[str, ...]]  # reports/curves/<name>.csv that `curves` writes
    epoch_metrics: tuple[str, ...]  # what `compile_args` reports each epoch (DVCLive curves)

    # prepare ---------------------------------------------------------------------------
    @abstractmethod
    def encode(self, values: pd.Series, target: str) -> pd.Series:
        """The target column as prepared splits store it (rows without a target are gone).

        Raises:
            DataValidationError: values this kind cannot learn from, named.
        """

    @abstractmethod
    def describe_target(self, values: pd.Series) -> dict:
        """What the prepared meta records of the whole target (classes, or nothing)."""

    @abstractmethod
    def split_report(
        self, values: pd.Series, splits: dict[str, np.ndarray], target: str
    ) -> tuple[dict, list[str], str]:
        """How the target came out in each split: meta entries, warnings, a few words.

        Raises:
            DataValidationError: a split the model cannot learn from (a class never trained).
        """

    # signature -------------------------------------------------------------------------
    @abstractmethod
    def signature_part(self, meta: dict) -> dict:
        """The signature's outputs: the classes in their probability order, or nothing."""

    @abstractmethod
    def outputs(self, signature: dict) -> str:
        """What a model of `signature` predicts, in words: `3 classes of 'species'`."""

    @abstractmethod
    def differences(self, champion: dict, challenger: dict) -> list[str]:
        """What differs in the outputs of two signatures of this kind, in words."""

    # training --------------------------------------------------------------------------
    @abstractmethod
    def labels(self, column, meta: dict, where: str) -> np.ndarray:
        """A pyarrow array of prepared targets as what the model is trained and scored on.

        Raises:
            DataValidationError: a target the prepared meta does not know (a stale split).
        """

    @abstractmethod
    def fit_target(self, train, p: TrainParams) -> dict | None:
        """Statistics of the training split's target (`train.read_labels()`) that the model
        carries inside (its scaling), or None."""

    @abstractmethod
    def output_layer(self, meta: dict) -> Callable:
        """The model's last layer, called on the head's features (Keras)."""

    @abstractmethod
    def compile_args(self, p: TrainParams, target: dict | None) -> dict:
        """`loss` and `metrics` for `model.compile` (Keras)."""

    @abstractmethod
    def export(self, model, target: dict | None):
        """The model to save: predictions in the target's own units (Keras)."""

    # evaluation ------------------------------------------------------------------------
    @abstractmethod
    def shaped(self, outputs: np.ndarray) -> np.ndarray:
        """What a saved model's `predict` returned, as this kind's outputs: class
        probabilities (rows x classes), or one number per row."""

    @abstractmethod
    def scores(self, y_true: np.ndarray, outputs: np.ndarray, meta: dict) -> dict:
        """The test metrics reports/metrics.json records (`dvc metrics diff` compares them)."""

    @abstractmethod
    def gated(self, p: GateParams) -> list[tuple[str, str, int, float | None]]:
        """(metric, gate key, direction: +1 higher is better, threshold) per gateable metric."""

    @abstractmethod
    def worst_allowed(self, best: float, margin: float, direction: int) -> float:
        """The worst value that is no regression from the champion's `best` (max_regression)."""

    @abstractmethod
    def significance(
        self, y_true: np.ndarray, ours: np.ndarray, theirs: np.ndarray, alpha: float
    ) -> dict:
        """The check that the challenger is significantly better, on paired test rows."""

    @abstractmethod
    def slice_scores(self, y_true: np.ndarray, outputs: np.ndarray, meta: dict) -> dict:
        """The few metrics a slice of the test split reports."""

    @abstractmethod
    def slice_threshold(self, gate: SliceGate) -> tuple[str, str, float] | None:
        """(metric, op, threshold) a slice is held to, or None."""

    @abstractmethod
    def predictions(
        self, ids: pd.Series, y_true: np.ndarray | None, outputs: np.ndarray, meta: dict
    ) -> pd.DataFrame:
        """One row per sample: id, actual (when known), predicted, and what else it has."""

    @abstractmethod
    def curves(
        self, y_true: np.ndarray, outputs: np.ndarray, meta: dict
    ) -> dict[str, pd.DataFrame]:
        """Plot data for `dvc plots`, one CSV per name of `curve_columns` under
        reports/curves/."""

    @abstractmethod
    def summary(self, scores: dict) -> str:
        """The metrics in a few words: `accuracy 0.9741, macro-F1 0.9734`."""

    # validation ------------------------------------------------------------------------
    @abstractmethod
    def target_checks(self, tally, rules, runner) -> tuple[list[dict], list]:
        """validate's checks of the target (as `tasks.validate.checks.Check` fields) and
        their Great Expectations results, from validate's counts (`Tally`)."""
