"""Resume a killed training from its last backup (taken every `train.backup_every_seconds`).

`ResumableBackup` is Keras's `BackupAndRestore` (weights, optimizer state and epoch) plus what
Keras leaves out: the per-epoch history, the state of early
stopping and of the plateau schedule, and the best weights so far. A resumed run therefore
ends with the same epochs in its history and stops by the same rules as an uninterrupted one.
The data order is not restored (like Keras's own backup): later epochs shuffle afresh, so its
weights are close to, not identical with, those of an uninterrupted run.

A backup is written at the end of an epoch when `train.backup_every_seconds` have passed since
the last one, and always at the end of a phase: saving weights and optimizer state after every
short epoch would cost a large share of the training. A killed run re-trains at most that
much; the epochs it had reported after its last backup are trained and reported again, and the
curves are rebuilt from the backup's history, so every epoch shows once.

Training in phases (a frozen backbone, then fine-tuning with a new optimizer) keeps each
later phase's backup in a folder of its own (`phase-2/`), and marks a phase finished with its
final weights, so a run killed in phase 2 restarts there, with every epoch of both phases in
its history.

The backup lives in `train.backup_dir`, outside the stage's DVC outputs (DVC deletes those
before it reruns a stage). It is stamped with a fingerprint of the params and the prepared
data, so a backup made for other inputs is discarded instead of resumed, and it is removed
only after the model has been written.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import keras
import numpy as np

from tasks.common.io import read_json, write_json
from tasks.train.callbacks import current_learning_rate

STATE = "trainflow-state.json"
FINGERPRINT = "fingerprint.txt"
FINISHED, FINAL = "finished.json", "final.npz"
TRACKED = {
    keras.callbacks.EarlyStopping: ("wait", "best", "best_epoch"),
    keras.callbacks.ReduceLROnPlateau: ("wait", "best", "cooldown_counter"),
}


def tracked_state(callback: keras.callbacks.Callback) -> tuple[str, ...]:
    """The attributes of a watched callback that a resume restores (subclasses included)."""
    return next(names for kind, names in TRACKED.items() if isinstance(callback, kind))


def fingerprint(train: dict, prepared: Path) -> str:
    """Hash of what a backup is only valid for: the train params and the prepared data.

    The data side is meta.json plus each Parquet footer (sizes, row counts, column min/max),
    cheap to read however large the files, and unchanged when DVC checks the same data out.
    """
    import pyarrow.parquet as pq

    digest = hashlib.sha256(json.dumps(train, sort_keys=True, default=str).encode())
    digest.update((prepared / "meta.json").read_bytes())
    for path in sorted(prepared.glob("*.parquet")):
        digest.update(f"{path.name}:{pq.read_metadata(path).to_dict()}".encode())
    return digest.hexdigest()


def open_backup(backup_dir: Path, stamp: str) -> bool:
    """Keep a backup made for the same inputs (True), else start a fresh one (False)."""
    stamp_file = backup_dir / FINGERPRINT
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        return True
    if backup_dir.exists():
        print(f"train: discarding {backup_dir}: made for other params or data", flush=True)
        shutil.rmtree(backup_dir)
    backup_dir.mkdir(parents=True)
    (backup_dir / ".gitignore").write_text("*\n")
    stamp_file.write_text(stamp)
    return False


class ResumableBackup(keras.callbacks.BackupAndRestore):
    """BackupAndRestore that also restores history and callback state (see module docstring).

    Place it after EarlyStopping and ReduceLROnPlateau, so it records their state of the
    epoch, and before callbacks that report the epoch, so a reported epoch is a saved one.
    `replay` callbacks are shown the restored epochs' logs again (DVCLive's curves).
    `every_seconds` is the least time between two backups within a phase (0: every epoch);
    `clock` tells the time (seconds, monotonic).
    """

    def __init__(
        self,
        backup_dir: Path,
        tracked: list,
        replay: list,
        every_seconds: float = 0,
        clock=time.monotonic,
    ):
        super().__init__(str(backup_dir), double_checkpoint=True, delete_checkpoint=False)
        self.base = self.root = Path(backup_dir)
        self.tracked, self.replay = tracked, replay
        self.every_seconds, self.clock = every_seconds, clock
        self.saved_at = clock()
        self.earlier: list[dict] = []  # epochs of the phases before this one
        self.history: list[dict] = []
        self.resumed_from = 0
        self.shown = 0  # epochs the replay callbacks have been shown in this process

    def enter_phase(self, index: int, model: keras.Model) -> bool:
        """Back up training phase `index` (0 first) in its own folder, since its optimizer
        differs. True when an earlier run finished that phase: its final weights are loaded
        into `model` and its epochs counted, and it is not to be trained again."""
        self.earlier = list(self.history)
        self.root = self.base if index == 0 else self.base / f"phase-{index + 1}"
        self.backup_dir = str(self.root)
        self._weights_path = str(self.root / "latest.weights.h5")
        self._training_metadata_path = str(self.root / "training_metadata.json")
        self._prev_weights_path = f"{self._weights_path}.bkp"
        self._prev_training_metadata_path = f"{self._training_metadata_path}.bkp"
        if not (self.root / FINISHED).exists():
            return False
        with np.load(self.root / FINAL) as arrays:
            model.set_weights([arrays[f"arr_{i}"] for i in range(len(arrays.files))])
        self.history = self.earlier + read_json(self.root / FINISHED)["history"]
        self._resumed()
        return True

    def finish_phase(self, model: keras.Model) -> None:
        """Mark the current phase finished, with the weights it ended with."""
        tmp = self.root / "final.npz.tmp"
        with tmp.open("wb") as file:
            np.savez(file, *model.get_weights())
        os.replace(tmp, self.root / FINAL)
        write_json(self.root / FINISHED, {"history": self.history[len(self.earlier) :]})

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        # Keras keeps the epoch a backup restored on the model across fit() calls: only this
        # phase's backup may set where this fit starts.
        self.model._initial_epoch = None
        super().on_train_begin(logs)
        done = self._saved_epoch()
        state = read_json(self.root / STATE) if done and (self.root / STATE).exists() else {}
        restored = [r for r in state.get("history", []) if r["epoch"] < done]
        self.history = self.earlier + restored
        if restored:
            self._resumed()
            self._restore(restored[-1]["state"])
        self._replay()
        self.saved_at = self.clock()

    def _resumed(self) -> None:
        self.resumed_from = len(self.history)
        print(f"train: resuming from epoch {self.resumed_from} (backup {self.base})", flush=True)

    def _replay(self) -> None:
        """Show the epochs restored from the backup to the curves (DVCLive, TensorBoard)."""
        for record in self.history[self.shown :]:
            for callback in self.replay:
                callback.on_epoch_end(record["epoch"], dict(record["logs"]))
        self.shown = len(self.history)

    def _saved_epoch(self) -> int:
        path = Path(self._training_metadata_path)
        return int(json.loads(path.read_text())["epoch"]) if path.exists() else 0

    def _restore(self, state: list[dict]) -> None:
        for callback, saved in zip(self.tracked, state, strict=True):
            for name, value in saved.items():
                setattr(callback, name, value)
            best = self._best_path(saved.get("best_epoch"))
            if isinstance(callback, keras.callbacks.EarlyStopping) and best.exists():
                with np.load(best) as arrays:
                    callback.best_weights = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]

    def _best_path(self, epoch: int | None) -> Path:
        """Early stopping's best epoch may be in an earlier phase: one folder for all."""
        return self.base / f"best-{epoch}.npz"

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = dict(logs or {})
        logs.setdefault("learning_rate", current_learning_rate(self.model))
        state = [
            {name: _plain(getattr(c, name)) for name in tracked_state(c)} for c in self.tracked
        ]
        self.history.append({"epoch": epoch, "logs": _plain(logs), "state": state})
        self.shown = len(self.history)  # the callbacks after this one report it live
        self._current_epoch, self._last_batch_seen = epoch + 1, 0
        if self._due(epoch):
            self._save_best()
            write_json(self.root / STATE, {"history": self.history[len(self.earlier) :]})
            self._save_model()
            self.saved_at = self.clock()

    def _due(self, epoch: int) -> bool:
        """A backup now: enough time has passed, or this is the phase's last epoch (its
        epochs ran out, or early stopping, placed before this callback, just ended it)."""
        last = epoch + 1 >= (self.params or {}).get("epochs", epoch + 1) or self.model.stop_training
        return last or self.clock() - self.saved_at >= self.every_seconds

    def _save_best(self) -> None:
        """Keep early stopping's best weights for a resume: those of this backup's best epoch
        and of the previous backup's (Keras falls back on it when the latest is torn).

        They are the arrays early stopping holds in memory, saved as .npz: far cheaper than a
        Keras weights file.
        """
        stops = [c for c in self.tracked if isinstance(c, keras.callbacks.EarlyStopping)]
        if not stops or stops[0].best_weights is None:
            return
        path = self._best_path(stops[0].best_epoch)
        if path.exists():
            return
        tmp = self.base / "best.npz.tmp"
        with tmp.open("wb") as file:
            np.savez(file, *stops[0].best_weights)
        os.replace(tmp, path)
        for old in sorted(self.base.glob("best-*.npz"), key=_epoch_of)[:-2]:
            old.unlink()


def _epoch_of(path: Path) -> int:
    return int(path.name.removeprefix("best-").removesuffix(".npz"))


def _plain(value):
    """JSON-safe copies of logs and callback state (NumPy scalars become floats)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value if value is None or isinstance(value, int | str) else float(value)
