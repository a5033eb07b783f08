"""Where and how training runs: devices, distribution strategy, precision, XLA and seeds.

Everything here is resolved once, at the start of the train stage, from `train.device`,
`train.precision`, `train.jit_compile`, `train.seed` and `train.deterministic`, and reported
in `reports/train_setup.json`. `auto` means: every visible GPU with mixed precision and XLA, else
the CPU in float32 without XLA. TensorFlow fixes its devices when it first touches them, so
`place` must run before any other TensorFlow work in the process.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tasks.common.errors import ParamsError
from tasks.common.params import TrainParams

BFLOAT16_CAPABILITY = (8, 0)  # Ampere and newer compute in bfloat16 at full speed
FLOAT16_CAPABILITY = (7, 0)  # Volta and newer have float16 tensor cores


@dataclass(frozen=True)
class Placement:
    """The resolved device setup of one training run.

    `task` is this process's TF_CONFIG task (`worker-1`), empty when it trains alone; only the
    `chief` writes the model and the reports.
    """

    device: str
    devices: tuple[str, ...]
    precision: str
    jit_compile: bool
    strategy: Any
    task: str = ""
    chief: bool = True

    @property
    def replicas(self) -> int:
        return int(self.strategy.num_replicas_in_sync)

    def describe(self) -> dict:
        return {
            "device": self.device,
            "devices": list(self.devices),
            "replicas": self.replicas,
            "strategy": type(self.strategy).__name__,
            "precision": self.precision,
            "task": self.task or None,
        }


def auto_precision(capabilities: list[tuple[int, int]]) -> str:
    """Mixed bfloat16 where every GPU supports it, else float16, else plain float32."""
    if not capabilities:
        return "float32"
    oldest = min(capabilities)
    if oldest >= BFLOAT16_CAPABILITY:
        return "mixed_bfloat16"
    return "mixed_float16" if oldest >= FLOAT16_CAPABILITY else "float32"


def _device_kind(requested: str, gpus: list) -> str:
    import tensorflow as tf

    if requested == "gpu" and not gpus:
        raise ParamsError("train.device: gpu requested but no GPU is visible to TensorFlow")
    if requested == "cpu" and gpus:
        tf.config.set_visible_devices([], "GPU")
    return "gpu" if gpus and requested != "cpu" else "cpu"


def _capabilities(gpus: list) -> list[tuple[int, int]]:
    import tensorflow as tf

    details = [tf.config.experimental.get_device_details(gpu) for gpu in gpus]
    return [tuple(found.get("compute_capability", (0, 0))) for found in details]


def cluster_task() -> tuple[str, bool]:
    """This process's task in a multi-worker cluster (TF_CONFIG) and whether it is the chief."""
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = config.get("task")
    if not task:
        return "", True
    kind, index = task.get("type", "worker"), int(task.get("index", 0))
    has_chief = bool(config.get("cluster", {}).get("chief"))
    return f"{kind}-{index}", kind == "chief" or (kind == "worker" and index == 0 and not has_chief)


def multi_worker_strategy():
    """MultiWorkerMirroredStrategy when TF_CONFIG names a cluster task, else None.

    It must be created before TensorFlow initialises its devices (listing logical devices
    does): the collective ops it configures are fixed at start-up.
    """
    if not cluster_task()[0]:
        return None
    from tasks.train.cluster import MultiWorkerMirroredStrategy

    return MultiWorkerMirroredStrategy()


def strategy_for(devices: tuple[str, ...]):
    """Mirrored over several devices of this machine, else the default strategy."""
    import tensorflow as tf

    if len(devices) > 1:
        return tf.distribute.MirroredStrategy(list(devices))
    return tf.distribute.get_strategy()


def place(p: TrainParams) -> Placement:
    """Resolve `train.device`, `train.precision` and `train.jit_compile` on this machine."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    kind = _device_kind(p.device, gpus)
    cluster = multi_worker_strategy()
    devices = tuple(d.name for d in tf.config.list_logical_devices(kind.upper()))
    strategy = cluster or strategy_for(devices)
    if p.precision == "auto":
        precision = auto_precision(_capabilities(gpus)) if kind == "gpu" else "float32"
    else:
        precision = p.precision
    jit = kind == "gpu" if p.jit_compile == "auto" else p.jit_compile
    return Placement(kind, devices, precision, jit, strategy, *cluster_task())


def seed_everything(p: TrainParams) -> None:
    """Seed Python, NumPy and TensorFlow; with `deterministic`, also pin op implementations."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(p.seed)
    if p.deterministic:
        tf.config.experimental.enable_op_determinism()


@contextlib.contextmanager
def precision_scope(policy: str) -> Iterator[None]:
    """Build layers under a Keras dtype policy, then restore the previous global policy."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
