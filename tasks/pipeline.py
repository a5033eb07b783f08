"""The tf.data input pipeline shared by training, evaluation and `trainflow predict`.

Keras cannot take string columns as NumPy object arrays, and tf.data is also where batching,
shuffling and prefetching belong, so every path that feeds the model goes through here.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

Inputs = np.ndarray | dict[str, np.ndarray]


def _tensors(inputs: Inputs):
    if isinstance(inputs, dict):
        return {name: tf.constant(values) for name, values in inputs.items()}
    return tf.constant(inputs)


def dataset(
    inputs: Inputs, labels: np.ndarray | None, batch_size: int, seed: int | None = None
) -> tf.data.Dataset:
    """Batched, prefetched dataset; shuffled each epoch when `seed` is given."""
    elements = _tensors(inputs) if labels is None else (_tensors(inputs), tf.constant(labels))
    data = tf.data.Dataset.from_tensor_slices(elements)
    if seed is not None:
        count = len(labels) if labels is not None else 1024
        data = data.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def predict_proba(model, inputs: Inputs, batch_size: int = 256) -> np.ndarray:
    """Class probabilities for raw inputs, in the model's class order."""
    return np.asarray(model.predict(dataset(inputs, None, batch_size), verbose=0))
