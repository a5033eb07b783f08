"""Predicting numbers for real: the regression example, a skewed target, another task's champion."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from tasks.common.errors import ExitCode
from tests.conftest import BIN, ROOT, git_tags, run, trainflow

pytestmark = pytest.mark.e2e
QUICK = ["train.epochs=40", "train.early_stopping_patience=10", "flow.train_retries=0"]


def sets(*items: str) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def predicted(workspace, env, source: str, version: str) -> pd.DataFrame:
    found = trainflow(workspace, env, "predict", source, "--model", version)
    assert found.returncode == 0, found.stderr
    return pd.read_csv(io.StringIO(found.stdout))


def test_the_regression_example_predicts_numbers_and_refuses_a_champion_of_classes(workspace, env):
    shutil.copyfile(ROOT / "examples/regression.yaml", workspace / "params.yaml")
    first = trainflow(workspace, env, "run", *sets("data.task=auto", *QUICK))
    out = first.stdout + first.stderr
    assert first.returncode == 0, out
    assert "validate: data.task auto: regression ('progression' holds more than 50" in out
    assert "version: diabetes@v0.1.0 (new version)" in first.stdout
    metrics = json.loads((workspace / "reports/metrics.json").read_text())
    assert {"rmse", "mae", "r2"} <= set(metrics) and metrics["r2"] > 0.2
    assert f"(rmse {metrics['rmse']:.4g}, mae {metrics['mae']:.4g}, r2 " in first.stdout
    table = pd.read_csv(workspace / "reports/predictions.csv")
    assert list(table.columns) == ["id", "actual", "predicted"]
    assert table["predicted"].between(0, 500).all()  # the target's own units
    lineage = json.loads((workspace / "registry/diabetes/v0.1.0/lineage.json").read_text())
    assert lineage["signature"]["task"] == "regression"

    # trainflow predict on the prepared test rows gives evaluate's numbers.
    served = predicted(workspace, env, "data/prepared/test.parquet", "v0.1.0")
    assert list(served.columns) == ["id", "actual", "predicted"]
    np.testing.assert_allclose(served["predicted"], table["predicted"], rtol=1e-5)
    plots = run([str(BIN / "dvc"), "plots", "show", "--json"], workspace, env)
    assert plots.returncode == 0 and not json.loads(plots.stdout).get("errors"), plots.stderr

    # A classifier registered under the same name is never scored against this champion.
    other = sets("data.source=sklearn:breast_cancer", "data.target=diagnosis", "data.task=auto")
    refused = trainflow(workspace, env, "run", *other, *sets(*QUICK))
    out = refused.stdout + refused.stderr
    assert refused.returncode == ExitCode.MODEL_REFUSED, out
    assert "cannot compare with champion diabetes@v0.1.0" in out
    assert "task: the champion predicts a table of 10 columns -> a number, 'progression'" in out
    assert "this model a table of 30 columns -> 2 classes of 'diagnosis'" in out
    assert sorted(git_tags(workspace)) == ["diabetes#staging#1", "diabetes@v0.1.0"]


def prices(rows: int, seed: int) -> pd.DataFrame:
    """Prices spanning two orders of magnitude, with missing values among the features."""
    rng = np.random.default_rng(seed)
    size = rng.uniform(20, 300, rows)
    rooms = rng.integers(1, 8, rows).astype(float)
    kind = rng.choice(["flat", "house", "villa"], rows)
    factor = pd.Series(kind).map({"flat": 1.0, "house": 1.6, "villa": 3.0}).to_numpy()
    price = 2000 * size * factor * np.exp(rng.normal(0, 0.1, rows))
    rooms[rng.random(rows) < 0.1] = np.nan
    return pd.DataFrame({"size": size.round(1), "rooms": rooms, "kind": kind, "price": price})


def test_a_skewed_target_with_missing_values_learns_in_log_space(workspace, env):
    prices(1500, 0).to_csv(workspace / "prices.csv", index=False)
    log = [
        "data.source=prices.csv",
        "data.target=price",
        "train.target_transform=log",
        "train.epochs=60",
        "train.learning_rate=0.01",
        "flow.train_retries=0",
        "register.artifact=prices",
    ]
    done = trainflow(workspace, env, "run", *sets(*log))
    assert done.returncode == 0, done.stdout + done.stderr
    metrics = json.loads((workspace / "reports/metrics.json").read_text())
    assert metrics["r2"] > 0.8, metrics
    meta = json.loads((workspace / "models/model/meta.json").read_text())
    assert meta["target_scaling"]["transform"] == "log"

    # New rows, some without `rooms`, get prices in the target's units: near the rule.
    new = prices(40, 1)
    rule = 2000 * new["size"] * new["kind"].map({"flat": 1.0, "house": 1.6, "villa": 3.0})
    new = new.drop(columns="price")
    new.loc[:9, "rooms"] = np.nan
    new.to_csv(workspace / "new.csv", index=False)
    served = predicted(workspace, env, "new.csv", "v0.1.0")
    assert served["id"].tolist() == [f"new.csv:{i}" for i in range(40)]
    ratio = served["predicted"].to_numpy() / rule.to_numpy()
    assert np.median(np.abs(np.log(ratio))) < 0.15, ratio  # within about 15% of the rule
