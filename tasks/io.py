"""Small file helpers shared by the stages: atomic writes and the raw data layout.

Raw data (the ingest stage's output) has one of two layouts, which every later stage and
`trainflow predict` read through this module:

- images: `<raw>/images/<class>/<file>` (the `image_dataset_from_directory` layout);
- tables: `<raw>/table/part-NNNNN.parquet`, one part per source file.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

Kind = Literal["image", "table"]
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif"})
TABLE_SUFFIXES = frozenset({".csv", ".parquet", ".pq"})


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write JSON to a temp file next to `path`, then rename: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)


def read_json(path: str | os.PathLike[str]) -> Any:
    return json.loads(Path(path).read_text())


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh temp directory that replaces `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*"):  # left by a killed run: no `except` ran
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield tmp
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if err.filename is None:  # a failed write() names no file: name the output it was for
            raise OSError(err.errno, err.strerror, str(path)) from err
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)


def raw_kind(raw: str | os.PathLike[str]) -> Kind:
    """Which layout the ingested data has."""
    return "image" if (Path(raw) / "images").is_dir() else "table"


def read_table_file(path: str | os.PathLike[str]) -> pd.DataFrame:
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return pd.read_csv(path)
    return pd.read_parquet(path)


def table_parts(raw: str | os.PathLike[str]) -> list[Path]:
    return sorted((Path(raw) / "table").glob("part-*.parquet"))


def read_raw_table(raw: str | os.PathLike[str]) -> pd.DataFrame:
    parts = [pd.read_parquet(part) for part in table_parts(raw)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def list_images(root: str | os.PathLike[str]) -> list[tuple[Path, str]]:
    """Every image under `root/<class>/`, as (path, class), in a stable order."""
    root = Path(root)
    return [
        (path, class_dir.name)
        for class_dir in sorted(p for p in root.iterdir() if p.is_dir())
        for path in sorted(class_dir.rglob("*"))
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()
    ]


def load_image(path: str | os.PathLike[str], size: tuple[int, int], channels: int) -> np.ndarray:
    """Decode and resize one image to uint8 (height, width, channels).

    The single resize used by `prepare` and by `trainflow predict`, so training and serving
    see identical pixels; everything after this (rescaling) lives inside the model.
    """
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("L" if channels == 1 else "RGB")
        if image.size != (size[1], size[0]):
            image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        pixels = np.asarray(image, dtype=np.uint8)
    return pixels.reshape(size[0], size[1], channels)
