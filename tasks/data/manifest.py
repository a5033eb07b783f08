"""What one sample is: image manifests and sample hashes (and duplicates among them).

Validate, prepare and `trainflow suite init` must agree on what a sample is and when two
samples are the same (a duplicate inside the raw data, or a leak between splits), so they all
ask this module. Two images are the same when their decoded pixels are (large JPEGs compared
at a reduced scale, `tasks.data.images.survey`); two table rows are the same when their feature
values are, whatever their labels say.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.data.images import UNREADABLE, survey, to_channels, workers
from tasks.data.labels import raw_images

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
MANIFEST = "manifest.parquet"


def image_row(path: Path, root: Path, label: object) -> dict:
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
    found = raw_images(root)
    with ThreadPoolExecutor(workers()) as pool:
        rows = list(pool.map(lambda item: image_row(item[0], root, item[1]), found))
    return pd.DataFrame(rows, columns=IMAGE_COLUMNS)


def manifest_file(reports: str | os.PathLike[str]) -> Path:
    """Where validate keeps the manifest it checked, for prepare (a DVC output of validate)."""
    return Path(reports) / MANIFEST


def write_manifest(images: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """The manifest as Parquet, written to a temp name and renamed (an empty one for a table:
    DVC wants every output of validate to exist)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    images.reindex(columns=IMAGE_COLUMNS).to_parquet(tmp, index=False)
    os.replace(tmp, path)


def surveyed(images_root: str | os.PathLike[str], path: str | os.PathLike[str]) -> pd.DataFrame:
    """The manifest validate wrote at `path`, when it still lists the folder's files (their
    paths and sizes, no pixels decoded); else the folder surveyed anew (`manifest`).

    So each photo of a data version is decoded for its manifest once, by validate: DVC reruns
    validate whenever the raw data changes, and a prepare run by hand on other files than
    validate saw surveys them itself.
    """
    root, path = Path(images_root), Path(path)
    if path.is_file():
        images = pd.read_parquet(path)
        listed = [(str(p.relative_to(root)), p.stat().st_size) for p, _ in raw_images(root)]
        if listed == list(zip(images["path"], images["bytes"], strict=True)):
            return images
    return manifest(root)


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


def repeated_rows(keys: np.ndarray) -> np.ndarray:
    """Positions of the samples whose key another sample shares, in row order.

    One sort of the keys and one hash lookup: memory stays at about 17 bytes per sample
    beyond the keys, and the rest of the work is on the repeated samples only.
    """
    ordered = np.sort(keys)
    shared = pd.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    del ordered
    if not len(shared):
        return np.array([], dtype=np.int64)
    return np.flatnonzero(pd.Series(keys).isin(shared).to_numpy())


def duplicate_groups(keys: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Samples sorted by key (then label), and each sorted sample's group (one per key)."""
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
    rows = repeated_rows(keys)
    order, group = duplicate_groups(keys[rows], labels[rows])
    order = rows[order]  # positions in the whole table
    sizes = np.bincount(group)
    starts = np.flatnonzero(np.diff(group, prepend=-1))
    sorted_labels = labels[order]
    new_label = np.ones(len(order), dtype=bool)
    new_label[1:] = (sorted_labels[1:] != sorted_labels[:-1]) | (group[1:] != group[:-1])
    labels_per_group = np.bincount(group, weights=new_label)
    first_rows = np.minimum.reduceat(order, starts) if len(starts) else starts
    examples = [
        " = ".join(names[i] if names else f"row {i}" for i in np.sort(order[group == g])[:3])
        for g in np.argsort(first_rows)[:MAX_EXAMPLES]
    ]
    repeated = len(rows) - len(sizes)
    share = repeated / len(keys) if len(keys) else 0.0
    return {
        "samples": len(keys),
        "duplicate_samples": int(repeated),
        "groups": len(sizes),
        "conflicting_labels": int((labels_per_group > 1).sum()),
        "share": round(share, 6),
        "max_share": max_share,
        "success": share <= max_share,
        "examples": examples,
    }
