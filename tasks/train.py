"""Train stage: fit the configured Keras model on the prepared splits.

The model carries its own preprocessing (fitted on the training split only) and is saved to
a temp file then renamed, so a killed run never leaves a half-written model behind.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from tasks.errors import ParamsError, stage_entry
from tasks.io import atomic_dir, read_json, write_json
from tasks.models import cnn, image_inputs, mlp, table_inputs
from tasks.params import Params, TrainParams, load_params


@dataclass
class Splits:
    """Model inputs and integer labels of each split, plus the prepared metadata."""

    meta: dict
    frames: dict[str, pd.DataFrame]

    def inputs(self, split: str):
        frame = self.frames[split]
        if self.meta["kind"] == "image":
            return image_inputs(frame, self.meta["image_shape"])
        return table_inputs(frame, self.meta["features"])

    def labels(self, split: str) -> np.ndarray:
        classes = {name: index for index, name in enumerate(self.meta["classes"])}
        return self.frames[split][self.meta["target"]].astype(str).map(classes).to_numpy("int32")


def load_splits(prepared: str | Path, names: tuple[str, ...] = ("train", "val")) -> Splits:
    prepared = Path(prepared)
    frames = {name: pd.read_parquet(prepared / f"{name}.parquet") for name in names}
    return Splits(meta=read_json(prepared / "meta.json"), frames=frames)


def select_device(device: str) -> str:
    """Hide GPUs for `cpu`; insist on one for `gpu`; `auto` takes what is visible."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if device == "cpu" and gpus:
        tf.config.set_visible_devices([], "GPU")
        gpus = []
    if device == "gpu" and not gpus:
        raise ParamsError("train.device: gpu requested but no GPU is visible to TensorFlow")
    return f"gpu x{len(gpus)}" if gpus else "cpu"


def build(splits: Splits, p: TrainParams) -> keras.Model:
    meta, n_classes = splits.meta, len(splits.meta["classes"])
    if meta["kind"] == "image":
        model = cnn(meta["image_shape"], n_classes, p.cnn)
    else:
        model = mlp(splits.frames["train"], meta["features"], n_classes, p.mlp)
    optimizer = keras.optimizers.get(
        {"class_name": p.optimizer, "config": {"learning_rate": p.learning_rate}}
    )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def callbacks(p: TrainParams, live_dir: Path) -> list[keras.callbacks.Callback]:
    from dvclive import Live
    from dvclive.keras import DVCLiveCallback

    live = Live(dir=str(live_dir), save_dvc_exp=False, dvcyaml=None, report=None)
    found = [DVCLiveCallback(live=live)]
    if p.early_stopping_patience:
        found.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=p.early_stopping_patience, restore_best_weights=True
            )
        )
    return found


def fit(splits: Splits, p: TrainParams, extra: list | None = None):
    """Seeded fit on train, early-stopped on val. Pure: no files beyond the callbacks'."""
    from tasks.pipeline import dataset

    keras.utils.set_random_seed(p.seed)
    model = build(splits, p)
    train = dataset(splits.inputs("train"), splits.labels("train"), p.batch_size, seed=p.seed)
    val = dataset(splits.inputs("val"), splits.labels("val"), p.batch_size)
    history = model.fit(
        train, validation_data=val, epochs=p.epochs, callbacks=extra or [], shuffle=False, verbose=0
    )
    return model, history


def run(params: Params) -> dict:
    device = select_device(params.train.device)
    splits = load_splits(params.paths.prepared)
    live_dir = Path(params.paths.reports) / "train"
    shutil.rmtree(live_dir, ignore_errors=True)
    started = time.perf_counter()
    model, history = fit(splits, params.train, callbacks(params.train, live_dir))
    seconds = time.perf_counter() - started
    epochs = len(history.history["loss"])
    with atomic_dir(params.paths.model) as out:
        model.save(out / "model.keras")
        write_json(out / "meta.json", splits.meta)
    report = {
        "device": device,
        "epochs_run": epochs,
        "seconds": round(seconds, 2),
        "examples_per_second": round(epochs * len(splits.frames["train"]) / seconds, 1),
        "final": {k: round(float(v[-1]), 5) for k, v in history.history.items()},
        "params": params.train.model_dump(),
    }
    write_json(Path(params.paths.reports) / "train.json", report)
    print(f"train: {epochs} epochs on {device} in {seconds:.1f}s -> {params.paths.model}")
    return report


@stage_entry("train")
def main() -> None:
    run(load_params())


if __name__ == "__main__":
    main()
