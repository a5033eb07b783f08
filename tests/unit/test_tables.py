"""Raw tables in row groups, read back in batches within the budget."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from tasks.data.tables import runs, table_batches, write_part

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


def test_ingest_writes_row_groups_of_about_sixteen_megabytes(tmp_path):
    frame = pd.DataFrame({"x": np.arange(3_000_000, dtype="float64")})  # 24 MB
    write_part(frame, tmp_path / "part.parquet")
    meta = pq.ParquetFile(tmp_path / "part.parquet").metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [
        1_000_000
    ] * 3  # 8 bytes a row: capped at a million rows
    write_part(wide(50_000), tmp_path / "wide.parquet")
    assert pq.ParquetFile(tmp_path / "wide.parquet").metadata.num_row_groups == 1


def test_batches_and_runs_respect_the_budget(tmp_path):
    assert list(runs([3, 3, 3, 9, 1], 6)) == [[0, 1], [2], [3], [4]]
    folder = raw(tmp_path, [wide(20_000)], huge_groups=True)
    batches = list(table_batches(folder, 0.5))
    assert len(batches) > 1 and sum(map(len, batches)) == 20_000
    only = list(table_batches(folder, 100, columns=["label", "missing"]))
    assert [list(b.columns) for b in only] == [["label"]]
