from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from tasks.common.errors import ParamsError
from tasks.common.params import Params, TrainParams, validate
from tasks.model.inputs import load_splits
from tasks.model.pipeline import model_outputs
from tasks.train import fit, run
from tasks.train.devices import place
from tests import prepared

FAST = {"epochs": 3, "learning_rate": 0.01, "cnn": {"filters": [16], "dense_units": 16}}


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("digits")
    prepared.digits(folder, rows=(400, 100, 100))
    return folder


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("table")
    prepared.table(folder, rows=(300, 100, 100))
    return folder


def _train(**overrides) -> TrainParams:
    return TrainParams.model_validate(FAST | overrides)


def test_train_params_name_the_key_and_reason():
    with pytest.raises(ParamsError, match=r"train: .*reduce_lr_patience must be 0 with schedule"):
        validate({"train": {"schedule": "cosine"}})
    with pytest.raises(ParamsError, match="train.precision: must be"):
        validate({"train": {"precision": "float16"}})
    with pytest.raises(ParamsError, match="train.retries: moved to flow.train_retries"):
        validate({"train": {"retries": 2}})
    assert TrainParams().backup_dir == "models/.backup"
    assert validate({"train": {"jit_compile": False}}).train.jit_compile is False


def test_fit_learns_digits_from_parquet(digits: Path):
    p = _train(epochs=6, reduce_lr_patience=0)
    fitted = fit(digits, p, place(p))
    assert fitted.in_memory == {"train": True, "val": True}
    assert max(fitted.history["val_accuracy"]) > 0.6  # 10 classes: chance is 0.1
    splits = load_splits(digits, ("test",))  # what the evaluate stage feeds the saved model
    proba = model_outputs(fitted.model, splits.inputs("test"))
    assert (proba.argmax(axis=1) == splits.labels("test")).mean() > 0.6


def test_streamed_training_matches_in_memory_quality(digits: Path):
    p = _train(epochs=6, reduce_lr_patience=0, cache_max_mb=0, shuffle_buffer=64)
    fitted = fit(digits, p, place(p))
    assert fitted.in_memory == {"train": False, "val": False}
    assert max(fitted.history["val_accuracy"]) > 0.6


def test_tabular_model_trains_on_raw_columns(table: Path):
    p = _train(epochs=20, batch_size=16, learning_rate=0.01, mlp={"units": [16], "dropout": 0})
    fitted = fit(table, p, place(p))
    assert fitted.history["val_accuracy"][-1] > 0.75
    assert fitted.model.get_layer("standardize").mean[1] == pytest.approx(49.5, abs=10)


def test_mixed_precision_training_saves_a_float32_model(digits: Path, tmp_path: Path):
    p = _train(precision="mixed_bfloat16", epochs=2)
    placement = place(p)
    fitted = fit(digits, p, placement)
    assert {layer.dtype_policy.name for layer in fitted.model.layers} == {"float32"}
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    fitted.model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    pixels = load_splits(digits, ("test",)).inputs("test")
    assert np.isfinite(model_outputs(loaded, pixels)).all()


def _workspace(tmp_path: Path, digits: Path, train: dict) -> Params:
    import shutil

    shutil.copytree(digits, tmp_path / "data" / "prepared")
    raw = {"paths": {k: str(tmp_path / v) for k, v in Params().paths.model_dump().items()}}
    raw["train"] = FAST | train | {"backup_dir": str(tmp_path / "models" / ".backup")}
    return validate(raw)


def test_run_writes_the_model_reports_and_curves_and_no_backup(tmp_path, digits, capsys):
    params = _workspace(tmp_path, digits, {"epochs": 2})
    report = run(params)
    out = capsys.readouterr().out
    assert "train: cpu x1" in out and "precision float32" in out
    model = keras.saving.load_model(tmp_path / "models/model/model.keras", safe_mode=True)
    assert model.input_shape == (None, 8, 8, 1)
    saved = json.loads((tmp_path / "reports/train.json").read_text())
    setup = json.loads((tmp_path / "reports/train_setup.json").read_text())
    assert saved | setup == json.loads(json.dumps(report))
    assert setup["device"] == "cpu" and setup["replicas"] == 1 and setup["precision"] == "float32"
    assert setup["params"]["epochs"] == 2
    assert saved["epochs_run"] == 2 and saved["resumed_from_epoch"] == 0
    assert set(saved["final"]) >= {"loss", "val_accuracy", "learning_rate"}
    numbers = {"epochs_run", "resumed_from_epoch", "seconds", "examples_per_second"}
    assert set(saved) == numbers | {"final"}  # a DVC metrics file: numbers only
    assert all(
        isinstance(v, int | float) for v in [*map(saved.get, numbers), *saved["final"].values()]
    )
    loss_curve = tmp_path / "reports/train/plots/metrics/train/loss.tsv"
    assert len(loss_curve.read_text().splitlines()) == 1 + 2
    assert list((tmp_path / "reports/tensorboard/validation").glob("events.out.tfevents.*"))
    assert not (tmp_path / "models/.backup").exists()
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["model"]
