"""What one sample is: its 64-bit identity, and the id a person finds it by.

Validate (duplicates), prepare (splits) and evaluate (which test rows the champion never saw)
must agree on when two samples are the same, so they all hash through here. A table row is
identified by its feature values (numbers as float64, so 3 read as an integer from one file and
3.0 from another are one value), or by its key columns (`prepare.split_key`); an image by its
decoded pixels. A person finds a sample by its key, else by its source file and row number
(`customers.csv:17`, the 18th row after the header), or by its image or text file's path.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable

import numpy as np
import pandas as pd

KEY_SEPARATOR = "|"  # between the values of a key of several columns, in ids
ROW = "__row__"  # a prepared table row's position in the raw table: its `file:row` id


def is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def column_hash(values: pd.Series) -> np.ndarray:
    """A 64-bit hash per value; numbers as float64, so 3 (int) and 3.0 (float) are one value."""
    if is_numeric(values):
        return pd.util.hash_array(values.to_numpy(dtype="float64", na_value=np.nan))
    if pd.api.types.is_bool_dtype(values):
        values = values.astype(object)
    return pd.util.hash_pandas_object(values, index=False).to_numpy()


@functools.cache
def _weight(column: str) -> np.uint64:
    digest = pd.util.hash_array(np.array([column], dtype=object))[0]
    return np.uint64(digest | np.uint64(1))


def add_to_keys(keys: np.ndarray, column: str, hashed: np.ndarray) -> None:
    """Add one column's hashes to `row_keys` in place (a column at a time keeps memory low)."""
    keys += hashed * _weight(column)


def row_keys(hashes: dict[str, np.ndarray], rows: int) -> np.ndarray:
    """One hash per row over the given columns' hashes: equal rows have equal keys.

    A weighted sum (modulo 2**64), so a column can be taken out of the keys afterwards
    (`tasks.data.columns.ColumnProfile.contribution`) without hashing the rows again.
    """
    keys = np.zeros(rows, dtype=np.uint64)
    for column, hashed in hashes.items():
        add_to_keys(keys, column, hashed)
    return keys


def row_hashes(frame: pd.DataFrame, columns: Iterable[str]) -> np.ndarray:
    """A 64-bit key per row over `columns` (those the frame has), one column at a time."""
    keys = np.zeros(len(frame), dtype=np.uint64)
    for column in (c for c in columns if c in frame.columns):
        add_to_keys(keys, column, column_hash(frame[column]))
    return keys


def pixel_hashes(blobs: Iterable[bytes]) -> np.ndarray:
    """A 64-bit key per image of prepared pixel bytes: equal pixels, equal keys."""
    digests = [hashlib.blake2b(blob, digest_size=8).digest() for blob in blobs]
    return np.frombuffer(b"".join(digests), dtype=np.uint64).copy()


def key_ids(frame: pd.DataFrame, key: list[str]) -> pd.Series:
    """Ids of rows by their key columns: the value, or the values joined by `|`."""
    parts = [frame[column].astype("string").fillna("") for column in key]
    ids = parts[0]
    for part in parts[1:]:
        ids = ids + KEY_SEPARATOR + part
    return ids.astype(object).reset_index(drop=True)


def source_ids(rows: np.ndarray, sources: list[dict]) -> pd.Series:
    """Ids `file:row` of raw-table positions, from the files ingest read, in order; a file
    that is one sample (`"whole": true`, a text file) is named by its path alone.

    Args:
        rows: positions in the raw table (all its sources one after another).
        sources: `{"file": name, "rows": n}` per source file, as ingest recorded them.
    """
    ends = np.cumsum([source["rows"] for source in sources])
    part = np.searchsorted(ends, rows, side="right")
    starts = np.concatenate([[0], ends])[part]
    names = np.asarray([source["file"] for source in sources], dtype=object)[part]
    whole = np.asarray([bool(source.get("whole")) for source in sources])[part]
    return pd.Series(
        [
            name if one else f"{name}:{row}"
            for name, row, one in zip(names, rows - starts, whole, strict=True)
        ],
        dtype=object,
    )


def identity_columns(signature: dict) -> list[str]:
    """The prepared columns a model of `signature` sees: its pixels, or its input columns."""
    if signature["kind"] == "image":
        return ["pixels"]
    return [spec["column"] for spec in signature["inputs"]]


def prepared_identities(frame: pd.DataFrame, signature: dict) -> np.ndarray:
    """What a model of `signature` sees of each prepared row, as an identity. Equal for the
    same sample in any model's prepared splits of that signature, however those were split."""
    columns = identity_columns(signature)
    if columns == ["pixels"]:
        return pixel_hashes(frame["pixels"])
    return row_hashes(frame, columns)


def prepared_ids(frame: pd.DataFrame, meta: dict) -> pd.Series:
    """How a person finds each prepared row: its image path, its key, or its `file:row`."""
    if "path" in frame.columns:
        return frame["path"].reset_index(drop=True)
    key = (meta.get("split") or {}).get("key")
    if key:
        return key_ids(frame, key)
    if ROW in frame.columns and meta.get("sources"):
        return source_ids(frame[ROW].to_numpy(), meta["sources"])
    return pd.Series(range(len(frame)))
