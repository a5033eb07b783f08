"""Keras models built from params, with their preprocessing inside.

Model code uses Keras 3 APIs only (`keras.ops`, Keras layers) so the image model runs on any
Keras backend. The tabular model's category lookup (`StringLookup`) needs the TensorFlow backend.
The exported model takes raw inputs: pixels as decoded by `tasks.data.images.load_image`, or
table columns as read from CSV/Parquet (free text as raw strings, `tasks.model.text`), named
as its signature says (`tasks.common.signature`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
from keras import layers, ops

from tasks.common.params import CnnParams, MlpParams, TextParams, TrainParams
from tasks.common.signature import IMAGE_INPUT, category_inputs, free_text_inputs, numeric_inputs
from tasks.model.text import FoldText, text_features


@keras.saving.register_keras_serializable(package="trainflow")
class Standardize(layers.Layer):
    """(x - mean) / std with missing values (NaN) imputed to the training mean."""

    def __init__(self, mean: list[float], std: list[float], **kwargs):
        super().__init__(**kwargs)
        self.mean, self.std = list(mean), list(std)

    def call(self, inputs):
        mean = ops.convert_to_tensor(self.mean, dtype=self.compute_dtype)
        std = ops.convert_to_tensor(self.std, dtype=self.compute_dtype)
        scaled = (ops.cast(inputs, self.compute_dtype) - mean) / std
        return ops.where(ops.isnan(scaled), ops.zeros_like(scaled), scaled)

    def get_config(self) -> dict:
        return {**super().get_config(), "mean": self.mean, "std": self.std}


@dataclass(frozen=True)
class TableStats:
    """What the tabular model's preprocessing is fitted to: training-split statistics."""

    mean: list[float]
    std: list[float]
    vocabularies: dict[str, list[str]]
    texts: dict[str, dict] = field(default_factory=dict)  # `tasks.model.text.fit_text` per column


def _regularizer(l2: float):
    return keras.regularizers.L2(l2) if l2 else None


def head(x, units: list[int], dropout: float, output, l2: float, batch_norm=False):
    """Dense layers, then the problem kind's output layer (`tasks.problems`): float32
    softmax probabilities, or a number, stable under mixed precision either way."""
    for width in units:
        x = layers.Dense(width, use_bias=not batch_norm, kernel_regularizer=_regularizer(l2))(x)
        if batch_norm:
            x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
    return output(x)


def conv_block(x, filters: int, p: CnnParams, l2: float, pool: bool):
    """Conv (+ batch norm) + ReLU, then pooling and dropout as configured."""
    x = layers.Conv2D(
        filters,
        p.kernel_size,
        padding="same",
        use_bias=not p.batch_norm,
        kernel_regularizer=_regularizer(l2),
    )(x)
    if p.batch_norm:
        x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    if pool and p.pooling != "none":
        x = (layers.MaxPooling2D if p.pooling == "max" else layers.AveragePooling2D)(2)(x)
    return layers.Dropout(p.block_dropout)(x) if p.block_dropout else x


def cnn_features(x, shape: list[int], p: CnnParams, l2: float = 0.0):
    """Rescaled pixels through conv blocks (pooling while the image is at least 2x2), flat."""
    x = layers.Rescaling(1 / 255)(x)
    size = min(shape[:2])
    for filters in p.filters:
        x = conv_block(x, filters, p, l2, pool=size >= 2)
        size = size // 2 if p.pooling != "none" else size
    x = layers.Flatten()(x)
    return layers.Dropout(p.dropout)(x) if p.dropout else x


def cnn(shape: list[int], output, p: CnnParams, l2: float = 0.0) -> keras.Model:
    """Conv blocks, then a dense head and `output` (the problem kind's last layer).

    Takes uint8 pixels and rescales them inside the model, so serving needs no preprocessing.
    """
    inputs = keras.Input(shape=tuple(shape), name=IMAGE_INPUT)
    outputs = head(cnn_features(inputs, shape, p, l2), [p.dense_units], p.dropout, output, l2)
    return keras.Model(inputs, outputs, name="cnn")


def mlp(
    stats: TableStats,
    signature: dict,
    output,
    p: MlpParams,
    l2: float = 0.0,
    text_p: TextParams | None = None,
) -> keras.Model:
    """MLP over named raw inputs; normalisation, vocabularies and text vectorisation come
    from the training split."""
    numeric, text = numeric_inputs(signature), category_inputs(signature)
    inputs = {s["name"]: keras.Input(shape=(1,), name=s["name"]) for s in numeric}
    parts = []
    if numeric:
        joined = layers.Concatenate()([inputs[s["name"]] for s in numeric])
        parts.append(Standardize(stats.mean, stats.std, name="standardize")(joined))
    for spec in text:
        name = spec["name"]
        inputs[name] = keras.Input(shape=(1,), dtype="string", name=name)
        text = FoldText()(inputs[name]) if spec.get("normalize") else inputs[name]
        vocabulary = stats.vocabularies[spec["column"]] or ["<none>"]
        lookup = layers.StringLookup(vocabulary=vocabulary, output_mode="one_hot")
        parts.append(layers.Reshape((len(vocabulary) + 1,))(lookup(text)))
    for spec in free_text_inputs(signature):
        inputs[spec["name"]] = keras.Input(shape=(1,), dtype="string", name=spec["name"])
        fitted = stats.texts[spec["column"]]
        parts.append(text_features(inputs[spec["name"]], spec, fitted, text_p or TextParams()))
    x = parts[0] if len(parts) == 1 else layers.Concatenate()(parts)
    outputs = head(x, p.units, p.dropout, output, l2, p.batch_norm)
    return keras.Model(inputs, outputs, name="mlp")


def learning_rate(
    p: TrainParams, steps_per_epoch: int, rate: float | None = None, epochs: int | None = None
):
    """A float, or a schedule that decays per step: cosine to 0 over all epochs, or
    exponential by `decay_rate` per epoch. `rate` and `epochs` are a phase's own (fine-tuning
    starts lower and runs its own number of epochs); the train params' by default."""
    rate = p.learning_rate if rate is None else rate
    epochs = p.epochs if epochs is None else epochs
    if p.schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(rate, epochs * steps_per_epoch)
    if p.schedule == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(
            rate, decay_steps=steps_per_epoch, decay_rate=p.decay_rate
        )
    return rate


def compile_model(
    model: keras.Model,
    p: TrainParams,
    steps_per_epoch: int,
    jit: bool,
    objective: dict,
    rate: float | None = None,
    epochs: int | None = None,
) -> None:
    """Optimizer and schedule from params, `objective` (loss and metrics) from the problem
    kind; Keras adds loss scaling under mixed_float16.

    Compiling again (the next training phase) takes a fresh optimizer for the weights that
    are trainable now.
    """
    schedule = learning_rate(p, steps_per_epoch, rate, epochs)
    optimizer = keras.optimizers.get(
        {"class_name": p.optimizer, "config": {"learning_rate": schedule}}
    )
    model.compile(optimizer=optimizer, jit_compile=jit, **objective)
