"""Batch prediction with a registered model on raw input, exactly as evaluate scores it.

The model carries its preprocessing, and images go through the same `load_image` as in
prepare, so a registered model's predictions on raw rows equal the evaluate stage's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tasks.errors import DataValidationError, ParamsError
from tasks.io import IMAGE_SUFFIXES, TABLE_SUFFIXES, load_image, read_json, read_table_file
from tasks.models import table_inputs  # also registers the custom layers for safe-mode loading
from tasks.scoring import predictions


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def read_input(source: Path, meta: dict) -> tuple[pd.Series, object, pd.Series | None]:
    """(ids, model inputs, known labels or None) for a table file or an image folder."""
    if meta["kind"] == "image":
        files = image_files(source) if source.is_dir() else [source]
        if not files:
            raise DataValidationError(f"{source}: no images found")
        height, width, channels = meta["image_shape"]
        pixels = np.stack([load_image(p, (height, width), channels) for p in files])
        ids = pd.Series([str(p.relative_to(source)) if source.is_dir() else p.name for p in files])
        return ids, pixels, None
    if source.suffix.lower() not in TABLE_SUFFIXES:
        raise ParamsError(f"{source}: expected a CSV or Parquet file for a tabular model")
    frame = read_table_file(source)
    wanted = meta["features"]["numeric"] + meta["features"]["categorical"]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise DataValidationError(f"{source}: missing feature columns {missing}")
    labels = frame[meta["target"]].astype(str) if meta["target"] in frame.columns else None
    return pd.Series(frame.index), table_inputs(frame, meta["features"]), labels


def predict(model_dir: Path, source: Path) -> pd.DataFrame:
    """Labels and class probabilities for every input row or image."""
    import keras

    from tasks.pipeline import predict_proba

    meta = read_json(model_dir / "meta.json")
    model = keras.saving.load_model(model_dir / "model.keras", safe_mode=True)
    ids, inputs, labels = read_input(source, meta)
    proba = predict_proba(model, inputs)
    table = predictions(ids, np.zeros(len(ids), dtype=int), proba, meta["classes"])
    table = table.drop(columns="actual")
    if labels is not None:
        table.insert(1, "actual", labels.to_numpy())
    return table
