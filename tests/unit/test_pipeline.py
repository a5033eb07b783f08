from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from tasks.model.pipeline import (
    BLOCK_BATCHES,
    BLOCK_BYTES,
    block_batches,
    dataset,
    model_outputs,
    split_dataset,
)
from tasks.model.reader import Split
from tests import prepared


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Split:
    folder = tmp_path_factory.mktemp("images")
    meta = prepared.digits(folder, rows=(100, 20, 20), row_group=30)
    return Split(folder / "train.parquet", meta)


def _labels(data: tf.data.Dataset) -> list[list[int]]:
    return [batch[1].numpy().tolist() for batch in data]


def test_dataset_without_seed_keeps_row_order_for_prediction():
    inputs = np.arange(10, dtype=np.float32).reshape(10, 1)
    batches = [batch.numpy().ravel().tolist() for batch in dataset(inputs, None, 4)]
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_seeded_dataset_reshuffles_every_epoch_with_every_row_once():
    inputs = {"f_a": np.arange(50, dtype=np.float32).reshape(-1, 1)}
    data = dataset(inputs, np.arange(50, dtype=np.int32), 8, seed=3)
    first, second = _labels(data), _labels(data)
    assert sorted(sum(first, [])) == list(range(50))
    assert first != second and sorted(sum(second, [])) == list(range(50))
    for features, labels in data.take(2):  # inputs and labels stay paired
        np.testing.assert_array_equal(features["f_a"].numpy().ravel(), labels.numpy())


def test_string_columns_feed_through_tf_data():
    inputs = {"f_color": np.array([["red"], ["blue"], [""]], dtype=object)}
    (batch,) = list(dataset(inputs, None, 8))
    assert batch["f_color"].dtype == tf.string and batch["f_color"].shape == (3, 1)


def test_small_split_is_held_in_memory_large_one_streamed(images: Split):
    cached, in_memory, _ = split_dataset(images, 32, cache_max_mb=10, window=40, seed=1)
    streamed, not_in_memory, _ = split_dataset(images, 32, cache_max_mb=0, window=40, seed=1)
    assert in_memory and not not_in_memory
    for data in (cached, streamed):
        assert data.cardinality().numpy() == 4
        assert [len(labels) for _, labels in data] == [32, 32, 32, 4]
        pixels, labels = next(iter(data))
        assert pixels.dtype == tf.uint8 and pixels.shape == (32, 8, 8, 1)
        assert labels.dtype == tf.int32


def test_streamed_and_cached_epochs_hold_the_same_examples(images: Split):
    frame = pd.read_parquet(images.path)
    expected = sorted(zip(frame["pixels"], frame["label"].astype(int), strict=True))
    for cache_max_mb in (10, 0):
        data, *_ = split_dataset(images, 32, cache_max_mb, window=40, seed=2)
        seen = [
            (image.tobytes(), int(label))
            for pixels, labels in data
            for image, label in zip(pixels.numpy(), labels.numpy(), strict=True)
        ]
        assert sorted(seen) == expected


def test_model_outputs_returns_one_row_per_input_in_order():
    import keras

    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Softmax()(inputs))
    x = np.array([[0, 5], [5, 0], [0, 0]], dtype=np.float32)
    proba = model_outputs(model, x, batch_size=2)
    assert proba.shape == (3, 2)
    assert proba.argmax(axis=1).tolist() == [1, 0, 0]


def test_blocks_of_photos_are_bounded_in_bytes_blocks_of_small_rows_in_batches():
    assert block_batches(8 * 8, 32) == BLOCK_BATCHES  # digits: 32 batches a block
    photo = 224 * 224 * 3
    assert block_batches(photo, 32) * 32 * photo <= BLOCK_BYTES  # photos: about 16 MB
    assert block_batches(photo, 512) == 1  # never less than a batch
    pixels = np.zeros((100, 64, 64, 3), np.uint8)
    batches = list(dataset(pixels, np.zeros(100, "int32"), batch_size=8, seed=0))
    assert [len(x) for x, _ in batches] == [8] * 12 + [4]
