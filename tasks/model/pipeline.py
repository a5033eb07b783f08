"""The tf.data input pipeline shared by training, evaluation and `trainflow predict`.

Keras cannot take string columns as NumPy object arrays, and tf.data is also where batching,
shuffling and prefetching belong, so every path that feeds the model goes through here.

Training reads a prepared split straight from its Parquet file (`split_dataset`). A split that
fits (its tensors within `train.cache_max_mb` and half the memory free, `tasks.model.memory`)
is read once, a column at a time, and kept in memory, and each epoch gathers shuffled batches
from it by index (what `model.fit` does with NumPy arrays). A larger split is streamed in
bounded memory: row groups in a seeded random order, rows shuffled
within a window of `train.shuffle_buffer` rows, read in blocks of whole batches whose pixel
bytes `tf.io.decode_raw` decodes in a parallel map, cut into batches, and prefetched.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from tasks.common.signature import TEXT
from tasks.model.memory import hold_in_memory
from tasks.model.reader import Batches, Split
from tasks.problems import problem_of

Inputs = np.ndarray | dict[str, np.ndarray]
BLOCK_BATCHES = 32  # at most this many batches read, gathered or decoded together, then cut apart
BLOCK_BYTES = 16 * 2**20  # and at most about this much input: a batch of photos is megabytes


def block_batches(row_bytes: float, batch_size: int) -> int:
    """Batches per block: BLOCK_BATCHES of small rows, fewer of photos, at least one."""
    return int(max(1, min(BLOCK_BATCHES, BLOCK_BYTES // max(1.0, row_bytes * batch_size))))


def _tensors(inputs: Inputs):
    if isinstance(inputs, dict):
        return {name: tf.convert_to_tensor(values) for name, values in inputs.items()}
    return tf.convert_to_tensor(inputs)


def _rows(inputs: Inputs) -> int:
    return len(next(iter(inputs.values())) if isinstance(inputs, dict) else inputs)


def _row_bytes(inputs: Inputs) -> int:
    """Bytes of one row of NumPy arrays or tensors (a text value counts as a pointer)."""
    arrays = inputs.values() if isinstance(inputs, dict) else [inputs]
    return sum(
        np.dtype(getattr(a.dtype, "as_numpy_dtype", a.dtype)).itemsize * int(np.prod(a.shape[1:]))
        for a in arrays
    )


def _order(rows: int, block: int, seed: int | None) -> tf.data.Dataset:
    """Row indices in blocks: in order, or a new permutation each pass (epoch) when seeded.

    One permutation tensor per pass (8 bytes a row), not a shuffle buffer of every index,
    which costs tf.data over a hundred bytes per row.
    """
    if seed is None:
        return tf.data.Dataset.range(rows).batch(block)
    keys = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    order = keys.map(
        lambda key: tf.random.experimental.stateless_shuffle(
            tf.range(rows, dtype=tf.int64), seed=tf.stack([key, tf.constant(seed, tf.int64)])
        )
    )
    return order.flat_map(lambda perm: tf.data.Dataset.from_tensor_slices(perm).batch(block))


def dataset(
    inputs: Inputs, labels: np.ndarray | None, batch_size: int, seed: int | None = None
) -> tf.data.Dataset:
    """Batched, prefetched dataset over in-memory arrays; shuffled each epoch when `seed` is given.

    Rows are gathered by index from one copy of the data, a block of batches at a time, then
    cut into batches: a few tensor ops per block, however small the batches, and no array is
    copied into the dataset graph.
    """
    data = _tensors(inputs) if labels is None else (_tensors(inputs), tf.convert_to_tensor(labels))
    block = batch_size * block_batches(_row_bytes(inputs), batch_size)
    blocks = tf.data.Dataset.zip(
        _order(_rows(inputs), block, seed), tf.data.Dataset.from_tensors(data).repeat()
    )
    gathered = blocks.map(
        lambda index, arrays: tf.nest.map_structure(lambda a: tf.gather(a, index), arrays),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    batches = gathered.rebatch(batch_size).apply(
        tf.data.experimental.assert_cardinality(math.ceil(_rows(inputs) / batch_size))
    )
    return _distributable(batches.prefetch(tf.data.AUTOTUNE))


def model_outputs(model, inputs: Inputs, batch_size: int = 256) -> np.ndarray:
    """What a model returns for raw inputs, row by row: class probabilities in the model's
    class order, or numbers (`tasks.problems` shapes them)."""
    return np.asarray(model.predict(dataset(inputs, None, batch_size), verbose=0))


def _distributable(data: tf.data.Dataset) -> tf.data.Dataset:
    """Shard by element across workers: a generator has no files to shard by."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return data.with_options(options)


def _signature(split: Split):
    labels = tf.TensorSpec([None], tf.dtypes.as_dtype(problem_of(split.meta).label_dtype))
    if split.meta["kind"] == "image":
        return tf.TensorSpec([], tf.string), labels
    inputs = {
        spec["name"]: tf.TensorSpec([None, 1], tf.string if spec["dtype"] == TEXT else tf.float32)
        for spec in split.signature["inputs"]
    }
    return inputs, labels


def stream(split: Split, batch_size: int, window: int, seed: int | None) -> tf.data.Dataset:
    """Stream a split from Parquet in bounded memory (see the module docstring)."""
    row_bytes = np.prod(split.shape) if split.meta["kind"] == "image" else 0
    blocks = Batches(split, batch_size, window, seed, block_batches(row_bytes, batch_size))
    data = tf.data.Dataset.from_generator(blocks, output_signature=_signature(split))
    if split.meta["kind"] == "image":
        shape = [-1, *split.shape]
        data = data.map(
            lambda pixels, labels: (tf.reshape(tf.io.decode_raw(pixels, tf.uint8), shape), labels),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    steps = math.ceil(split.rows / batch_size)
    data = data.rebatch(batch_size).apply(tf.data.experimental.assert_cardinality(steps))
    return _distributable(data.prefetch(tf.data.AUTOTUNE))


def held(split: Split) -> tuple[tf.Tensor | dict[str, tf.Tensor], tf.Tensor]:
    """The split as tensors, read and converted one column at a time (so the peak is the
    tensors plus one column, not the table, its arrays and the tensors together)."""
    inputs = {name: tf.convert_to_tensor(values) for name, values in split.arrays()}
    labels = tf.convert_to_tensor(split.read_labels())
    return inputs["pixels"] if split.meta["kind"] == "image" else inputs, labels


def split_dataset(
    split: Split,
    batch_size: int,
    cache_max_mb: float,
    window: int,
    seed: int | None = None,
    steady: bool = False,
) -> tuple[tf.data.Dataset, bool, str]:
    """The training dataset of a split, whether it is held in memory and why: when it fits both
    `train.cache_max_mb` and half the memory free now, or `cache_max_mb` alone when `steady`
    (`tasks.model.memory.hold_in_memory`)."""
    fits, reason = hold_in_memory(split, cache_max_mb, steady)
    if fits:
        return dataset(*held(split), batch_size, seed), True, reason
    return stream(split, batch_size, window, seed), False, reason
