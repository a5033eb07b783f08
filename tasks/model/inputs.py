"""Prepared rows as the model's inputs, named and typed as its signature says.

Evaluate and `trainflow predict` feed a model through here (pandas in, NumPy out); training
reads Parquet through `tasks.model.reader`, which follows the same signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.common.io import read_json
from tasks.common.signature import TEXT, signature_of
from tasks.problems import problem_of


def table_inputs(frame: pd.DataFrame, signature: dict) -> dict[str, np.ndarray]:
    """Raw table columns as the model's named inputs: floats (NaN = missing) and strings."""
    inputs = {}
    for spec in signature["inputs"]:
        column = frame[spec["column"]]
        if spec["dtype"] == TEXT:
            values = column.astype("string").fillna("").to_numpy(dtype=object)
        else:
            values = pd.to_numeric(column, errors="coerce").to_numpy("float32")
        inputs[spec["name"]] = values.reshape(-1, 1)
    return inputs


def image_inputs(frame: pd.DataFrame, shape: list[int]) -> np.ndarray:
    """Pixel bytes of a prepared split as a (n, height, width, channels) uint8 array."""
    return np.frombuffer(b"".join(frame["pixels"]), dtype=np.uint8).reshape(-1, *shape)


def model_inputs(frame: pd.DataFrame, signature: dict):
    """A prepared frame (pixel bytes, or raw columns) as what a model of `signature` takes."""
    if signature["kind"] == "image":
        return image_inputs(frame, signature["inputs"][0]["shape"])
    return table_inputs(frame, signature)


@dataclass
class Splits:
    """Prepared splits as frames, with the prepared metadata and its signature."""

    meta: dict
    frames: dict[str, pd.DataFrame]

    @property
    def signature(self) -> dict:
        return signature_of(self.meta)

    def inputs(self, split: str, signature: dict | None = None):
        """The split as inputs of a model of `signature` (default: the prepared one)."""
        return model_inputs(self.frames[split], signature or self.signature)

    def labels(self, split: str) -> np.ndarray:
        """The split's target as the model is scored on: class indices, or numbers."""
        import pyarrow as pa

        target = self.meta["target"]
        column = pa.array(self.frames[split][target])
        return problem_of(self.meta).labels(column, self.meta, f"the {split} split")


def load_splits(prepared: str | Path, names: tuple[str, ...] = ("train", "val")) -> Splits:
    prepared = Path(prepared)
    frames = {name: pd.read_parquet(prepared / f"{name}.parquet") for name in names}
    return Splits(meta=read_json(prepared / "meta.json"), frames=frames)
