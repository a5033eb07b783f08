"""Keras models built from params, with their preprocessing inside.

Model code uses Keras 3 APIs only (`keras.ops`, Keras layers) so the image model runs on any
Keras backend. The tabular model's category lookup (`StringLookup`) needs the TensorFlow backend.
The exported model takes raw inputs: pixels as decoded by `tasks.io.load_image`, or table
columns as read from CSV/Parquet (`table_inputs`).
"""

from __future__ import annotations

import re

import keras
import numpy as np
import pandas as pd
from keras import layers, ops

from tasks.params import CnnParams, MlpParams


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


def input_name(column: str) -> str:
    """A Keras-safe input name for a table column (used by training and serving alike)."""
    return "f_" + re.sub(r"\W+", "_", column).strip("_").lower()


def table_inputs(frame: pd.DataFrame, features: dict[str, list[str]]) -> dict[str, np.ndarray]:
    """Raw table columns as the model's named inputs: floats (NaN = missing) and strings."""
    inputs = {
        input_name(c): pd.to_numeric(frame[c], errors="coerce").to_numpy("float32").reshape(-1, 1)
        for c in features["numeric"]
    }
    for column in features["categorical"]:
        values = frame[column].astype("string").fillna("").to_numpy(dtype=object)
        inputs[input_name(column)] = values.reshape(-1, 1)
    return inputs


def image_inputs(frame: pd.DataFrame, shape: list[int]) -> np.ndarray:
    """Pixel bytes of a prepared split as a (n, height, width, channels) uint8 array."""
    return np.frombuffer(b"".join(frame["pixels"]), dtype=np.uint8).reshape(-1, *shape)


def head(x, units: list[int], dropout: float, n_classes: int):
    for width in units:
        x = layers.Dense(width, activation="relu")(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
    return layers.Dense(n_classes, activation="softmax", dtype="float32", name="probabilities")(x)


def cnn(shape: list[int], n_classes: int, p: CnnParams) -> keras.Model:
    """Conv blocks (conv + pooling while the image is at least 2x2), then a dense head."""
    inputs = keras.Input(shape=tuple(shape), name="image")
    x = layers.Rescaling(1 / 255)(inputs)
    size = min(shape[:2])
    for filters in p.filters:
        x = layers.Conv2D(filters, p.kernel_size, padding="same", activation="relu")(x)
        if size >= 2:
            x = layers.MaxPooling2D()(x)
            size //= 2
    x = layers.Flatten()(x)
    if p.dropout:
        x = layers.Dropout(p.dropout)(x)
    return keras.Model(inputs, head(x, [p.dense_units], p.dropout, n_classes), name="cnn")


def numeric_stats(train: pd.DataFrame, columns: list[str]) -> tuple[list[float], list[float]]:
    values = train[columns].apply(pd.to_numeric, errors="coerce").to_numpy("float64")
    mean = np.nan_to_num(np.nanmean(values, axis=0)) if len(columns) else np.zeros(0)
    std = np.nan_to_num(np.nanstd(values, axis=0)) if len(columns) else np.zeros(0)
    return mean.tolist(), np.where(std > 0, std, 1.0).tolist()


def mlp(train: pd.DataFrame, features: dict[str, list[str]], n_classes: int, p: MlpParams):
    """MLP over named raw inputs; normalisation and vocabularies fitted on `train` only."""
    numeric, categorical = features["numeric"], features["categorical"]
    inputs = {input_name(c): keras.Input(shape=(1,), name=input_name(c)) for c in numeric}
    parts = []
    if numeric:
        joined = layers.Concatenate()([inputs[input_name(c)] for c in numeric])
        parts.append(Standardize(*numeric_stats(train, numeric), name="standardize")(joined))
    for column in categorical:
        name = input_name(column)
        inputs[name] = keras.Input(shape=(1,), dtype="string", name=name)
        vocabulary = sorted(train[column].dropna().astype(str).unique().tolist()) or ["<none>"]
        lookup = layers.StringLookup(vocabulary=vocabulary, output_mode="one_hot")
        parts.append(layers.Reshape((len(vocabulary) + 1,))(lookup(inputs[name])))
    x = parts[0] if len(parts) == 1 else layers.Concatenate()(parts)
    return keras.Model(inputs, head(x, p.units, p.dropout, n_classes), name="mlp")
