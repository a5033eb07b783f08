"""Training in phases (frozen backbone, then fine-tuning), resumable, and class weights."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from tasks import prepare
from tasks.common.errors import ParamsError
from tasks.common.io import read_json
from tasks.common.params import Params, TrainParams, validate
from tasks.model import vision
from tasks.model.reader import Split
from tasks.model.vision import backbone_of
from tasks.train import fit, monitors, run
from tasks.train.devices import place
from tasks.train.phases import PhasedEarlyStopping, class_weights, plan
from tests import prepared
from tests.photos import photo_folder
from tests.unit.test_resume import Interrupt


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """Prepared 32x32 photos."""
    root = tmp_path_factory.mktemp("photos")
    photo_folder(root / "data/raw/images", per_class=16)
    cwd = Path.cwd()
    try:
        os.chdir(root)
        prepare.run(validate({"data": {"image_size": [32, 32], "channels": 3}}))
    finally:
        os.chdir(cwd)
    return root / "data/prepared"


def tiny_application(include_top, weights, input_shape, pooling, include_preprocessing):
    """A keras.applications-like network small enough to trace in a second, with BatchNorm:
    input, rescaling, (conv, batch norm, relu) x 2, pooling. Phases and backups are the same
    whatever the backbone (the real ones: tests/unit/test_vision.py, e2e/test_photos.py).
    """
    inputs = keras.Input(input_shape)
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    for filters in (8, 16):
        x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x), name="tiny")
    if weights is not None:
        model.load_weights(weights)
    return model


@pytest.fixture
def tiny(tmp_path, monkeypatch) -> Path:
    """The tiny network stands in for mobilenet_v3_small; returns its weights file."""
    monkeypatch.setitem(vision.APPLICATIONS, "mobilenet_v3_small", tiny_application)
    keras.utils.set_random_seed(0)
    weights = tmp_path / "tiny.weights.h5"
    tiny_application(False, None, (32, 32, 3), "avg", True).save_weights(weights)
    return weights


def two_phases(weights: Path, **train) -> TrainParams:
    backbone = {"name": "mobilenet_v3_small", "weights": str(weights), "fine_tune_epochs": 2}
    backbone |= {"fine_tune_layers": 4, "fine_tune_learning_rate": 1e-2}
    settings = {"epochs": 2, "batch_size": 16, "early_stopping_patience": 0}
    return TrainParams.model_validate(settings | {"backbone": backbone} | train)


def test_the_plan_follows_the_backbone_and_its_weights():
    assert [ph.name for ph in plan(TrainParams())] == ["train"]
    scratch = {"backbone": {"name": "mobilenet_v3_small", "weights": None}}
    assert [(ph.name, ph.unfrozen) for ph in plan(TrainParams.model_validate(scratch))] == [
        ("train", None)
    ]
    tuned = {"epochs": 4, "backbone": {"name": "efficientnet_v2_b0", "fine_tune_epochs": 3}}
    assert [
        (ph.name, ph.epochs, ph.learning_rate, ph.unfrozen)
        for ph in plan(TrainParams.model_validate(tuned))
    ] == [("head", 4, 0.002, 0), ("fine-tune", 3, 1e-5, 30)]
    head_only = {"backbone": {"name": "efficientnet_v2_b0", "fine_tune_epochs": 0}}
    assert [ph.name for ph in plan(TrainParams.model_validate(head_only))] == ["head"]


def test_fine_tuning_trains_only_the_top_layers_and_keeps_batch_norm(photos, tiny, capsys):
    p = two_phases(tiny)
    fitted = fit(photos, p, place(p))
    out = capsys.readouterr().out
    assert "train: phase 1/2, head: the head on the frozen backbone, 2 epochs" in out
    assert "train: phase 2/2, fine-tune: the head and the top 4 backbone layers" in out
    assert len(fitted.history["loss"]) == 4
    start = tiny_application(False, str(tiny), (32, 32, 3), "avg", True)
    changed = [
        type(layer).__name__
        for before, layer in zip(start.layers, backbone_of(fitted.model).layers, strict=True)
        if any(
            not np.array_equal(a, b)
            for a, b in zip(before.get_weights(), layer.get_weights(), strict=True)
        )
    ]
    assert changed == ["Conv2D"]  # the top conv; the lower one and both BatchNorms as loaded


def test_a_run_killed_while_fine_tuning_resumes_there(photos, tiny, tmp_path, capsys):
    p = two_phases(tiny, backup_dir=str(tmp_path / "backup"), backup_every_seconds=0)
    rows = Split(photos / "train.parquet", read_json(photos / "meta.json")).rows
    with pytest.raises(RuntimeError, match="killed"):
        fit(photos, p, place(p), [*monitors(p, rows, None, tmp_path / "backup"), Interrupt(3)])
    assert (tmp_path / "backup/finished.json").exists()  # the head phase is done
    capsys.readouterr()

    callbacks = monitors(p, rows, None, tmp_path / "backup")
    fitted = fit(photos, p, place(p), callbacks)
    out = capsys.readouterr().out
    assert "train: resuming from epoch 3 " in out
    logged = [line.split()[2] for line in out.splitlines() if line.startswith("train: epoch")]
    assert logged == ["4/4"]
    resumed = next(c for c in callbacks if hasattr(c, "enter_phase"))
    assert [record["epoch"] for record in resumed.history] == [0, 1, 2, 3]
    assert len(fitted.history["loss"]) == 1  # Keras's own: this run trained one epoch


def test_early_stopping_keeps_the_best_epoch_of_an_earlier_phase():
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    stop = PhasedEarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    model.fit(x, y, validation_data=(x, y), epochs=5, callbacks=[stop], verbose=0)
    best = [w.copy() for w in model.get_weights()]
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    wrong = 1 - y  # the next phase only makes things worse on val
    model.fit(
        x, wrong, validation_data=(x, y), initial_epoch=5, epochs=9, callbacks=[stop], verbose=0
    )
    assert stop.best_epoch < 5
    for restored, kept in zip(model.get_weights(), best, strict=True):
        np.testing.assert_array_equal(restored, kept)


def test_class_weights_balanced_named_and_unknown(tmp_path):
    folder = tmp_path / "prepared"
    meta = prepared.digits(folder, rows=(300, 50, 50))
    train = Split(folder / "train.parquet", meta)
    counts = pd.read_parquet(folder / "train.parquet")["label"].value_counts()
    weights = class_weights(TrainParams(class_weight="balanced"), meta, train)
    for index, name in enumerate(meta["classes"]):
        assert weights[index] == pytest.approx(300 / (10 * counts[name]))
    named = class_weights(TrainParams(class_weight={"3": 4.0}), meta, train)
    assert named[3] == 4.0 and named[0] == 1.0 and len(named) == 10
    assert class_weights(TrainParams(), meta, train) is None
    with pytest.raises(ParamsError, match=r"train.class_weight: no class \['cat'\]"):
        class_weights(TrainParams(class_weight={"cat": 2.0}), meta, train)


def test_class_weights_reach_keras(tmp_path):
    """A heavy weight on one digit makes the model predict it far more often."""
    folder = tmp_path / "prepared"
    prepared.digits(folder, rows=(300, 100, 100))
    base = {"epochs": 2, "learning_rate": 0.01, "cnn": {"filters": [8], "dense_units": 16}}
    shares = []
    for weights in (None, {"7": 50.0}):
        p = validate({"train": base | {"class_weight": weights}}).train
        fitted = fit(folder, p, place(p))
        pixels = prepared_pixels(folder)
        shares.append((fitted.model.predict(pixels, verbose=0).argmax(1) == 7).mean())
    assert shares[1] > shares[0] + 0.2


def prepared_pixels(folder: Path) -> np.ndarray:
    from tasks.model.inputs import load_splits

    return load_splits(folder, ("test",)).inputs("test")


def test_mixed_precision_fine_tuning_with_augmentation_saves_a_float32_model(
    photos, tiny, tmp_path
):
    augment = {"flip": "horizontal", "rotation": 0.05, "zoom": 0.1, "contrast": 0.1}
    p = two_phases(tiny, precision="mixed_bfloat16", augment=augment, epochs=1)
    fitted = fit(photos, p, place(p))
    assert {layer.dtype_policy.name for layer in fitted.model._flatten_layers()} == {"float32"}
    fitted.model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    pixels = prepared_pixels(photos)
    np.testing.assert_allclose(
        loaded.predict(pixels, verbose=0), fitted.model.predict(pixels, verbose=0), rtol=1e-6
    )


def test_the_stage_reports_every_epoch_of_both_phases_once(photos, tiny, tmp_path):
    import tensorflow as tf

    shutil.copytree(photos, tmp_path / "data/prepared")
    raw = {"paths": {k: str(tmp_path / v) for k, v in Params().paths.model_dump().items()}}
    raw["train"] = two_phases(tiny, backup_dir=str(tmp_path / "backup")).model_dump()
    report = run(validate(raw))
    assert report["epochs_run"] == 4 and len(report["phases"]) == 2
    curve = (tmp_path / "reports/train/plots/metrics/eval/loss.tsv").read_text().splitlines()
    assert [line.split("\t")[0] for line in curve] == ["step", "0", "1", "2", "3"]
    steps = [
        event.step
        for events in sorted((tmp_path / "reports/tensorboard/validation").glob("events.*"))
        for event in tf.compat.v1.train.summary_iterator(str(events))
        for value in event.summary.value
        if value.tag == "epoch_loss"
    ]
    assert sorted(steps) == [0, 1, 2, 3]
