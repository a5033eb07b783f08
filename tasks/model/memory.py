"""Memory: what holding a split takes, and what the machine has free.

The train stage holds a prepared split in memory (fastest: each epoch gathers batches from
tensors) only when it fits comfortably, and streams it from Parquet otherwise
(`tasks.model.pipeline.split_dataset`). "Fits" is decided per run, from the split's estimated
size as tensors and the memory available to this process then, so the same params train in
memory on a large machine and streamed in a small container. Holding and streaming order the
rows differently, so where the order must not depend on the machine (`train.deterministic`,
or several workers that each decide) only `train.cache_max_mb` decides.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from tasks.common.signature import TEXT
from tasks.model.reader import MB, Split

TSTRING = 24  # bytes of one tf.string element (text up to 22 bytes is stored inside it)
PY_STRING = 56  # bytes of a short Python str, while a text column is converted
SHARE = 0.5  # of the available memory, at most, for one split held in memory
CGROUP = Path("/sys/fs/cgroup")


def column_sizes(meta) -> dict[str, int]:
    """Uncompressed bytes of each column over all row groups."""
    sizes: dict[str, int] = {}
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        for j in range(group.num_columns):
            name = group.column(j).path_in_schema.split(".")[0]
            sizes[name] = sizes.get(name, 0) + group.column(j).total_uncompressed_size
    return sizes


def split_mb(split: Split) -> float:
    """Estimated megabytes of holding `split` as tensors, plus converting its largest column
    (from the Parquet footer: each column's size and the number of rows)."""
    meta = pq.ParquetFile(split.path).metadata
    rows, sizes = meta.num_rows, column_sizes(meta)
    if split.meta["kind"] == "image":
        held = rows * (int(np.prod(split.shape)) + 4)
        return (held + 2 * sizes.get("pixels", 0)) / MB
    held, peaks = rows * 4.0, [0.0]  # int32 labels
    for spec in split.specs:
        size = sizes.get(spec["column"], 0)
        if spec["dtype"] == TEXT:  # longer text than a tf.string holds is stored apart
            length = size / max(rows, 1)
            held += rows * (TSTRING + (length if length > TSTRING - 2 else 0))
            peaks.append(size + rows * (PY_STRING + length))
        else:
            held += rows * 4
            peaks.append(size + rows * 12)
    return (held + max(peaks)) / MB


def available_mb() -> float:
    """Memory this process can still take: the machine's available memory, or what is left
    under the container's limit (cgroup v2) when that is less."""
    import psutil

    free = psutil.virtual_memory().available
    try:
        limit = (CGROUP / "memory.max").read_text().strip()
        if limit != "max":
            free = min(free, int(limit) - int((CGROUP / "memory.current").read_text()))
    except (OSError, ValueError):
        pass
    return max(free, 0) / MB


def hold_in_memory(split: Split, cache_max_mb: float, steady: bool = False) -> tuple[bool, str]:
    """Whether to hold the split in memory, and why, in words for the stage's output.

    `steady`: decide on `cache_max_mb` alone, whatever memory is free (the same decision on
    every machine, so the same data order); the reason then warns when memory looks short.
    """
    need, free = split_mb(split), available_mb()
    reason = f"{need:,.0f} MB needed, {free:,.0f} MB free, train.cache_max_mb {cache_max_mb:g}"
    if steady:
        if need <= cache_max_mb and need > SHARE * free:
            reason += " (more than half the free memory; lower train.cache_max_mb to stream)"
        return need <= cache_max_mb, reason
    return need <= cache_max_mb and need <= SHARE * free, reason
