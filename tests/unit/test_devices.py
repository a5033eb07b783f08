from __future__ import annotations

import json

import keras
import pytest

from tasks.common.errors import ParamsError
from tasks.common.params import TrainParams
from tasks.train.devices import auto_precision, cluster_task, place, precision_scope


@pytest.mark.parametrize(
    ("capabilities", "policy"),
    [
        ([], "float32"),
        ([(9, 0), (8, 6)], "mixed_bfloat16"),
        ([(8, 0), (7, 5)], "mixed_float16"),  # the oldest GPU decides
        ([(6, 1)], "float32"),
    ],
)
def test_auto_precision_picks_what_every_gpu_runs_fast(capabilities, policy):
    assert auto_precision(capabilities) == policy


def test_cpu_defaults_to_float32_without_xla_and_one_replica():
    placement = place(TrainParams(device="auto"))
    assert placement.device == "cpu" and placement.replicas == 1
    assert placement.precision == "float32" and placement.jit_compile is False
    assert placement.describe()["devices"] == [name for name in placement.devices]
    assert placement.chief


def test_precision_and_xla_can_be_forced_on_cpu():
    placement = place(TrainParams(precision="mixed_bfloat16", jit_compile=True))
    assert placement.precision == "mixed_bfloat16" and placement.jit_compile is True


def test_gpu_requested_without_one_is_a_params_error():
    with pytest.raises(ParamsError, match="train.device: gpu"):
        place(TrainParams(device="gpu"))


def test_precision_scope_restores_the_global_policy():
    with precision_scope("mixed_bfloat16"):
        assert keras.layers.Dense(2).compute_dtype == "bfloat16"
    assert keras.config.dtype_policy().name == "float32"


@pytest.mark.parametrize(
    ("config", "task", "chief"),
    [
        (None, "", True),
        (
            {"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 0}},
            "worker-0",
            True,
        ),
        (
            {"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}},
            "worker-1",
            False,
        ),
        (
            {
                "cluster": {"chief": ["c:1"], "worker": ["a:1"]},
                "task": {"type": "worker", "index": 0},
            },
            "worker-0",
            False,
        ),
        ({"cluster": {"chief": ["c:1"]}, "task": {"type": "chief", "index": 0}}, "chief-0", True),
    ],
)
def test_only_the_chief_of_a_cluster_writes_outputs(monkeypatch, config, task, chief):
    if config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    assert cluster_task() == (task, chief)
