"""Resume a killed training from its last completed epoch.

`ResumableBackup` is Keras's `BackupAndRestore` (weights, optimizer state and epoch, saved at
every epoch end) plus what Keras leaves out: the per-epoch history, the state of early
stopping and of the plateau schedule, and the best weights so far. A resumed run therefore
ends with the same epochs in its history and stops where an uninterrupted one would.

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
from pathlib import Path

import keras
import numpy as np

from tasks.common.io import read_json, write_json
from tasks.train.callbacks import current_learning_rate

STATE = "trainflow-state.json"
FINGERPRINT = "fingerprint.txt"
TRACKED = {
    keras.callbacks.EarlyStopping: ("wait", "best", "best_epoch"),
    keras.callbacks.ReduceLROnPlateau: ("wait", "best", "cooldown_counter"),
}


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
    """

    def __init__(self, backup_dir: Path, tracked: list, replay: list):
        super().__init__(str(backup_dir), double_checkpoint=True, delete_checkpoint=False)
        self.root, self.tracked, self.replay = Path(backup_dir), tracked, replay
        self.history: list[dict] = []
        self.resumed_from = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        super().on_train_begin(logs)
        done = self._saved_epoch()
        state = read_json(self.root / STATE) if done and (self.root / STATE).exists() else {}
        self.history = state.get("history", [])[:done]
        if not self.history:
            return
        self.resumed_from = len(self.history)
        print(f"train: resuming from epoch {self.resumed_from} (backup {self.root})", flush=True)
        self._restore(self.history[-1]["state"])
        for record in self.history:
            for callback in self.replay:
                callback.on_epoch_end(record["epoch"], dict(record["logs"]))

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
        return self.root / f"best-{epoch}.npz"

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = dict(logs or {})
        logs.setdefault("learning_rate", current_learning_rate(self.model))
        state = [
            {name: _plain(getattr(c, name)) for name in TRACKED[type(c)]} for c in self.tracked
        ]
        self._save_best(epoch)
        self.history.append({"epoch": epoch, "logs": _plain(logs), "state": state})
        write_json(self.root / STATE, {"history": self.history})
        super().on_epoch_end(epoch, logs)

    def _save_best(self, epoch: int) -> None:
        """Keep early stopping's best weights (this best and the previous one) for a resume.

        They are the arrays early stopping holds in memory, saved as .npz: far cheaper than a
        Keras weights file, which matters when an epoch takes a fraction of a second.
        """
        stops = [c for c in self.tracked if isinstance(c, keras.callbacks.EarlyStopping)]
        if not stops or stops[0].best_epoch != epoch or stops[0].best_weights is None:
            return
        tmp = self.root / "best.npz.tmp"
        with tmp.open("wb") as file:
            np.savez(file, *stops[0].best_weights)
        os.replace(tmp, self._best_path(epoch))
        for old in sorted(self.root.glob("best-*.npz"), key=_epoch_of)[:-2]:
            old.unlink()


def _epoch_of(path: Path) -> int:
    return int(path.name.removeprefix("best-").removesuffix(".npz"))


def _plain(value):
    """JSON-safe copies of logs and callback state (NumPy scalars become floats)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value if value is None or isinstance(value, int | str) else float(value)
