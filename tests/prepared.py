"""Tiny prepared splits in the prepare stage's layout, for the train-stage tests.

Images are scikit-learn's bundled digits (learnable in a few epochs); the table mixes numeric
columns with missing values and a category column, with a label that depends on both;
the reviews mix a free-text column with a number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tasks.common.io import write_json

SPLITS = ("train", "val", "test")


def _write(folder: Path, frames: dict[str, pd.DataFrame], meta: dict, row_group: int | None):
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False, row_group_size=row_group)
    meta["rows"] = {name: len(frame) for name, frame in frames.items()}
    write_json(folder / "meta.json", meta)
    return meta


def digits(
    folder: Path, rows: tuple[int, int, int] = (300, 100, 100), row_group: int | None = None
) -> dict:
    """8x8 grayscale digits as uint8 pixel bytes, 10 classes; `rows` per split."""
    from sklearn.datasets import load_digits

    data = load_digits()
    pixels = np.clip(data.images * 16, 0, 255).astype(np.uint8)
    repeats = -(-sum(rows) // len(pixels))
    pixels, labels = np.tile(pixels, (repeats, 1, 1)), np.tile(data.target, repeats)
    frames, start = {}, 0
    for name, count in zip(SPLITS, rows, strict=True):
        chunk = slice(start, start + count)
        frames[name] = pd.DataFrame(
            {
                "path": [f"{label}/{i}.png" for i, label in enumerate(labels[chunk], start)],
                "label": labels[chunk].astype(str),
                "pixels": [image.reshape(8, 8, 1).tobytes() for image in pixels[chunk]],
            }
        )
        start += count
    meta = {"target": "label", "image_shape": [8, 8, 1], "null_targets_dropped": 0}
    meta |= {"kind": "image", "classes": [str(d) for d in range(10)]}
    return _write(folder, frames, meta, row_group)


def table(
    folder: Path, rows: tuple[int, int, int] = (300, 100, 100), row_group: int | None = None
) -> dict:
    """Two numeric columns (one with NaN) and a colour column (with nulls); label yes/no."""
    rng = np.random.default_rng(0)
    frames = {}
    for name, count in zip(SPLITS, rows, strict=True):
        size = rng.normal(3.0, 2.0, count)
        weight = rng.integers(0, 100, count)
        color = rng.choice(["red", "green", "blue"], count).astype(object)
        label = np.where((size > 3.0) ^ (color == "red"), "yes", "no")
        size[::7] = np.nan
        color[::11] = None
        frames[name] = pd.DataFrame(
            {"size": size, "weight": weight, "color": pd.array(color, dtype="string")}
        )
        frames[name]["y"] = label
    meta = {"target": "y", "null_targets_dropped": 0, "kind": "table", "classes": ["no", "yes"]}
    meta["features"] = {"numeric": ["size", "weight"], "categorical": ["color"]}
    return _write(folder, frames, meta, row_group)


def reviews(
    folder: Path, rows: tuple[int, int, int] = (300, 100, 100), row_group: int | None = None
) -> dict:
    """A free-text review column beside a number of stars; label by the review's words."""
    rng = np.random.default_rng(1)
    good, bad, filler = (
        ["great", "lovely", "works"],
        ["broken", "awful", "late"],
        ["the", "a", "it"],
    )
    frames = {}
    for name, count in zip(SPLITS, rows, strict=True):
        positive = rng.random(count) < 0.5
        words = [
            " ".join(rng.choice((good if p else bad) + filler, rng.integers(3, 9)))
            for p in positive
        ]
        frames[name] = pd.DataFrame(
            {"review": pd.array(words, dtype="string"), "stars": rng.integers(1, 6, count)}
        )
        frames[name]["y"] = np.where(positive, "yes", "no")
    meta = {"target": "y", "null_targets_dropped": 0, "kind": "table", "classes": ["no", "yes"]}
    meta["features"] = {"numeric": ["stars"], "categorical": [], "text": ["review"]}
    return _write(folder, frames, meta, row_group)


def probabilities(classes: int):
    """The classification output layer of a model with `classes` classes."""
    from tasks.problems import problem

    return problem("classification").output_layer({"classes": [str(i) for i in range(classes)]})


# What `tasks.problems` compiles a classifier with.
CLASSIFY = {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}
