"""Images with a labels table of numbers, end to end: `trainflow run` registers a regression
model of the images, and `trainflow predict` on the folder gives evaluate's numbers."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT, trainflow
from tests.squares import square_folder

pytestmark = pytest.mark.e2e
FAST = [
    "data.source=photos",
    "data.labels=photos/labels.csv",
    "data.target=size",
    "data.image_size=[16, 16]",
    "data.channels=1",
    "train.epochs=40",
    "train.early_stopping_patience=8",
    "train.learning_rate=0.003",
    "train.cnn.filters=[8, 16]",
    "train.cnn.dense_units=16",
    "train.cnn.dropout=0.0",
    "evaluate.gate.min_r2=0.5",
    "flow.train_retries=0",
]


def sets(*items: str) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def test_images_learn_a_number_from_a_labels_table_and_serve_it(workspace, env):
    shutil.copyfile(ROOT / "examples/photos-labels.yaml", workspace / "params.yaml")
    _, labels = square_folder(workspace / "photos", 300)
    first = trainflow(workspace, env, "run", *sets(*FAST))
    out = first.stdout + first.stderr
    assert first.returncode == 0, out
    assert "ingest: photos: 300 files, 300 labelled by photos/labels.csv" in out
    assert "validate: data.task auto: regression ('size' holds 11 distinct numbers" in out
    assert "version: photo-prices@v0.1.0 (new version)" in first.stdout
    meta = json.loads((workspace / "data/prepared/meta.json").read_text())
    assert (meta["kind"], meta["task"]) == ("image", "regression")

    evaluated = pd.read_csv(workspace / "reports/predictions.csv")
    truth = labels.set_index("file").loc[evaluated["id"], "size"].to_numpy()
    np.testing.assert_allclose(evaluated["actual"], truth)  # each image kept its own number
    metrics = json.loads((workspace / "reports/metrics.json").read_text())
    mean_rmse = float(np.sqrt(np.mean((truth - truth.mean()) ** 2)))  # predicting the mean
    assert metrics["r2"] > 0.5 and metrics["rmse"] < 0.7 * mean_rmse, metrics

    served = trainflow(workspace, env, "predict", "photos", "--model", "v0.1.0")
    assert served.returncode == 0, served.stderr
    predicted = pd.read_csv(io.StringIO(served.stdout)).set_index("id")
    assert len(predicted) == 300  # every image, no labels needed
    np.testing.assert_allclose(
        predicted.loc[evaluated["id"], "predicted"], evaluated["predicted"], rtol=1e-5
    )
