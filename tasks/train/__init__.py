"""Train stage: fit the configured Keras model on the prepared splits.

The model carries its own preprocessing (fitted on the training split only) and is saved to
a temp file then renamed, so a killed run never leaves a half-written model behind; a killed
run started again resumes from its last backup (`tasks.train.resume`). Devices,
precision and XLA come from `tasks.train.devices`, the model and its input pipeline from
`tasks.model`; a pretrained backbone trains in phases, optionally with class weights
(`tasks.train.phases`). The model's signature is written next to it (`meta.json`), and the
model as a SavedModel (`saved_model/`, `tasks.model.saved`) for TF Serving.
reports/train.json holds the run's numbers (a DVC metrics file), reports/train_setup.json how
it trained.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import keras

from tasks.common.errors import ParamsError, stage_entry
from tasks.common.io import atomic_dir, read_json, write_json
from tasks.common.params import Params, TrainParams, load_params
from tasks.common.signature import signature_of
from tasks.model.build import TableStats, mlp
from tasks.model.reader import Split
from tasks.model.saved import SAVED_MODEL, export_saved_model
from tasks.model.vision import image_model
from tasks.problems import KINDS, problem_of
from tasks.train.callbacks import EpochLog, LiveMetrics, TensorBoardScalars, progress_artifact
from tasks.train.devices import Placement, place, precision_scope, seed_everything
from tasks.train.phases import (
    PhasedEarlyStopping,
    class_weights,
    compile_phase,
    plan,
    total_epochs,
    train_phases,
)
from tasks.train.resume import ResumableBackup, fingerprint, open_backup

SETUP = "train_setup.json"  # how it trained, beside the metrics file reports/train.json


@dataclass
class Fitted:
    """A trained model ready to save (float32 layers), its history and how it was trained."""

    model: keras.Model
    history: dict[str, list[float]]
    jit_compile: bool
    in_memory: dict[str, bool]
    class_weight: dict[int, float] | None = None
    target: dict | None = None  # the target's scaling inside the model (regression)


def build(
    meta: dict, stats: TableStats | None, p: TrainParams, load_weights: bool = True
) -> keras.Model:
    """The model for the prepared data, ending in its problem kind's output layer;
    `load_weights` False skips pretrained weights (a rebuild whose weights are copied in
    afterwards)."""
    output, signature = problem_of(meta).output_layer(meta), signature_of(meta)
    if meta["kind"] == "image":
        return image_model(signature["inputs"][0]["shape"], output, p, load_weights)
    if p.backbone.name is not None:
        raise ParamsError(
            f"train.backbone.name: {p.backbone.name} is an image backbone; this data is a table"
        )
    return mlp(stats, signature, output, p.mlp, p.l2, p.text)


def monitors(
    p: TrainParams, rows: int, reports: Path | None, backup: Path | None
) -> list[keras.callbacks.Callback]:
    """The stage's callbacks, in the order that matters.

    Early stopping and the plateau schedule come first, so the backup records their state of
    the epoch; the backup comes before the reporters, which it shows the restored epochs again
    on a resume. Without `reports` (a non-chief worker) only the log.
    """
    watched: list[keras.callbacks.Callback] = []
    if p.early_stopping_patience:
        watched.append(
            PhasedEarlyStopping(
                monitor="val_loss", patience=p.early_stopping_patience, restore_best_weights=True
            )
        )
    if p.reduce_lr_patience:
        watched.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss", factor=p.reduce_lr_factor, patience=p.reduce_lr_patience
            )
        )
    epochs = total_epochs(p)
    reporters: list[keras.callbacks.Callback] = [EpochLog(rows, epochs)]
    curves = []  # shown the restored epochs again on resume, so they have every epoch
    if reports is not None:
        curves = [live_metrics(reports / "train"), *tensorboard(p, reports)]
        reporters += [*curves, *progress_artifact(epochs)]
    backup_cb = []
    if backup is not None:
        backup_cb = [ResumableBackup(backup, watched, curves, p.backup_every_seconds)]
    return [*watched, *backup_cb, *reporters]


def live_metrics(live_dir: Path) -> keras.callbacks.Callback:
    """DVCLive per-epoch metrics and plots (DVC tracks them; no DVC experiment of its own)."""
    from dvclive import Live

    live = Live(dir=str(live_dir), save_dvc_exp=False, dvcyaml=None, report=None)
    return LiveMetrics(live=live)


def tensorboard(p: TrainParams, reports: Path) -> list[keras.callbacks.Callback]:
    if not p.tensorboard:
        return []
    return [TensorBoardScalars(str(reports / "tensorboard"))]


def fit(
    prepared: Path, p: TrainParams, placement: Placement, callbacks: list | None = None
) -> Fitted:
    """Seeded fit on train, early-stopped on val, in the phases `p` asks for.

    Reads the prepared splits and writes nothing itself (only the callbacks do). The returned
    model has float32 layers whatever precision it trained in.
    """
    from tasks.model.pipeline import split_dataset
    from tasks.model.reader import table_stats

    seed_everything(p)
    meta = read_json(prepared / "meta.json")
    splits = {name: Split(prepared / f"{name}.parquet", meta) for name in ("train", "val")}
    stats = table_stats(splits["train"], text=p.text) if meta["kind"] == "table" else None
    steady = p.deterministic or bool(placement.task)  # the same data order on every machine
    train, train_cached, why = split_dataset(
        splits["train"], p.batch_size, p.cache_max_mb, p.shuffle_buffer, p.seed, steady
    )
    val, val_cached, _ = split_dataset(
        splits["val"], p.batch_size, p.cache_max_mb, p.shuffle_buffer, steady=steady
    )
    weights = class_weights(p, meta, splits["train"])
    problem = problem_of(meta)
    target = problem.fit_target(splits["train"], p)
    objective = problem.compile_args(p, target)
    with placement.strategy.scope(), precision_scope(placement.precision):
        model = build(meta, stats, p)
    in_memory = {"train": train_cached, "val": val_cached}
    steps = math.ceil(splits["train"].rows / p.batch_size)
    compile_phase(model, p, placement, steps, plan(p)[0], objective)
    print(f"train: {describe(placement, bool(model.jit_compile), in_memory)}", flush=True)
    if steady or not train_cached:  # streamed, or decided on cache_max_mb alone: say why
        print(f"train: training split: {why}", flush=True)
    data = {"x": train, "validation_data": val, "class_weight": weights}
    history = train_phases(model, p, placement, steps, data, callbacks or [], objective)
    exported = problem.export(export(model, meta, stats, p), target)
    return Fitted(exported, history, model.jit_compile, in_memory, weights, target)


def describe(placement: Placement, jit: bool, in_memory: dict[str, bool]) -> str:
    data = ", ".join(f"{k} {'in memory' if v else 'streamed'}" for k, v in in_memory.items())
    return (
        f"{placement.device} x{placement.replicas} ({placement.describe()['strategy']}), "
        f"precision {placement.precision}, XLA {'on' if jit else 'off'}; {data}"
    )


def export(model: keras.Model, meta: dict, stats: TableStats | None, p: TrainParams):
    """The model to save: float32 layers whatever precision trained it, so it serves anywhere."""
    if all(layer.dtype_policy.name == "float32" for layer in model.layers):
        return model
    with precision_scope("float32"):
        clean = build(meta, stats, p, load_weights=False)
    clean.set_weights(model.get_weights())
    return clean


def run(params: Params) -> dict:
    p, prepared, reports = params.train, Path(params.paths.prepared), Path(params.paths.reports)
    placement = place(p)
    backup = Path(p.backup_dir, placement.task)
    how_often = {"backup_every_seconds"}  # a backup stays valid however often it is taken
    open_backup(backup, fingerprint(p.model_dump(exclude=how_often), prepared))
    if placement.chief:
        for folder in (reports / "train", reports / "tensorboard"):
            shutil.rmtree(folder, ignore_errors=True)
        (reports / "tensorboard").mkdir(parents=True)  # a DVC out, even with tensorboard off
    meta = read_json(prepared / "meta.json")
    rows = Split(prepared / "train.parquet", meta).rows
    callbacks = monitors(p, rows, reports if placement.chief else None, backup)
    started = time.perf_counter()
    fitted = fit(prepared, p, placement, callbacks)
    seconds = time.perf_counter() - started
    resumable = next(c for c in callbacks if isinstance(c, ResumableBackup))
    if placement.chief:
        with atomic_dir(params.paths.model) as out:
            fitted.model.save(out / "model.keras")
            export_saved_model(fitted.model, out / SAVED_MODEL)
            scaling = {"target_scaling": fitted.target} if fitted.target else {}
            write_json(out / "meta.json", meta | {"signature": signature_of(meta)} | scaling)
    shutil.rmtree(backup, ignore_errors=True)
    with contextlib.suppress(OSError):  # the cluster's per-task backups shared this folder
        Path(p.backup_dir).rmdir()
    numbers = scores(resumable, rows, seconds)
    how = setup(params, placement, fitted)
    if placement.chief:
        other_kinds_curves(reports / "train")
        write_json(reports / "train.json", numbers)
        write_json(reports / SETUP, how)
    where = params.paths.model if placement.chief else f"the chief's {params.paths.model}"
    print(f"train: {numbers['epochs_run']} epochs in {seconds:.1f}s -> {where}")
    return numbers | how


def other_kinds_curves(live_dir: Path) -> None:
    """Header-only DVCLive curves of the epoch metrics of other kinds of problem: dvc.yaml
    declares the plots of every kind and `dvc plots show` reads every file it declares."""
    for kind in KINDS.values():
        for metric in kind.epoch_metrics:
            for split in ("train", "eval"):
                path = live_dir / "plots" / "metrics" / split / f"{metric}.tsv"
                if not path.exists():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(f"timestamp\tstep\t{metric}\n")


def scores(resumable, rows: int, seconds: float) -> dict:
    """reports/train.json, a DVC metrics file: only the numbers `dvc metrics show` and
    `dvc exp show` compare across runs (epochs, speed, the full history's last epoch)."""
    history = [record["logs"] for record in resumable.history]
    ran = len(history) - resumable.resumed_from
    return {
        "epochs_run": len(history),
        "resumed_from_epoch": resumable.resumed_from,
        "seconds": round(seconds, 2),
        "examples_per_second": round(rows * ran / seconds, 1),
        "final": {k: round(float(v), 6) for k, v in history[-1].items()} if history else {},
    }


def setup(params: Params, placement: Placement, fitted: Fitted) -> dict:
    """reports/train_setup.json, a plain report: where and how it trained (devices, strategy,
    precision, XLA, data in memory, phases, class weights) and the train params."""
    return {
        **placement.describe(),
        "jit_compile": bool(fitted.jit_compile),
        "in_memory": fitted.in_memory,
        "phases": [phase.describe() for phase in plan(params.train)],
        "class_weight": fitted.class_weight,
        "params": params.train.model_dump(),
    }


@stage_entry("train")
def main() -> None:
    run(load_params())
