"""Raw tables in row groups and slabs: every cell read once, memory bounded by the budget."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tasks.data.tables import (
    column_groups,
    runs,
    table_batches,
    table_rows,
    table_slabs,
    write_part,
)

RNG = np.random.default_rng(5)


def wide(rows: int) -> pd.DataFrame:
    frame = pd.DataFrame({f"x{i}": RNG.normal(size=rows) for i in range(12)})
    return frame.assign(
        a=RNG.integers(0, 9, rows), b=RNG.integers(0, 9, rows), label=RNG.choice(["y", "n"], rows)
    )


def raw(tmp_path, frames: list[pd.DataFrame], huge_groups: bool = False):
    folder = tmp_path / "raw" / "table"
    folder.mkdir(parents=True)
    for index, frame in enumerate(frames):
        path = folder / f"part-{index:05d}.parquet"
        if huge_groups:  # one row group per file, as a tool other than ingest may write
            frame.to_parquet(path, index=False, row_group_size=len(frame) or 1)
        else:
            write_part(frame, path)
    return tmp_path / "raw"


def reassembled(slabs) -> pd.DataFrame:
    """The table back from slabs: each span's column groups side by side, spans stacked."""
    spans, current = [], []
    for slab in slabs:
        if slab.first and current:
            spans.append(pd.concat(current, axis=1))
            current = []
        current.append(slab.frame)
    spans.append(pd.concat(current, axis=1))
    return pd.concat(spans)


def test_ingest_writes_row_groups_of_about_sixteen_megabytes(tmp_path):
    frame = pd.DataFrame({"x": np.arange(3_000_000, dtype="float64")})  # 24 MB
    write_part(frame, tmp_path / "part.parquet")
    meta = pq.ParquetFile(tmp_path / "part.parquet").metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [
        1_000_000
    ] * 3  # 8 bytes a row: capped at a million rows
    write_part(wide(50_000), tmp_path / "wide.parquet")
    assert pq.ParquetFile(tmp_path / "wide.parquet").metadata.num_row_groups == 1


@pytest.mark.parametrize("huge_groups", [False, True], ids=["row groups", "one huge group"])
def test_slabs_hold_every_cell_once_in_row_order(tmp_path, huge_groups):
    frames = [wide(7_000), wide(0), wide(3_000)]
    folder = raw(tmp_path, frames, huge_groups)
    slabs = list(table_slabs(folder, 0.2, together=[{"a", "b"}], lead=["label"]))
    expected = pd.concat([f for f in frames if len(f)], ignore_index=True)
    got = reassembled(s for s in slabs if len(s.frame))
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_index_type=False)
    assert (got.index == np.arange(len(expected))).all()
    assert all(max(s.frame.memory_usage(index=False).sum(), 1) <= 0.25 * 2**20 for s in slabs)
    assert all("label" in s.frame.columns for s in slabs if s.first and len(s.frame))
    assert all({"a", "b"} <= set(s.frame.columns) for s in slabs if "a" in s.frame.columns)
    assert sum(s.opens_part for s in slabs) == 3 and table_rows(folder) == 10_000


def test_column_groups_keep_linked_columns_and_lead_first():
    widths = {"x": 8.0, "y": 8.0, "label": 16.0, "text": 100.0, "a": 8.0, "b": 8.0}
    groups, cap = column_groups(widths, [{"a", "x"}], ["label"])
    assert groups[0][0] == "label" and cap == 100.0
    assert any({"a", "x"} <= set(g) for g in groups)
    assert sorted(c for g in groups for c in g) == sorted(widths)


def test_batches_and_runs_respect_the_budget(tmp_path):
    assert list(runs([3, 3, 3, 9, 1], 6)) == [[0, 1], [2], [3], [4]]
    folder = raw(tmp_path, [wide(20_000)], huge_groups=True)
    batches = list(table_batches(folder, 0.5))
    assert len(batches) > 1 and sum(map(len, batches)) == 20_000
    only = list(table_batches(folder, 100, columns=["label", "missing"]))
    assert [list(b.columns) for b in only] == [["label"]]
