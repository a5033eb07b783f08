"""Slabs: the raw table read as the rows of a span, a group of columns at a time.

Great Expectations costs milliseconds per expectation per run, however few the rows, so
validate wants each run to cover many rows; memory wants each frame small. A slab is both: a
group of about GROUP_WIDTH bytes per row of columns (eight numeric columns) over a span of
`validate.batch_mb` / GROUP_WIDTH rows (a million at 64 MB), read from whole row groups.
Columns one expectation reads together stay in one group, and the label leads the first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tasks.data.layout import table_parts
from tasks.data.tables import MB, READ_BUFFER, runs

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


def units(columns: list[str], together: list[set[str]]) -> list[list[str]]:
    """Columns as units that must share a slab: linked columns (transitively) together."""
    found: list[set[str]] = []
    for linked in [{c} for c in columns] + [s & set(columns) for s in together]:
        touching = [unit for unit in found if unit & linked]
        merged = set().union(linked, *touching)
        found = [unit for unit in found if not unit & linked] + [merged]
    order = {c: i for i, c in enumerate(columns)}
    return sorted((sorted(u, key=order.get) for u in found), key=lambda u: order[u[0]])


def column_groups(
    widths: dict[str, float], together: list[set[str]], lead: list[str]
) -> tuple[list[list[str]], float]:
    """Columns in groups of about GROUP_WIDTH bytes per row (`lead` first), and the widest
    group's width; columns an expectation reads together stay in one group (a unit wider
    than GROUP_WIDTH is a group of its own)."""
    columns = [*[c for c in lead if c in widths], *[c for c in widths if c not in lead]]
    units_ = units(columns, together)
    cap = max([GROUP_WIDTH, *(sum(widths[c] for c in unit) for unit in units_)])
    groups: list[list[str]] = []
    for unit in units_:
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
