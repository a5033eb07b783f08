"""The exported SavedModel, loaded by TensorFlow in a fresh process, serves what Keras predicts."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tasks.common.params import TrainParams
from tasks.evaluate.infra import serving_check
from tasks.model.inputs import load_splits
from tasks.model.pipeline import model_outputs
from tasks.model.saved import export_saved_model
from tasks.train import fit
from tasks.train.devices import place
from tests import prepared

FAST = {"epochs": 1, "cnn": {"filters": [8], "dense_units": 8}, "early_stopping_patience": 0}


def trained(folder: Path, **train):
    p = TrainParams.model_validate(FAST | train)
    model = fit(folder, p, place(p)).model
    splits = load_splits(folder, ("test",))
    inputs = splits.inputs("test")
    return model, inputs, model_outputs(model, inputs)


@pytest.mark.parametrize(
    ("make", "train"),
    [
        (prepared.table, {}),  # numbers with NaN, a category with nulls (StringLookup)
        (prepared.digits, {"augment": {"flip": "horizontal", "rotation": 0.2}}),
        (prepared.reviews, {"text": {"max_tokens": 200}}),  # raw strings (TextVectorization)
    ],
    ids=["table-with-categories", "images-with-augmentation", "text"],
)
def test_a_fresh_process_serves_what_keras_predicts(tmp_path, make, train):
    make(tmp_path / "prepared", rows=(120, 40, 60))
    model, inputs, outputs = trained(tmp_path / "prepared", **train)
    saved = export_saved_model(model, tmp_path / "saved_model")
    found = serving_check(saved, inputs, outputs, tolerance=1e-5)
    assert found["passed"], found
    assert found["rows"] == 60 and found["value"] <= 1e-5


def test_a_savedmodel_that_does_not_load_or_differs_fails_the_check(tmp_path):
    prepared.table(tmp_path / "prepared", rows=(120, 40, 60))
    model, inputs, outputs = trained(tmp_path / "prepared")
    saved = export_saved_model(model, tmp_path / "saved_model")
    differs = serving_check(saved, inputs, outputs + 0.5, tolerance=1e-4)
    assert not differs["passed"] and differs["value"] > 0.1
    shutil.rmtree(saved / "variables")
    broken = serving_check(saved, inputs, outputs, tolerance=1e-4)
    assert not broken["passed"] and broken["value"] is None
    assert f"the SavedModel {saved} could not be served: " in broken["error"]
    missing = serving_check(tmp_path / "nowhere", inputs, outputs, tolerance=1e-4)
    assert "is missing: retrain" in missing["error"]
    assert np.isfinite(outputs).all()


def test_a_refusal_names_why_the_savedmodel_could_not_be_served():
    from tasks.evaluate.gate import refusal
    from tasks.evaluate.infra import failed

    gate = {
        "blessed": False,
        "checks": [failed("the SavedModel m could not be served: boom", 1e-4)],
    }
    assert refusal(gate) == (
        "the gate refused the model:\n"
        "  - serving_parity: the SavedModel m could not be served: boom"
    )
