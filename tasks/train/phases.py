"""Training in phases, and class weights: how `fit` spends its epochs.

With pretrained backbone weights, training follows the Keras transfer-learning guide: first
the head alone on the frozen backbone (`train.epochs` at `train.learning_rate`), then the top
`fine_tune_layers` of the backbone unfrozen (BatchNorm kept frozen and in inference mode) for
`fine_tune_epochs` at the lower `fine_tune_learning_rate`. Each phase compiles a fresh
optimizer; the epochs count on across phases, so the log, the curves and the backup see one
training. Without a backbone, or with `weights: none` (nothing pretrained to protect), there
is a single phase in which everything trains.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import pyarrow.parquet as pq

from tasks.common.brief import few
from tasks.common.errors import ParamsError
from tasks.common.params import TrainParams
from tasks.model.build import compile_model
from tasks.model.reader import Split
from tasks.model.vision import set_trainable
from tasks.train.devices import Placement, precision_scope
from tasks.train.resume import ResumableBackup


@dataclass(frozen=True)
class Phase:
    """One compile + fit: its epochs, learning rate and how much of the backbone trains.

    `unfrozen` is None when every layer trains, 0 for a frozen backbone, else the number of
    top backbone layers that train.
    """

    name: str
    epochs: int
    learning_rate: float
    unfrozen: int | None = None

    def describe(self) -> str:
        if self.unfrozen == 0:
            where = "the head on the frozen backbone"
        elif self.unfrozen:
            where = f"the head and the top {self.unfrozen} backbone layers (BatchNorm frozen)"
        else:
            where = "every layer"
        return f"{self.name}: {where}, {self.epochs} epochs at learning rate {self.learning_rate:g}"


def plan(p: TrainParams) -> list[Phase]:
    """The phases `p` asks for (see the module docstring)."""
    b = p.backbone
    if b.name is None or b.weights is None:
        return [Phase("train", p.epochs, p.learning_rate)]
    phases = [Phase("head", p.epochs, p.learning_rate, 0)]
    if b.fine_tune_epochs and b.fine_tune_layers:
        phases.append(
            Phase("fine-tune", b.fine_tune_epochs, b.fine_tune_learning_rate, b.fine_tune_layers)
        )
    return phases


def total_epochs(p: TrainParams) -> int:
    return sum(phase.epochs for phase in plan(p))


def train_phases(
    model: keras.Model,
    p: TrainParams,
    placement: Placement,
    steps: int,
    data: dict,
    callbacks,
    objective: dict,
) -> dict[str, list[float]]:
    """Compile and fit once per phase, epochs counting on; Keras's history of all of them.

    A phase an interrupted earlier run finished (the backup says so) is not trained again.
    """
    backup = next((c for c in callbacks if isinstance(c, ResumableBackup)), None)
    phases, history, done = plan(p), {}, 0
    for index, phase in enumerate(phases):
        compile_phase(model, p, placement, steps, phase, objective)
        if len(phases) > 1:
            print(f"train: phase {index + 1}/{len(phases)}, {phase.describe()}", flush=True)
        if backup is not None and backup.enter_phase(index, model):
            done = len(backup.history)
            continue
        result = model.fit(
            **data,
            initial_epoch=done,
            epochs=done + phase.epochs,
            callbacks=callbacks,
            shuffle=False,
            verbose=0,
        )
        for name, values in result.history.items():
            history.setdefault(name, []).extend(values)
        if backup is None:
            done += len(result.history.get("loss", []))
            continue
        done = len(backup.history)
        backup.finish_phase(model)
    return history


def compile_phase(
    model: keras.Model,
    p: TrainParams,
    placement: Placement,
    steps: int,
    phase: Phase,
    objective: dict,
) -> None:
    """Freeze and unfreeze for `phase`, then compile a fresh optimizer at its rate, with the
    problem kind's loss and metrics (`objective`)."""
    with placement.strategy.scope(), precision_scope(placement.precision):
        set_trainable(model, phase.unfrozen)
        compile_model(
            model, p, steps, placement.jit_compile, objective, phase.learning_rate, phase.epochs
        )


class PhasedEarlyStopping(keras.callbacks.EarlyStopping):
    """Early stopping whose best epoch carries over into the next phase.

    Keras resets early stopping at every fit(); here only the patience restarts, so if
    fine-tuning never beats the head phase on `val_loss`, the head phase's best weights are
    the ones restored.
    """

    def on_train_begin(self, logs: dict | None = None) -> None:
        kept = (getattr(self, "best", None), self.best_weights, getattr(self, "best_epoch", 0))
        super().on_train_begin(logs)
        self.best, self.best_weights, self.best_epoch = kept


def class_weights(p: TrainParams, meta: dict, train: Split) -> dict[int, float] | None:
    """Keras `class_weight` from `train.class_weight`, by class index; None when off.

    `balanced` weighs each class by n_samples / (n_classes * its count in the training split),
    as scikit-learn does; named weights leave unnamed classes at 1.

    Raises:
        ParamsError: a named class that the prepared data does not have.
    """
    wanted = p.class_weight
    if wanted is None:
        return None
    if "classes" not in meta:
        raise ParamsError(f"train.class_weight: weights classes; this is {meta['task']} data")
    classes = meta["classes"]
    if wanted == "balanced":
        from sklearn.utils.class_weight import compute_class_weight

        labels = train.labels(pq.read_table(train.path, columns=[meta["target"]]))
        present = np.unique(labels)
        weights = compute_class_weight("balanced", classes=present, y=labels)
        found = dict(zip(present, weights, strict=True))
        return {index: float(found.get(index, 1.0)) for index in range(len(classes))}
    unknown = sorted(set(wanted) - set(classes))
    if unknown:
        raise ParamsError(
            f"train.class_weight: no class {few(map(repr, unknown))} in the prepared data "
            f"(classes {few(map(repr, classes))})"
        )
    return {index: wanted.get(name, 1.0) for index, name in enumerate(classes)}
