from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from tasks.train.resume import ResumableBackup, fingerprint, open_backup
from tests import prepared

X = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
Y = (X[:, 0] > 0).astype("int32")


class Interrupt(keras.callbacks.Callback):
    """Stands in for a SIGKILL at the start of an epoch (the e2e test kills a real process)."""

    def __init__(self, at: int):
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise RuntimeError("killed")


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)


def _model() -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    return model


def _watched():
    stop = keras.callbacks.EarlyStopping(patience=10, restore_best_weights=True)
    # min_delta this large means no epoch ever improves: the rate halves after every epoch.
    plateau = keras.callbacks.ReduceLROnPlateau(patience=1, factor=0.5, min_delta=10)
    return stop, plateau


def _fit(model, callbacks, epochs=5):
    return model.fit(X, Y, validation_data=(X, Y), epochs=epochs, callbacks=callbacks, verbose=0)


def _state(stop, plateau, model) -> dict:
    return {
        "stop": (stop.wait, stop.best, stop.best_epoch),
        "plateau": (plateau.wait, plateau.best, plateau.cooldown_counter),
        "learning_rate": float(model.optimizer.learning_rate.numpy()),
        "best_weights": [w.copy() for w in stop.best_weights],
    }


def test_resume_restores_history_callback_state_and_optimizer(tmp_path, capsys):
    backup = tmp_path / "backup"
    model, (stop, plateau) = _model(), _watched()
    with pytest.raises(RuntimeError, match="killed"):
        _fit(model, [stop, plateau, ResumableBackup(backup, [stop, plateau], []), Interrupt(3)])
    before = _state(stop, plateau, model)

    model, (stop, plateau), replayed = _model(), _watched(), Recorder()
    resumable = ResumableBackup(backup, [stop, plateau], [replayed])
    at_resume = {}

    class Probe(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            at_resume.setdefault("state", _state(stop, plateau, model))

    history = _fit(model, [stop, plateau, resumable, Probe()])
    after = at_resume["state"]
    assert "train: resuming from epoch 3" in capsys.readouterr().out
    assert len(history.history["loss"]) == 2  # Keras's own history: only epochs 3 and 4
    assert [record["epoch"] for record in resumable.history] == [0, 1, 2, 3, 4]
    assert resumable.resumed_from == 3 and replayed.epochs == [0, 1, 2]
    assert after["stop"] == before["stop"] and after["plateau"] == before["plateau"]
    assert after["learning_rate"] == pytest.approx(before["learning_rate"]) == 0.01 / 4
    for restored, saved in zip(after["best_weights"], before["best_weights"], strict=True):
        np.testing.assert_array_equal(restored, saved)


def test_a_finished_backup_keeps_only_two_best_weight_files(tmp_path):
    backup = tmp_path / "backup"
    model, (stop, _) = _model(), _watched()
    stop.min_delta = 0  # improves every epoch on this easy problem
    _fit(model, [stop, ResumableBackup(backup, [stop], [])], epochs=4)
    assert sorted(p.name for p in backup.glob("best-*")) == ["best-2.npz", "best-3.npz"]


class Clock:
    """A clock that advances `step` seconds at every reading."""

    def __init__(self, step: float):
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_backups_are_bounded_in_time_and_the_resume_shows_every_epoch_once(tmp_path, capsys):
    backup = tmp_path / "backup"
    model, (stop, plateau), clock = _model(), _watched(), Clock(1.0)
    first = ResumableBackup(backup, [stop, plateau], [], every_seconds=2.5, clock=clock)
    saved = []

    class Saves(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            saved.append(first._saved_epoch())

    with pytest.raises(RuntimeError, match="killed"):
        _fit(model, [stop, plateau, first, Saves(), Interrupt(5)], epochs=8)
    # One reading at each epoch's end and one after a backup: the third epoch is backed up.
    assert saved == [0, 0, 3, 3, 3]

    model, (stop, plateau), replayed = _model(), _watched(), Recorder()
    resumed = ResumableBackup(backup, [stop, plateau], [replayed], every_seconds=2.5)
    live = Recorder()
    history = _fit(model, [stop, plateau, resumed, live], epochs=8)
    assert "train: resuming from epoch 3" in capsys.readouterr().out
    assert len(history.history["loss"]) == 5
    assert [record["epoch"] for record in resumed.history] == list(range(8))
    assert replayed.epochs + live.epochs == list(range(8))  # each epoch reported once
    assert resumed._saved_epoch() == 8  # the phase's end is always backed up


def test_a_phase_stopped_early_is_backed_up_at_its_last_epoch(tmp_path):
    backup = tmp_path / "backup"
    model, (stop, _) = _model(), _watched()
    stop.patience, stop.min_delta = 1, 10  # no epoch improves: stops after epoch 2
    resumable = ResumableBackup(backup, [stop], [], every_seconds=3600)
    history = _fit(model, [stop, resumable], epochs=8)
    assert len(history.history["loss"]) == 2
    assert resumable._saved_epoch() == 2


def test_open_backup_keeps_a_matching_one_and_discards_another(tmp_path: Path):
    backup = tmp_path / "models" / ".backup"
    assert open_backup(backup, "stamp-a") is False
    assert (backup / ".gitignore").read_text() == "*\n"  # a crash leaves nothing for git
    (backup / "latest.weights.h5").write_text("x")
    assert open_backup(backup, "stamp-a") is True
    assert (backup / "latest.weights.h5").exists()
    assert open_backup(backup, "stamp-b") is False
    assert not (backup / "latest.weights.h5").exists()


def test_fingerprint_follows_params_and_data_content_not_file_times(tmp_path: Path):
    folder = tmp_path / "prepared"
    prepared.digits(folder, rows=(40, 10, 10))
    stamp = fingerprint({"epochs": 3}, folder)
    assert fingerprint({"epochs": 4}, folder) != stamp
    prepared.digits(folder, rows=(40, 10, 10))  # rewritten, same content
    assert fingerprint({"epochs": 3}, folder) == stamp
    prepared.digits(folder, rows=(41, 10, 10))
    assert fingerprint({"epochs": 3}, folder) != stamp
