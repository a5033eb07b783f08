"""Text preprocessing that travels inside the model, so serving takes raw strings.

Categories may be folded (`FoldText`); free text is split into words and n-grams and turned
into numbers by Keras's `TextVectorization`, fitted (`adapt`) on the training split only: its
vocabulary, and for tf_idf the inverse document frequencies. What was fitted is kept as plain
lists (`fit_text`), so the model is built from them (`text_features`) like the rest of the
table model's preprocessing, and a rebuild in another precision needs no second pass.

Like Keras' `StringLookup` these need the TensorFlow backend (Keras has no string ops); they
import TensorFlow only when they run, so the image models stay backend-agnostic.
"""

from __future__ import annotations

from collections.abc import Iterable

import keras
import numpy as np
from keras import layers

from tasks.common.params import TextParams

EMBEDDING = "embedding"  # train.text.output_mode that learns word vectors ("int" tokens in)


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


def vectorizer(p: TextParams, fitted: dict | None = None, name: str | None = None):
    """A TextVectorization layer as `train.text` configures it; `fitted` is `fit_text`'s."""
    embedding = p.output_mode == EMBEDDING
    options = {
        "max_tokens": p.max_tokens,
        "ngrams": p.ngrams if p.ngrams > 1 else None,
        "standardize": None if p.standardize == "none" else p.standardize,
        "output_mode": "int" if embedding else p.output_mode,
        "output_sequence_length": p.sequence_length if embedding else None,
        "name": name,
    }
    if fitted is not None:
        options["vocabulary"] = fitted["vocabulary"]
        if p.output_mode == "tf_idf":
            options["idf_weights"] = np.asarray(fitted["idf_weights"], dtype="float32")
    return layers.TextVectorization(**options)


def fit_text(batches: Iterable[np.ndarray], p: TextParams) -> dict:
    """Vocabulary (and idf weights) of one text column, adapted on its training values.

    Args:
        batches: the training split's values of the column, as 1-D arrays of strings.
    """
    import tensorflow as tf

    layer = vectorizer(p)
    data = tf.data.Dataset.from_generator(
        lambda: iter(batches), output_signature=tf.TensorSpec([None], tf.string)
    )
    layer.adapt(data)
    fitted = {"vocabulary": [str(token) for token in layer.get_vocabulary()]}
    if p.output_mode == "tf_idf":  # Keras keeps them on its inner StringLookup only
        fitted["idf_weights"] = np.asarray(layer._lookup_layer.idf_weights_const).tolist()
    return fitted


def text_features(inputs, spec: dict, fitted: dict, p: TextParams):
    """Raw strings (rows, 1) to a vector per row: folded if the signature says so, then
    vectorised; embedding: word vectors averaged over the sequence (padding included, so an
    empty text is a vector too, never a division by zero)."""
    x = FoldText()(inputs) if spec.get("normalize") else inputs
    x = vectorizer(p, fitted, name=f"text_{spec['name']}")(x)  # (rows, 1, width)
    embedding = p.output_mode == EMBEDDING
    x = layers.Reshape((p.sequence_length if embedding else len(fitted["vocabulary"]),))(x)
    if embedding:
        x = layers.Embedding(len(fitted["vocabulary"]), p.embedding_dim)(x)
        x = layers.GlobalAveragePooling1D()(x)
    return layers.Dropout(p.dropout)(x) if p.dropout else x
