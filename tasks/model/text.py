"""Text preprocessing that travels inside the model, so serving needs none.

Like Keras' `StringLookup` it needs the TensorFlow backend (Keras has no string ops); it
imports TensorFlow only when it runs, so the image models stay backend-agnostic.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="trainflow")
class FoldText(keras.layers.Layer):
    """Trim surrounding ASCII whitespace and lower-case, as prepare folds categories
    (`tasks.data.columns.fold`, `data.normalize_categories`): "Cat " meets the vocabulary as
    "cat" at serving time too."""

    def call(self, inputs):
        import tensorflow as tf

        return tf.strings.lower(tf.strings.strip(inputs), encoding="utf-8")

    def compute_output_shape(self, input_shape):
        return input_shape
