from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tasks.common.errors import DataValidationError
from tasks.model.reader import Batches, Split, pixel_bytes, table_stats
from tests import prepared


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Split:
    folder = tmp_path_factory.mktemp("images")
    meta = prepared.digits(folder, rows=(230, 20, 20), row_group=50)
    return Split(folder / "train.parquet", meta)


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Split:
    folder = tmp_path_factory.mktemp("table")
    meta = prepared.table(folder, rows=(120, 20, 20), row_group=32)
    return Split(folder / "train.parquet", meta)


def test_read_gives_pixel_arrays_and_class_indices(images: Split):
    inputs, labels = images.read()
    frame = pd.read_parquet(images.path)
    assert inputs.shape == (230, 8, 8, 1) and inputs.dtype == np.uint8
    assert inputs[5].tobytes() == frame["pixels"][5]
    assert labels.tolist() == frame["label"].astype(int).tolist()
    assert images.rows == 230 and images.megabytes > 0


def test_table_inputs_keep_missing_values_as_the_model_expects(table: Split):
    inputs, labels = table.read()
    assert set(inputs) == {"f_size", "f_weight", "f_color"}
    assert inputs["f_size"].dtype == np.float32 and np.isnan(inputs["f_size"][0, 0])
    assert inputs["f_color"][0, 0] == ""  # a missing category becomes the out-of-vocabulary token
    assert set(labels) == {0, 1}


def test_labels_outside_the_classes_are_refused(table: Split):
    bad = Split(table.path, {**table.meta, "classes": ["no"]})
    with pytest.raises(DataValidationError) as found:
        bad.read()
    message = str(found.value)
    assert message.startswith(f"{table.path}: column '{table.meta['target']}' holds labels")
    assert "outside meta.json's classes [no]" in message and "rerun prepare" in message


def test_table_stats_match_pandas_over_many_small_batches(table: Split):
    frame = pd.read_parquet(table.path)
    stats = table_stats(table, rows=10)
    expected_mean = frame[["size", "weight"]].mean().to_numpy()
    expected_std = frame[["size", "weight"]].std(ddof=0).to_numpy()
    np.testing.assert_allclose(stats.mean, expected_mean, rtol=1e-9)
    np.testing.assert_allclose(stats.std, expected_std, rtol=1e-9)
    assert stats.vocabularies == {"color": ["blue", "green", "red"]}


def test_pixel_bytes_of_sliced_and_shuffled_rows():
    column = pa.table({"pixels": [b"ab", b"cd", b"ef"]})
    assert pixel_bytes(column["pixels"]) == b"abcdef"
    assert pixel_bytes(column.slice(1, 2)["pixels"]) == b"cdef"
    assert pixel_bytes(column.take([2, 0])["pixels"]) == b"efab"


def _epoch(batches: Batches) -> list[tuple[bytes, np.ndarray]]:
    return list(batches())


def test_streamed_epoch_covers_every_row_once_in_blocks_of_whole_batches(images: Split):
    batches = Batches(images, batch_size=32, window=64, seed=1, block_batches=2)
    epoch = _epoch(batches)
    assert [len(labels) for _, labels in epoch] == [64, 64, 64, 38]
    rows = {blob[i * 64 : (i + 1) * 64] for blob, _ in epoch for i in range(len(blob) // 64)}
    assert rows == set(pd.read_parquet(images.path)["pixels"])


def test_streamed_order_is_seeded_and_changes_every_epoch(images: Split):
    first, second = Batches(images, 32, 64, seed=1), Batches(images, 32, 64, seed=1)
    one, again = _epoch(first), _epoch(second)
    assert [b for b, _ in one] == [b for b, _ in again]
    assert [b for b, _ in _epoch(first)] != [b for b, _ in one]
    in_file_order = Batches(images, 32, 64, seed=None)
    labels = np.concatenate([labels for _, labels in _epoch(in_file_order)])
    assert labels.tolist() == images.read()[1].tolist()


def test_streamed_tables_yield_named_inputs(table: Split):
    inputs, labels = next(iter(Batches(table, 8, 40, seed=3, block_batches=2)()))
    assert set(inputs) == {"f_size", "f_weight", "f_color"}
    assert inputs["f_color"].shape == (16, 1) and labels.shape == (16,)
