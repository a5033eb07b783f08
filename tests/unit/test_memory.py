"""Holding a split in memory or streaming it: decided from its size and the memory free."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.model import memory
from tasks.model.memory import available_mb, hold_in_memory, split_mb
from tasks.model.pipeline import held, split_dataset
from tasks.model.reader import MB, Split
from tests import prepared


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Split:
    folder = tmp_path_factory.mktemp("table")
    return Split(folder / "train.parquet", prepared.table(folder, rows=(20_000, 20, 20)))


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Split:
    folder = tmp_path_factory.mktemp("images")
    return Split(folder / "train.parquet", prepared.digits(folder, rows=(500, 20, 20)))


def tensor_mb(inputs, labels) -> float:
    parts = list(inputs.values()) if isinstance(inputs, dict) else [inputs]
    numbers = sum(t.numpy().nbytes for t in parts if t.dtype.name != "string")
    text = sum(24 * int(np.prod(t.shape)) for t in parts if t.dtype.name == "string")
    return (numbers + text + labels.numpy().nbytes) / MB


@pytest.mark.parametrize("name", ["table", "images"])
def test_the_estimate_covers_the_tensors_without_overstating_them(name, request):
    split = request.getfixturevalue(name)
    inputs, labels = held(split)
    actual = tensor_mb(inputs, labels)
    assert actual <= split_mb(split) <= 4 * actual


def test_held_tensors_equal_the_whole_split_read_at_once(table):
    inputs, labels = held(table)
    expected_inputs, expected_labels = table.read()
    assert (labels.numpy() == expected_labels).all()
    for name, values in expected_inputs.items():
        got = inputs[name].numpy()
        if values.dtype == object:
            assert [v.decode() for v in got.ravel()] == values.ravel().tolist()
        else:
            np.testing.assert_array_equal(got, values)


def test_a_split_is_held_only_when_it_fits_half_the_free_memory(table, monkeypatch):
    need = split_mb(table)
    monkeypatch.setattr(memory, "available_mb", lambda: 4 * need)
    assert hold_in_memory(table, cache_max_mb=1024)[0]
    assert not hold_in_memory(table, cache_max_mb=need / 2)[0]  # the fixed cap still holds
    monkeypatch.setattr(memory, "available_mb", lambda: 1.5 * need)
    fits, reason = hold_in_memory(table, cache_max_mb=1024)
    assert not fits and "MB needed" in reason and "MB free" in reason
    _, in_memory, _ = split_dataset(table, 64, cache_max_mb=1024, window=100, seed=1)
    assert not in_memory


def test_a_steady_decision_ignores_free_memory_and_says_when_it_is_short(table, monkeypatch):
    """train.deterministic (or several workers) must order rows alike on every machine."""
    need = split_mb(table)
    monkeypatch.setattr(memory, "available_mb", lambda: 1.5 * need)
    fits, reason = hold_in_memory(table, cache_max_mb=1024, steady=True)
    assert fits and "lower train.cache_max_mb to stream" in reason
    assert not hold_in_memory(table, cache_max_mb=need / 2, steady=True)[0]
    monkeypatch.setattr(memory, "available_mb", lambda: 100 * need)
    fits, reason = hold_in_memory(table, cache_max_mb=1024, steady=True)
    assert fits and "lower" not in reason
    _, in_memory, _ = split_dataset(table, 64, 1024, window=100, seed=1, steady=True)
    assert in_memory


def test_available_memory_is_what_the_machine_reports():
    import psutil

    assert 0 < available_mb() <= psutil.virtual_memory().total / MB
