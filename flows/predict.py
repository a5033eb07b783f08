"""Batch prediction with a registered model on raw input, exactly as evaluate scores it.

The model carries its preprocessing, and images go through the same `load_image` as in
prepare (with the resize the model's signature records), so a registered model's predictions
on raw rows equal the evaluate stage's. The input is checked against the model's signature
first: a missing or mistyped column is named.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tasks.common.brief import capped, clip, few
from tasks.common.errors import DataValidationError, ParamsError
from tasks.common.io import read_json
from tasks.common.samples import key_ids, source_ids
from tasks.common.signature import describe, image_resize, numeric_inputs, signature_of
from tasks.data.images import load_images
from tasks.data.layout import TABLE_SUFFIXES, image_files, read_table_file
from tasks.model.inputs import table_inputs
from tasks.problems import problem_of

MAX_EXAMPLES = 3


def read_images(source: Path, signature: dict) -> tuple[pd.Series, np.ndarray]:
    """Every image of a folder (or one file), decoded and resized as in prepare."""
    files = image_files(source) if source.is_dir() else [source]
    if not files:
        raise DataValidationError(f"{source}: no images found")
    height, width, channels = signature["inputs"][0]["shape"]
    pixels = load_images(files, (height, width), channels, image_resize(signature))
    ids = pd.Series([str(p.relative_to(source)) if source.is_dir() else p.name for p in files])
    return ids, np.stack(list(pixels))


def mistyped(frame: pd.DataFrame, signature: dict) -> list[str]:
    """Numeric inputs whose column holds values that are not numbers, with examples."""
    found = []
    for spec in numeric_inputs(signature):
        values = frame[spec["column"]]
        bad = values.notna() & pd.to_numeric(values, errors="coerce").isna()
        if bad.any():
            shown = values[bad].head(MAX_EXAMPLES).items()
            examples = [f"row {i} ({clip(repr(v))})" for i, v in shown]
            found.append(
                f"column '{clip(spec['column'], 60)}' must hold numbers: {int(bad.sum())} values"
                f" do not, e.g. {', '.join(examples)}"
            )
    return found


def check_table(frame: pd.DataFrame, signature: dict, source: Path) -> None:
    """Raise DataValidationError naming the missing or mistyped columns (a few, and how many
    more)."""
    missing = [s["column"] for s in signature["inputs"] if s["column"] not in frame.columns]
    if missing:
        problems = [f"missing columns {few(map(repr, missing))}"]
    else:
        problems = capped(mistyped(frame, signature), "mistyped columns")
    if problems:
        lines = "\n".join(f"  - {line}" for line in problems)
        raise DataValidationError(
            f"{source} does not fit the model, which takes {describe(signature)}:\n{lines}"
        )


def row_ids(frame: pd.DataFrame, meta: dict, source: Path) -> pd.Series:
    """Each row's id as evaluate names it: its key (`prepare.split_key`) when the input has
    the key columns, else `file:row` (row 0 is the first after the header)."""
    key = (meta.get("split") or {}).get("key")
    if key and set(key) <= set(frame.columns):
        return key_ids(frame, key)
    return source_ids(np.arange(len(frame)), [{"file": source.name, "rows": len(frame)}])


def read_input(source: Path, meta: dict) -> tuple[pd.Series, object, pd.Series | None]:
    """(ids, model inputs, known labels or None) for a table file or an image folder."""
    signature = signature_of(meta)
    if signature["kind"] == "image":
        ids, pixels = read_images(source, signature)
        return ids, pixels, None
    if source.suffix.lower() not in TABLE_SUFFIXES:
        raise ParamsError(f"{source}: expected a CSV or Parquet file for a tabular model")
    frame = read_table_file(source)
    check_table(frame, signature, source)
    target = signature["target"]
    labels = frame[target] if target in frame.columns else None
    return row_ids(frame, meta, source), table_inputs(frame, signature), labels


def predict(model_dir: Path, source: Path) -> pd.DataFrame:
    """Predictions for every input row or image: the class and its probabilities, or the
    number (`tasks.problems`), with the actual target when the input has it."""
    import keras

    import tasks.model.build  # noqa: F401  (registers the custom layers for safe-mode loading)
    from tasks.model.pipeline import model_outputs

    meta = read_json(model_dir / "meta.json")
    problem = problem_of(meta)
    ids, inputs, labels = read_input(source, meta)
    model = keras.saving.load_model(model_dir / "model.keras", safe_mode=True)
    table = problem.predictions(ids, None, problem.shaped(model_outputs(model, inputs)), meta)
    if labels is not None:
        table.insert(1, "actual", problem.encode(labels, meta["target"]).to_numpy())
    return table
