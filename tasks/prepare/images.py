"""The image side of prepare: split by the manifest, then decode each split as a stream.

The split is decided on the manifest alone (paths, labels, pixel hashes), so no pixels are
held for it; validate wrote it (`tasks.data.manifest.surveyed`), so no photo is decoded for it
again. Each split's files are then decoded by `tasks.data.images.load_images` (threads,
a chunk at a time) and written a row group at a time, so peak memory follows one row group,
not the number of photos. The training split is written in a seeded random order: the
streamed reader shuffles row groups and a window of rows, and must not meet whole classes in a
row.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tasks.common.errors import DataValidationError
from tasks.common.params import DataParams
from tasks.data.columns import fold
from tasks.data.images import load_images
from tasks.data.manifest import surveyed
from tasks.problems import Problem

LABEL = "label"
ROW_GROUP_BYTES = 8 * 2**20  # pixels per row group: what writing (and streaming) holds
MAX_EXAMPLES = 5


def image_frame(
    images_root: Path, data: DataParams, surveyed_at: Path
) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """(path, label) of every image, the prepared metadata, and the manifest (validate's,
    read from `surveyed_at`: its pixel hashes decide the splits; `surveyed`).

    Raises:
        DataValidationError when a file cannot be decoded (validation names them too; this
        guards a prepare run by hand on data that was never validated).
    """
    images = surveyed(images_root, surveyed_at)
    if data.normalize_labels:  # "Cat " and "cat" are one class (validate counts them so too)
        images["label"] = fold(images["label"]).astype(str)
    broken = images.loc[~images["decodable"].astype(bool), "path"].tolist()
    if broken:
        raise DataValidationError(
            f"prepare: {len(broken)} files under {images_root} are not readable images, "
            f"e.g. {broken[:MAX_EXAMPLES]}"
        )
    frame = images[["path", LABEL]].reset_index(drop=True)
    shape = [*data.image_size, data.channels]
    meta = {"target": LABEL, "image_shape": shape, "resize": data.resize}
    return frame, meta, images


def labelled_rows(
    frame: pd.DataFrame, images: pd.DataFrame, kind: Problem, meta: dict
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The images that have a target, it encoded as the problem kind stores it (a class
    name, or a number), and the manifest's rows of the same images.

    An image without a target (an empty cell of a labels table) is dropped, as a table row
    without one is; validate held their share to `validate.max_null_target`.
    """
    present = frame[LABEL].notna().to_numpy()
    meta["null_targets_dropped"] = int((~present).sum())
    frame = frame.loc[present].reset_index(drop=True)
    frame[LABEL] = kind.encode(frame[LABEL], LABEL).to_numpy()
    return frame, images.loc[present].reset_index(drop=True)


def split_schema(labels: pd.Series) -> pa.Schema:
    """path, label (a number, or a class name) and the decoded pixels."""
    label = pa.float64() if pd.api.types.is_float_dtype(labels) else pa.string()
    return pa.schema([("path", pa.string()), (LABEL, label), ("pixels", pa.binary())])


def training_order(rows: np.ndarray, seed: int) -> np.ndarray:
    """The training split's rows in a seeded random order (see the module docstring)."""
    return np.random.default_rng(seed).permutation(rows)


def write_split(path: Path, images_root: Path, rows: pd.DataFrame, data: DataParams) -> int:
    """Decode `rows` (path, label) and write them as Parquet, one row group at a time.

    Returns:
        The number of row groups written.
    """
    per_group = max(1, ROW_GROUP_BYTES // (int(np.prod(data.image_size)) * data.channels))
    files = (images_root / name for name in rows["path"])
    pixels = load_images(files, tuple(data.image_size), data.channels, data.resize)
    groups = 0
    schema = split_schema(rows[LABEL])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, len(rows), per_group):
            part = rows.iloc[start : start + per_group]
            blobs = [array.tobytes() for array in islice(pixels, len(part))]
            columns = {"path": part["path"].tolist(), LABEL: part[LABEL].tolist(), "pixels": blobs}
            writer.write_table(pa.table(columns, schema=schema))
            groups += 1
    return groups
