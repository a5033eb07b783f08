"""Raw tables on disk: written by ingest in row groups, read back a few row groups at a time.

`trainflow suite init` (and validate, for checks that need whole columns) read the raw table in
batches of at most `validate.batch_mb` megabytes of column data, so memory stays bounded
however large the table; validate reads it in slabs (`tasks.data.slabs`). Ingest writes each
part file in row groups of about RAW_GROUP_MB, so a batch is whole row groups, which pyarrow
decodes column by column in parallel (several times faster than streaming pages). A row group
larger than a batch (a part written by other means) is streamed instead, page by page.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from tasks.data.layout import table_parts

MB = 1 << 20
RAW_GROUP_MB = 16
READ_BUFFER = 1 << 20  # streamed pages: a large row group is not decoded all at once


def write_part(frame: pd.DataFrame, path: Path) -> None:
    """One raw part file, in row groups of about RAW_GROUP_MB that a batch gathers whole."""
    per_row = frame.memory_usage(deep=True, index=False).sum() / max(len(frame), 1)
    rows = int(min(max(RAW_GROUP_MB * MB / max(per_row, 1), 1_000), 1_000_000))
    frame.to_parquet(path, index=False, row_group_size=rows)


def table_rows(raw: str | os.PathLike[str]) -> int:
    """Rows of the raw table, from the Parquet footers, before reading any data."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(part).metadata.num_rows for part in table_parts(raw))


def runs(sizes: list[float], budget: float) -> Iterator[list[int]]:
    """Consecutive row groups gathered while their sizes add up to at most `budget`."""
    run, total = [], 0.0
    for group, size in enumerate(sizes):
        if run and total + size > budget:
            yield run
            run, total = [], 0.0
        run, total = [*run, group], total + size
    if run:
        yield run


def group_sizes(meta, columns: list[str] | None) -> list[float]:
    """Uncompressed megabytes of each row group (of `columns` only, when given)."""
    sizes = []
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        chunks = [group.column(j) for j in range(group.num_columns)]
        wanted = [c for c in chunks if columns is None or c.path_in_schema in columns]
        sizes.append(sum(c.total_uncompressed_size for c in wanted) / MB)
    return sizes


def table_batches(
    raw: str | os.PathLike[str], batch_mb: float, columns: list[str] | None = None
) -> Iterator[pd.DataFrame]:
    """The raw table as frames of at most about `batch_mb` of column data, part by part.

    An empty part still yields one empty frame, so its columns and types are checked.
    """
    import pyarrow.parquet as pq

    for part in table_parts(raw):
        source = pq.ParquetFile(part, pre_buffer=False)
        wanted = None if columns is None else [c for c in columns if c in source.schema.names]
        meta = source.metadata
        if meta.num_rows == 0:
            empty = source.schema_arrow.empty_table()
            yield (empty if wanted is None else empty.select(wanted)).to_pandas()
            continue
        sizes = group_sizes(meta, wanted)
        for run in runs(sizes, batch_mb):
            if sizes[run[0]] > batch_mb:
                rows = meta.row_group(run[0]).num_rows
                per_batch = max(1, int(rows * batch_mb / sizes[run[0]]))
                yield from _streamed(part, run[0], per_batch, wanted)
            else:
                table = source.read_row_groups(run, columns=wanted)
                yield table.to_pandas(split_blocks=True, self_destruct=True)


def _streamed(part: Path, group: int, rows: int, columns: list[str] | None):
    import pyarrow.parquet as pq

    source = pq.ParquetFile(part, buffer_size=READ_BUFFER, pre_buffer=False)
    for batch in source.iter_batches(rows, row_groups=[group], columns=columns):
        yield batch.to_pandas(split_blocks=True, self_destruct=True)
