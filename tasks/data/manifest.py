"""What one sample is: image manifests, sample hashes and raw tables read in batches.

Validate, prepare and `trainflow suite init` must agree on what a sample is and when two
samples are the same (a duplicate inside the raw data, or a leak between splits), so they all
ask this module. Two images are the same when their decoded pixels are (large JPEGs compared
at a reduced scale, `tasks.data.images.survey`); two table rows are the same when their feature
values are, whatever their labels say.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.data.images import UNREADABLE, survey, to_channels, workers
from tasks.data.layout import list_images, table_parts

IMAGE_COLUMNS = [
    "path",
    "label",
    "height",
    "width",
    "channels",
    "bytes",
    "decodable",
    "intensity",
    "hash",
]
IMAGE_NUMERIC = ["intensity"]
IMAGE_CATEGORICAL = ["size", "channels", "label"]
MAX_EXAMPLES = 5
READ_BUFFER = 1 << 20  # stream pages: a large row group is not decoded all at once


def image_row(path: Path, root: Path, label: str) -> dict:
    """Facts about one image file, decoded as prepare and serving decode it (`survey`).

    An unreadable file has `decodable` False and no size, channels or intensity (nulls, so only
    the decodability check reports it). Size and channels are the upright file's own, before
    any conversion to `data.channels`.
    """
    row = dict.fromkeys(IMAGE_COLUMNS)
    row.update(path=str(path.relative_to(root)), label=label, bytes=path.stat().st_size)
    row.update(decodable=False, hash=f"undecodable:{row['path']}")
    try:
        image, (height, width) = survey(path)
        digest = hashlib.blake2b(np.asarray(image).tobytes(), digest_size=8)
        digest.update(f"{image.mode}{image.size}".encode())
        row.update(height=height, width=width, channels=len(image.getbands()))
        gray = np.asarray(to_channels(image, 1))
        row.update(intensity=float(gray.mean()), hash=digest.hexdigest(), decodable=True)
    except UNREADABLE:
        pass
    return row


def manifest(images_root: str | os.PathLike[str]) -> pd.DataFrame:
    """One row per image file: what a data check, a drift check or a split needs to know.

    Files are decoded in threads (Pillow releases the GIL while decoding); a row is small,
    so memory follows the number of files, not their pixels.
    """
    root = Path(images_root)
    found = list_images(root)
    with ThreadPoolExecutor(workers()) as pool:
        rows = list(pool.map(lambda item: image_row(item[0], root, item[1]), found))
    return pd.DataFrame(rows, columns=IMAGE_COLUMNS)


def image_view(images: pd.DataFrame) -> pd.DataFrame:
    """The manifest as the columns drift is measured on: size, channels, intensity, label."""
    readable = images["decodable"].astype(bool)
    height, width = (images[side].astype("Int64").astype(str) for side in ("height", "width"))
    return pd.DataFrame(
        {
            "size": (height + "x" + width).where(readable),
            "channels": images["channels"].astype("Int64").astype(str).where(readable),
            "intensity": images["intensity"].astype(float),
            "label": images["label"].astype(str),
        }
    )


def row_hashes(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """A 64-bit hash per row over `columns`; numbers are hashed as float64 so that a column
    read as int64 from one file and float64 from another still hashes the same."""
    present = frame[[c for c in columns if c in frame.columns]]
    numeric = {
        c: present[c].astype("float64")
        for c in present.columns
        if pd.api.types.is_numeric_dtype(present[c]) and not pd.api.types.is_bool_dtype(present[c])
    }
    return pd.util.hash_pandas_object(present.assign(**numeric), index=False).to_numpy()


def table_batches(
    raw: str | os.PathLike[str], batch_rows: int, columns: list[str] | None = None
) -> Iterator[pd.DataFrame]:
    """The raw table as frames of at most `batch_rows` rows, part file by part file.

    Pages are streamed, so memory follows `batch_rows` even when a file is one huge row
    group. An empty part still yields one empty frame, so its columns and types are checked.
    """
    import pyarrow.parquet as pq

    for part in table_parts(raw):
        source = pq.ParquetFile(part, buffer_size=READ_BUFFER, pre_buffer=False)
        wanted = None if columns is None else [c for c in columns if c in source.schema.names]
        if source.metadata.num_rows == 0:
            empty = source.schema_arrow.empty_table()
            yield (empty if wanted is None else empty.select(wanted)).to_pandas()
            continue
        for batch in source.iter_batches(batch_size=batch_rows, columns=wanted):
            yield batch.to_pandas()


def duplicate_groups(keys: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Samples sorted by key, and each sorted sample's group number (one per distinct key).

    Sorting keeps memory at a few bytes per sample, however large the table.
    """
    order = np.lexsort((labels, keys))
    sorted_keys = keys[order]
    starts = np.ones(len(keys), dtype=bool)
    starts[1:] = sorted_keys[1:] != sorted_keys[:-1]
    return order, np.cumsum(starts) - 1


def duplicates(
    keys: np.ndarray, labels: np.ndarray, max_share: float, names: Sequence[str] | None = None
) -> dict:
    """How many samples repeat an earlier one, and whether that is within tolerance.

    Args:
        keys: one hash per sample (pixels for images, feature values for rows).
        labels: one label (hash) per sample, to count copies that disagree on the label.
        max_share: the tolerated share of repeated samples.
        names: how a user finds a sample (file paths); row numbers when None.
    """
    order, group = duplicate_groups(keys, labels)
    sizes = np.bincount(group)
    starts = np.flatnonzero(np.diff(group, prepend=-1))
    sorted_labels = labels[order]
    new_label = np.ones(len(keys), dtype=bool)
    new_label[1:] = (sorted_labels[1:] != sorted_labels[:-1]) | (group[1:] != group[:-1])
    labels_per_group = np.bincount(group, weights=new_label)
    shared = np.flatnonzero(sizes > 1)
    first_rows = np.minimum.reduceat(order, starts)[shared] if len(shared) else shared
    examples = [
        " = ".join(names[i] if names else f"row {i}" for i in np.sort(order[group == g])[:3])
        for g in shared[np.argsort(first_rows)][:MAX_EXAMPLES]
    ]
    repeated = len(keys) - len(sizes)
    share = repeated / len(keys) if len(keys) else 0.0
    return {
        "samples": len(keys),
        "duplicate_samples": int(repeated),
        "groups": len(shared),
        "conflicting_labels": int((labels_per_group[shared] > 1).sum()),
        "share": round(share, 6),
        "max_share": max_share,
        "success": share <= max_share,
        "examples": examples,
    }
