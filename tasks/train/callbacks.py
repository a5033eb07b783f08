"""Keras callbacks that report a running training: log line, DVCLive, TensorBoard, Prefect
progress.

All are for people watching: they must never slow training down noticeably or fail it.
"""

from __future__ import annotations

import logging
import os
import time

import keras
from dvclive.keras import DVCLiveCallback

PROGRESS_VARIABLE = "TRAINFLOW_PROGRESS_ARTIFACT"
log = logging.getLogger("trainflow.train")


def current_learning_rate(model: keras.Model) -> float:
    """The optimizer's learning rate now (a schedule's value at the current step)."""
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


class EpochLog(keras.callbacks.Callback):
    """One flushed stdout line per epoch: metrics, learning rate and training examples/s.

    It also puts `learning_rate` into the epoch's logs, so DVCLive, TensorBoard and the
    history record it (ReduceLROnPlateau does the same when it is on).
    """

    def __init__(self, rows: int, epochs: int):
        super().__init__()
        self.rows, self.epochs = rows, epochs
        self.started = self.trained = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.started, self.trained = time.perf_counter(), 0.0

    def on_test_begin(self, logs: dict | None = None) -> None:
        self.trained = self.trained or time.perf_counter() - self.started

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs if logs is not None else {}
        logs.setdefault("learning_rate", current_learning_rate(self.model))
        seconds = self.trained or time.perf_counter() - self.started
        metrics = " ".join(
            f"{name} {value:.4g}" for name, value in logs.items() if name != "learning_rate"
        )
        print(
            f"train: epoch {epoch + 1}/{self.epochs} {metrics} "
            f"learning_rate {logs['learning_rate']:.3g} {self.rows / seconds:.0f} examples/s",
            flush=True,
        )


class TensorBoardScalars(keras.callbacks.Callback):
    """Per-epoch scalars as TensorBoard event files, in the layout of Keras's callback.

    `keras.callbacks.TensorBoard` needs the `tensorboard` package, which TensorFlow 2.21 no
    longer installs; core `tf.summary.write` with the scalars plugin tag writes the same
    `train/` and `validation/` curves (`epoch_loss`, ...) without it. View them with
    `pip install tensorboard && tensorboard --logdir reports/tensorboard`.
    """

    def __init__(self, log_dir: str):
        super().__init__()
        self.log_dir, self.writers = log_dir, {}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        import tensorflow as tf
        from tensorflow.core.framework.summary_pb2 import SummaryMetadata

        scalars = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))
        for name, value in (logs or {}).items():
            run = "validation" if name.startswith("val_") else "train"
            if run not in self.writers:
                self.writers[run] = tf.summary.create_file_writer(f"{self.log_dir}/{run}")
            with self.writers[run].as_default():
                tag = f"epoch_{name.removeprefix('val_')}"
                tf.summary.write(tag, float(value), step=epoch, metadata=scalars)
        for writer in self.writers.values():
            writer.flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        """Close the event files; a next training phase opens new ones in the same runs."""
        for writer in self.writers.values():
            writer.close()
        self.writers = {}


class LiveMetrics(DVCLiveCallback):
    """DVCLive's Keras callback, for a training of several fit() calls (phases).

    DVCLive ends its run at every fit's end, and ending sets the step back to the last one
    logged: the next phase's first epoch would then overwrite it. The step keeps counting.
    """

    def on_train_end(self, logs: dict | None = None) -> None:
        step = self.live.step
        super().on_train_end(logs)
        self.live.step = step


def patch_artifact(api_url: str, artifact_id: str, data: object) -> None:
    """`PATCH /artifacts/{id}` of Prefect's REST API: what `update_progress_artifact` sends,
    without importing Prefect (a second of start-up) into the training process."""
    import json
    import urllib.request

    request = urllib.request.Request(
        f"{api_url.rstrip('/')}/artifacts/{artifact_id}",
        data=json.dumps({"data": data}).encode(),
        method="PATCH",
        headers={"Content-Type": "application/json"},
    )
    if key := os.environ.get("PREFECT_API_KEY"):
        request.add_header("Authorization", f"Bearer {key}")
    with urllib.request.urlopen(request, timeout=5):
        pass


class ProgressArtifact(keras.callbacks.Callback):
    """Set a Prefect progress artifact to the share of epochs done, after every epoch.

    The flow creates the artifact and passes its id in TRAINFLOW_PROGRESS_ARTIFACT (and its API
    in PREFECT_API_URL). Prefect being unreachable costs one warning: updates then stop for the
    rest of the run.
    """

    def __init__(self, artifact_id: str, epochs: int):
        super().__init__()
        self.artifact_id, self.epochs = artifact_id, epochs
        self.api_url = os.environ.get("PREFECT_API_URL", "")
        self.enabled = bool(self.api_url)

    def update(self, percent: float) -> None:
        if not self.enabled:
            return
        try:
            patch_artifact(self.api_url, self.artifact_id, percent)
        except Exception as err:  # progress is a nicety: never fail training over it
            self.enabled = False
            log.warning("train: progress artifact %s not updated: %s", self.artifact_id, err)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.update(round(100 * (epoch + 1) / self.epochs, 1))

    def on_train_end(self, logs: dict | None = None) -> None:
        self.update(100.0)


def progress_artifact(epochs: int) -> list[keras.callbacks.Callback]:
    """The progress callback when the flow asked for one."""
    artifact_id = os.environ.get(PROGRESS_VARIABLE)
    return [ProgressArtifact(artifact_id, epochs)] if artifact_id else []
