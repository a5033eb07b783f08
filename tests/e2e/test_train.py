"""The train stage as DVC runs it (`python -m tasks.train`, in its own process): killed and
resumed, spread over two devices, and reproducible bit for bit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from tests import prepared
from tests.conftest import free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
TWO_CPUS = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tasks.train import main
main()
"""


def workspace(folder: Path, rows: tuple[int, int, int], **train) -> Path:
    """A stage workspace: prepared digits and a params.yaml (JSON is YAML) with `train`."""
    prepared.digits(folder / "data" / "prepared", rows=rows)
    (folder / "params.yaml").write_text(json.dumps({"train": train}))
    return folder


def env() -> dict[str, str]:
    found = {k: v for k, v in os.environ.items() if k != "TRAINFLOW_PROGRESS_ARTIFACT"}
    return found | {"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}


def train(folder: Path, *command: str) -> subprocess.CompletedProcess:
    command = command or ("-m", "tasks.train")
    done = subprocess.run(
        [sys.executable, *command], cwd=folder, env=env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def epochs_logged(text: str) -> list[int]:
    lines = [line for line in text.splitlines() if line.startswith("train: epoch ")]
    return [int(line.split()[2].split("/")[0]) for line in lines]


def tensorboard_steps(events: Path, tag: str) -> list[int]:
    import tensorflow as tf

    found = tf.compat.v1.train.summary_iterator(str(events))
    return [event.step for event in found for value in event.summary.value if value.tag == tag]


@pytest.mark.parametrize("every_seconds", [0, 3600], ids=["every-epoch", "not-yet-due"])
def test_killed_training_resumes_from_its_last_backup(tmp_path: Path, every_seconds: float):
    """Backups every epoch resume after the last logged one; a backup not yet due (the
    default bounds them in time) resumes from the start: both show every epoch once."""
    folder = workspace(
        tmp_path,
        (4000, 300, 100),
        epochs=5,
        early_stopping_patience=0,
        backup_every_seconds=every_seconds,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "tasks.train"],
        cwd=folder,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    for line in process.stdout:
        if line.startswith("train: epoch 2/5"):
            process.send_signal(signal.SIGKILL)  # mid-epoch 3: no chance to clean up
            break
    before = epochs_logged(line + process.stdout.read())
    assert process.wait() == -signal.SIGKILL and before[-1] < 5
    models = folder / "models"
    assert sorted(p.name for p in models.iterdir()) == [".backup"]  # no model, no temp dir
    resumed = train(folder)
    done = before[-1] if every_seconds == 0 else 0
    assert ("train: resuming from epoch" in resumed.stdout) == bool(done)
    assert epochs_logged(resumed.stdout) == list(range(done + 1, 6))
    report = json.loads((folder / "reports/train.json").read_text())
    assert report["epochs_run"] == 5 and report["resumed_from_epoch"] == done
    curve = folder / "reports/train/plots/metrics/eval/loss.tsv"
    header, *rows = [line.split("\t") for line in curve.read_text().splitlines()]
    steps = [row[header.index("step")] for row in rows]
    assert steps == ["0", "1", "2", "3", "4"]  # DVCLive: every epoch once, not just the resumed
    (events,) = (folder / "reports/tensorboard/validation").glob("events.out.tfevents.*")
    assert tensorboard_steps(events, "epoch_loss") == [0, 1, 2, 3, 4]
    assert sorted(p.name for p in models.iterdir()) == ["model"]  # backup gone after success
    model = keras.saving.load_model(models / "model/model.keras", safe_mode=True)
    assert model.output_shape == (None, 10)


def test_two_devices_train_with_a_mirrored_strategy(tmp_path: Path):
    folder = workspace(tmp_path, (400, 100, 100), epochs=2, device="cpu")
    done = train(folder, "-c", TWO_CPUS)
    assert "train: cpu x2 (MirroredStrategy)" in done.stdout
    report = json.loads((folder / "reports/train_setup.json").read_text())
    assert report["replicas"] == 2 and report["strategy"] == "MirroredStrategy"
    assert len(report["devices"]) == 2
    assert keras.saving.load_model(folder / "models/model/model.keras", safe_mode=True)


def test_deterministic_runs_give_identical_weights_and_metrics(tmp_path: Path):
    small = {"epochs": 3, "deterministic": True, "cnn": {"filters": [8], "dense_units": 16}}
    runs = [workspace(tmp_path / name, (300, 60, 60), **small) for name in ("one", "two")]
    for folder in runs:
        train(folder)
    reports = [json.loads((f / "reports/train.json").read_text()) for f in runs]
    assert reports[0]["final"] == reports[1]["final"]
    weights = [
        keras.saving.load_model(f / "models/model/model.keras", safe_mode=True).get_weights()
        for f in runs
    ]
    for first, second in zip(*weights, strict=True):
        np.testing.assert_array_equal(first, second)


def test_two_machines_train_one_model_that_only_the_chief_writes(tmp_path: Path):
    """Two worker processes on loopback ports (TF_CONFIG), each in its own checkout with the
    same prepared data, as on two machines: MultiWorkerMirroredStrategy, one model."""
    small = {
        "epochs": 6,
        "batch_size": 64,
        "device": "cpu",
        "cnn": {"filters": [16], "dense_units": 32},
    }
    rows = (1500, 300, 300)
    chief, worker = (workspace(tmp_path / name, rows, **small) for name in ("chief", "worker"))
    cluster = {"worker": [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tasks.train"],
            cwd=folder,
            env=env() | {"TF_CONFIG": json.dumps({"cluster": cluster, "task": task})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for folder, task in (
            (chief, {"type": "worker", "index": 0}),
            (worker, {"type": "worker", "index": 1}),
        )
    ]
    try:
        logs = [process.communicate(timeout=400)[0] for process in processes]
    finally:
        for process in processes:
            process.kill()
    assert [process.returncode for process in processes] == [0, 0], logs
    assert "train: cpu x2 (MultiWorkerMirroredStrategy)" in logs[0]
    epochs = [
        [line.rsplit(" ", 2)[0] for line in log.splitlines() if line.startswith("train: epoch")]
        for log in logs
    ]
    assert len(epochs[0]) == 6 and epochs[0] == epochs[1]  # the same metrics on both: one model
    report = json.loads((chief / "reports/train_setup.json").read_text())
    assert (report["replicas"], report["task"]) == (2, "worker-0")
    assert (chief / "models/model/model.keras").exists()
    assert not (worker / "models/model").exists() and not (worker / "reports").exists()
    assert not (chief / "models/.backup").exists() and not (worker / "models/.backup").exists()

    alone = workspace(tmp_path / "alone", rows, **small)
    train(alone)
    accuracy = [accuracy_on_test(folder) for folder in (chief, alone)]
    assert min(accuracy) >= 0.8 and abs(accuracy[0] - accuracy[1]) <= 0.05, accuracy


def accuracy_on_test(folder: Path) -> float:
    from tasks.model.inputs import load_splits
    from tasks.model.pipeline import model_outputs

    splits = load_splits(folder / "data/prepared", ("test",))
    model = keras.saving.load_model(folder / "models/model/model.keras", safe_mode=True)
    predicted = model_outputs(model, splits.inputs("test")).argmax(1)
    return float((predicted == splits.labels("test")).mean())
