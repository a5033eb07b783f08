"""How much of a table `trainflow predict` reads, predicts and writes at a time."""

import numpy as np
import pandas as pd

from flows.predict import BATCH, CHUNK_ROWS, TABLE_VALUES, table_batches, table_chunk_rows
from tasks.common.signature import NUMERIC


def meta(width: int) -> dict:
    inputs = [{"name": f"f_x{i}", "column": f"x{i}", "dtype": NUMERIC} for i in range(width)]
    return {"target": "y", "signature": {"inputs": inputs}}


def test_a_wide_table_is_read_in_chunks_of_fewer_rows_with_every_row_once(tmp_path):
    width, rows = 1000, 10_000
    values = np.random.default_rng(0).random((rows, width), dtype=np.float32)
    pd.DataFrame(values, columns=[f"x{i}" for i in range(width)]).to_parquet(tmp_path / "t.pq")
    chunks = [
        inputs
        for _, inputs, _ in table_batches(tmp_path / "t.pq", meta(width), CHUNK_ROWS["table"])
    ]
    sizes = [len(inputs["f_x0"]) for inputs in chunks]
    assert sum(sizes) == rows and len(sizes) > 1
    assert max(sizes) * width <= TABLE_VALUES  # a chunk's values stay bounded however wide
    assert np.array_equal(np.concatenate([c["f_x7"] for c in chunks]).ravel(), values[:, 7])


def test_chunks_keep_a_whole_chunk_for_narrow_tables_and_at_least_a_batch_for_wide_ones():
    rows = CHUNK_ROWS["table"]
    assert table_chunk_rows(meta(8)["signature"], rows) == rows
    assert table_chunk_rows(meta(100_000)["signature"], rows) == BATCH["table"]
    assert table_chunk_rows(meta(8)["signature"], 7) == 7  # a smaller chunk asked for is kept
