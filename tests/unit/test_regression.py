"""Regression as a problem kind, and what `data.task: auto` makes of a target column."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest

from tasks.common.errors import DataValidationError, ParamsError
from tasks.common.params import TrainParams
from tasks.common.signature import build, differences
from tasks.problems import TargetFacts, choose, problem
from tasks.problems.regression import metrics, wilcoxon

REGRESS = problem("regression")


def facts(values) -> TargetFacts:
    found = TargetFacts()
    found.add(pd.Series(values))
    return found


def test_auto_picks_regression_for_many_numbers_and_classification_for_labels():
    rng = np.random.default_rng(0)
    assert choose("auto", facts(rng.integers(25, 346, 442)), "progression") == "regression"
    assert choose("auto", facts(rng.normal(size=50)), "price") == "regression"  # fractional
    assert choose("auto", facts(rng.integers(0, 10, 500)), "digit") == "classification"
    assert choose("auto", facts(["cat", "dog"] * 30), "animal") == "classification"
    assert choose("auto", facts([True, False] * 30), "churned") == "classification"
    assert choose("regression", facts(rng.integers(0, 3, 90)), "grade") == "regression"


def test_auto_says_what_to_set_when_it_cannot_tell():
    with pytest.raises(DataValidationError, match=r"data.task: auto cannot tell whether") as err:
        choose("auto", facts(np.arange(100) % 35), "stars")
    assert "35 distinct whole numbers" in str(err.value)
    assert "set data.task: classification or data.task: regression" in str(err.value)
    junk = [*map(str, range(100)), "n/a", "?"]
    with pytest.raises(DataValidationError, match=r"2 of 102 values are not") as err:
        choose("auto", facts(junk), "price")
    assert "row 100 ('n/a')" in str(err.value)


def test_repeated_labels_written_as_text_are_parsed_like_every_row():
    assert choose("auto", facts(["3", "7", 5] * 400), "grade") == "classification"
    junk = facts(pd.Series(["3", "7", "n/a"] * 400, index=range(10, 1210)))
    assert (junk.values, junk.not_numbers, junk.distinct) == (1200, 400, {3.0, 7.0})
    assert junk.examples[:2] == ["row 12 ('n/a')", "row 15 ('n/a')"]


def test_facts_counted_in_batches_decide_as_the_whole_column():
    values = pd.Series(np.arange(200) % 60)
    whole = facts(values)
    batched = TargetFacts()
    for start in range(0, 200, 30):
        batched.add(values.iloc[start : start + 30].reset_index(drop=True), start)
    assert choose("auto", batched, "y") == choose("auto", whole, "y") == "regression"


def test_metrics_are_rmse_mae_and_r2_in_the_targets_units():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    scores = metrics(y, np.array([1.5, 2.0, 2.5, 4.0]))
    assert scores == pytest.approx({"rmse": np.sqrt(0.125), "mae": 0.25, "r2": 0.9})


def test_wilcoxon_favours_the_model_with_smaller_absolute_errors():
    rng = np.random.default_rng(1)
    ours, theirs = rng.normal(0, 1, 200), rng.normal(0, 2, 200)
    p_value, wins, losses = wilcoxon(ours, theirs)
    assert p_value < 0.01 and wins > losses
    assert wilcoxon(theirs, ours)[0] > 0.5
    assert wilcoxon(ours, ours) == (1.0, 0, 0)


def test_errors_may_grow_by_a_share_of_the_champions_and_r2_drop_by_the_margin():
    assert REGRESS.worst_allowed(10.0, 0.05, -1) == pytest.approx(10.5)
    assert REGRESS.worst_allowed(0.6, 0.05, 1) == pytest.approx(0.55)


def test_the_saved_model_answers_in_the_targets_units_and_undoes_the_log():
    inputs = keras.Input(shape=(1,), name="f_x")
    core = keras.Model(inputs, keras.layers.Dense(1, kernel_initializer="ones")(inputs))
    z = np.array([[-1.0], [0.0], [2.0]], dtype="float32")
    plain = REGRESS.export(core, {"transform": "none", "mean": 100.0, "std": 20.0})
    np.testing.assert_allclose(plain.predict(z, verbose=0).ravel(), [80.0, 100.0, 140.0])
    logged = REGRESS.export(core, {"transform": "log", "mean": 2.0, "std": 0.5})
    expected = np.expm1(z.ravel() * 0.5 + 2.0)
    np.testing.assert_allclose(logged.predict(z, verbose=0).ravel(), expected, rtol=1e-5)


def test_the_loss_is_on_the_scaled_target_and_the_metrics_in_its_units():
    target = {"transform": "none", "mean": 100.0, "std": 20.0}
    objective = REGRESS.compile_args(TrainParams(loss="mse"), target)
    y_true, z = np.array([120.0, 60.0]), np.array([[1.0], [-2.0]], dtype="float32")
    assert float(keras.ops.mean(objective["loss"](y_true, z))) == pytest.approx(0.0)
    rmse = objective["metrics"][0]
    rmse.update_state(y_true, np.array([[1.5], [-2.0]], dtype="float32"))
    assert float(rmse.result()) == pytest.approx(np.sqrt(10.0**2 / 2))  # 130 vs 120, in units


class Labels:
    def __init__(self, values):
        self.values = np.asarray(values, dtype="float32")

    def read_labels(self):
        return self.values


def test_a_log_target_must_be_above_minus_one():
    found = REGRESS.fit_target(Labels([0.0, 9.0, 99.0]), TrainParams(target_transform="log"))
    assert found["mean"] == pytest.approx(np.log1p([0.0, 9.0, 99.0]).mean())
    with pytest.raises(ParamsError, match=r"train.target_transform: log .* 1 training rows"):
        REGRESS.fit_target(Labels([-3.0, 5.0]), TrainParams(target_transform="log"))


def test_a_target_that_is_not_a_number_is_named_by_row():
    values = pd.Series(["1.5", "2", "lots", None])
    with pytest.raises(DataValidationError, match=r"1 values do not, e.g. row 2 \('lots'\)"):
        REGRESS.encode(values, "price")
    assert REGRESS.encode(values.iloc[[0, 1, 3]], "price").tolist()[:2] == [1.5, 2.0]


def test_a_champion_of_another_task_differs_by_its_task():
    table = {"kind": "table", "target": "y", "features": {"numeric": ["x"], "categorical": []}}
    classes = build(table | {"task": "classification", "classes": ["a", "b"]})
    numbers = build(table | {"task": "regression"})
    assert numbers == {
        "kind": "table",
        "task": "regression",
        "target": "y",
        "inputs": [{"column": "x", "name": "f_x", "dtype": "float32", "shape": [1]}],
    }
    [found] = differences(classes, numbers)
    assert found == (
        "task: the champion predicts a table of 1 columns -> 2 classes of 'y', "
        "this model a table of 1 columns -> a number, 'y'"
    )
    assert differences(numbers, numbers) == []


def test_predictions_are_ids_actual_and_predicted_numbers():
    table = REGRESS.predictions(pd.Series(["a.csv:0", "a.csv:1"]), None, np.array([1.5, 2.0]), {})
    assert table.to_dict("list") == {"id": ["a.csv:0", "a.csv:1"], "predicted": [1.5, 2.0]}
