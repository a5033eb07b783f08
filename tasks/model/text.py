"""Text preprocessing that travels inside the model, so serving needs none."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="trainflow")
class FoldText(keras.layers.Layer):
    """Trim surrounding ASCII whitespace and lower-case, as prepare folds categories
    (`tasks.data.columns.fold`, `data.normalize_categories`): "Cat " meets the vocabulary as
    "cat" at serving time too."""

    def call(self, inputs):
        return tf.strings.lower(tf.strings.strip(inputs), encoding="utf-8")

    def compute_output_shape(self, input_shape):
        return input_shape
