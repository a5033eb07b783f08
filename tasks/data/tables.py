"""Raw tables on disk: written by ingest in row groups, read back a few row groups at a time.

Validate and `trainflow suite init` read the raw table in batches of at most
`validate.batch_mb` megabytes of column data, so memory stays bounded however large or wide
the table. Ingest writes each part file in row groups of about RAW_GROUP_MB, so a batch is
whole row groups, which pyarrow decodes column by column in parallel (several times faster
than streaming pages). A row group larger than a batch (a part written by other means) is
streamed instead, page by page.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
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


GROUP_WIDTH = 64  # bytes per row of one slab's columns: eight numeric columns


@dataclass(frozen=True)
class Slab:
    """Some columns of some consecutive rows of one raw part file.

    Attributes:
        frame: the columns, indexed by row number in the whole table.
        schema: every column of the part, with no rows (for checks of the column set).
        first: the first slab of these rows: it holds the leading columns (the label).
        opens_part: the first slab of its part file.
    """

    frame: pd.DataFrame
    schema: pd.DataFrame
    first: bool
    opens_part: bool


def column_widths(meta, schema) -> dict[str, float]:
    """In-memory bytes per row of each column, from the footer (text counts 16 at least)."""
    import pyarrow as pa

    rows = max(meta.num_rows, 1)
    sizes = dict.fromkeys(schema.names, 0.0)
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        for j in range(group.num_columns):
            name = group.column(j).path_in_schema.split(".")[0]
            if name in sizes:
                sizes[name] += group.column(j).total_uncompressed_size
    floor = {
        f.name: 16 if pa.types.is_string(f.type) or pa.types.is_large_string(f.type) else 8
        for f in schema
    }
    return {name: max(size / rows, floor.get(name, 8)) for name, size in sizes.items()}


def column_groups(widths: dict[str, float], together: list[set[str]], lead: list[str]) -> list:
    """Columns in groups of about GROUP_WIDTH bytes per row, `lead` first; columns an
    expectation reads together stay in one group (a wider unit is a group of its own)."""
    units: list[list[str]] = []
    for name in [*[c for c in lead if c in widths], *[c for c in widths if c not in lead]]:
        if any(name in unit for unit in units):
            continue
        linked = set().union(*[s for s in together if name in s]) if together else set()
        units.append([name, *[c for c in widths if c in linked and c != name]])
    cap = max([GROUP_WIDTH, *(sum(widths[c] for c in unit) for unit in units)])
    groups: list[list[str]] = []
    for unit in units:
        width = sum(widths[c] for c in unit)
        if groups and sum(widths[c] for c in groups[-1]) + width <= cap:
            groups[-1] += unit
        else:
            groups.append(list(unit))
    return groups, cap


def table_slabs(
    raw: str | os.PathLike[str], batch_mb: float, together: list[set[str]], lead: list[str]
) -> Iterator[Slab]:
    """The raw table as slabs of at most about `batch_mb`: the rows of a span, one column
    group at a time. Narrow groups make long spans: each check sees many rows per run."""
    import pyarrow.parquet as pq

    offset = 0
    for part in table_parts(raw):
        source = pq.ParquetFile(part, pre_buffer=False)
        meta, schema = source.metadata, source.schema_arrow
        empty = schema.empty_table().to_pandas()
        if meta.num_rows == 0:
            yield Slab(empty, empty, first=True, opens_part=True)
            continue
        groups, width = column_groups(column_widths(meta, schema), together, lead)
        span = max(1, int(batch_mb * MB / width))
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        opens = True
        for run in runs(sizes, span):
            for rows in _spans(part, run, sizes, span):
                for index, columns in enumerate(groups):
                    frame = rows(columns)
                    frame.index = pd.RangeIndex(offset, offset + len(frame))
                    yield Slab(frame, empty, first=index == 0, opens_part=opens)
                    opens = False
                offset += len(frame)


def _spans(part: Path, run: list[int], sizes: list[int], span: int):
    """Readers, by columns, of the rows of a run of row groups; a row group longer than a
    span is streamed in pieces, one stream per column group advancing together."""
    import pyarrow.parquet as pq

    source = pq.ParquetFile(part, pre_buffer=False)
    if sizes[run[0]] <= span:
        yield lambda columns: source.read_row_groups(run, columns=columns).to_pandas(
            split_blocks=True, self_destruct=True
        )
        return
    streamed = pq.ParquetFile(part, buffer_size=READ_BUFFER, pre_buffer=False)
    streams: dict[tuple[str, ...], Iterator] = {}

    def piece(columns: list[str]) -> pd.DataFrame:
        key = tuple(columns)
        if key not in streams:
            streams[key] = streamed.iter_batches(span, row_groups=run, columns=columns)
        return next(streams[key]).to_pandas(split_blocks=True, self_destruct=True)

    for _ in range(0, sizes[run[0]], span):
        yield piece
