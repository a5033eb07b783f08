from __future__ import annotations

import logging
import re

import keras
import numpy as np
import pytest

from tasks.train.callbacks import (
    PROGRESS_VARIABLE,
    EpochLog,
    ProgressArtifact,
    TensorBoardScalars,
    progress_artifact,
)

ROWS = 64


def _fit(callbacks: list, epochs: int = 3) -> keras.callbacks.History:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(ROWS, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    return model.fit(
        x, y, validation_data=(x, y), epochs=epochs, batch_size=16, callbacks=callbacks, verbose=0
    )


def test_epoch_log_prints_metrics_learning_rate_and_throughput(capsys):
    history = _fit([EpochLog(ROWS, 3)])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert re.fullmatch(
        r"train: epoch 3/3 accuracy \S+ loss \S+ val_accuracy \S+ val_loss \S+ "
        r"learning_rate 0.001 \d+ examples/s",
        lines[-1],
    )
    assert history.history["learning_rate"] == pytest.approx([0.001] * 3)


def test_tensorboard_scalars_are_readable_event_files(tmp_path):
    import tensorflow as tf

    history = _fit([TensorBoardScalars(str(tmp_path))])
    found: dict[str, list[float]] = {}
    for run in ("train", "validation"):
        (events,) = (tmp_path / run).glob("events.out.tfevents.*")
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            for value in event.summary.value:
                key = f"{run}/{value.tag}"
                found.setdefault(key, []).append(float(tf.make_ndarray(value.tensor)))
    assert found["train/epoch_loss"] == pytest.approx(history.history["loss"])
    assert found["validation/epoch_accuracy"] == pytest.approx(history.history["val_accuracy"])


def test_no_progress_callback_without_the_flow(monkeypatch):
    monkeypatch.delenv(PROGRESS_VARIABLE, raising=False)
    assert progress_artifact(3) == []
    monkeypatch.setenv(PROGRESS_VARIABLE, "some-id")
    (callback,) = progress_artifact(3)
    assert callback.artifact_id == "some-id"


def _progress(artifact_id) -> float:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterId

    with get_client(sync_client=True) as client:
        (artifact,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(id=ArtifactFilterId(any_=[artifact_id]))
        )
    return float(artifact.data)


def test_progress_artifact_follows_the_epochs_on_a_real_server(prefect_api, monkeypatch):
    from prefect import flow
    from prefect.artifacts import create_progress_artifact

    @flow
    def retrain():  # as the retraining flow does before it launches the train stage
        return create_progress_artifact(progress=0.0, key="training-progress")

    artifact_id = retrain()
    monkeypatch.setenv("PREFECT_API_URL", prefect_api)  # what the flow hands the train stage
    seen = []

    class Probe(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(_progress(artifact_id))

    _fit([ProgressArtifact(str(artifact_id), epochs=4), Probe()], epochs=2)
    assert seen == [25.0, 50.0]
    assert _progress(artifact_id) == 100.0  # training ended (e.g. early stopping): done


def test_unreachable_prefect_warns_once_and_training_goes_on(caplog, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    callback = ProgressArtifact("00000000-0000-0000-0000-000000000000", epochs=3)
    with caplog.at_level(logging.WARNING, logger="trainflow.train"):
        history = _fit([callback])
    assert len(history.history["loss"]) == 3
    warnings = [r for r in caplog.records if "progress artifact" in r.getMessage()]
    assert len(warnings) == 1 and not callback.enabled
