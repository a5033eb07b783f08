"""How much of a table `trainflow predict` reads, predicts and writes at a time."""

from flows.predict import BATCH, CHUNK_ROWS, TABLE_VALUES, table_chunk_rows


def signature(width: int) -> dict:
    return {"inputs": [{"name": f"x{i}", "column": f"x{i}"} for i in range(width)]}


def test_a_wide_table_is_scored_in_chunks_of_fewer_rows_but_at_least_a_batch():
    rows = CHUNK_ROWS["table"]
    assert table_chunk_rows(signature(8), rows) == rows  # narrow: the whole chunk
    wide = table_chunk_rows(signature(2000), rows)
    assert BATCH["table"] <= wide < rows
    assert wide * 2000 <= TABLE_VALUES  # a chunk's values stay bounded however wide
    assert table_chunk_rows(signature(100_000), rows) == BATCH["table"]
    assert table_chunk_rows(signature(8), 7) == 7  # a smaller chunk asked for is kept
