"""Read prepared Parquet splits with pyarrow: whole, or as a stream of shuffled batches.

No pandas and no TensorFlow here: tables become the model's NumPy inputs directly, and the
streamed reader holds at most about two windows of rows, whatever the size of the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tasks.common.params import TextParams
from tasks.common.signature import TEXT, free_text_inputs, signature_of
from tasks.model.build import TableStats
from tasks.model.text import fit_text
from tasks.problems import problem_of

MB = 1024 * 1024


@dataclass(frozen=True)
class Split:
    """One prepared split on disk: its Parquet file and the prepared metadata."""

    path: Path
    meta: dict

    @property
    def rows(self) -> int:
        return pq.ParquetFile(self.path).metadata.num_rows

    @property
    def megabytes(self) -> float:
        """Uncompressed size: what holding the split in memory costs, roughly."""
        meta = pq.ParquetFile(self.path).metadata
        return sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)) / MB

    @property
    def signature(self) -> dict:
        return signature_of(self.meta)

    @property
    def columns(self) -> list[str]:
        if self.meta["kind"] == "image":
            return ["pixels", self.meta["target"]]
        return [spec["column"] for spec in self.signature["inputs"]] + [self.meta["target"]]

    def labels(self, table: pa.Table) -> np.ndarray:
        """The target as the model trains on it (`tasks.problems`: class index or number)."""
        return problem_of(self.meta).labels(table[self.meta["target"]], self.meta, str(self.path))

    def inputs(self, table: pa.Table, raw_pixels: bool = False):
        """Model inputs of a table of rows: pixel array (or bytes) or named table columns."""
        if self.meta["kind"] == "image":
            blob = pixel_bytes(table["pixels"])
            return blob if raw_pixels else np.frombuffer(blob, np.uint8).reshape(-1, *self.shape)
        return {spec["name"]: column_input(table[spec["column"]], spec) for spec in self.specs}

    @property
    def specs(self) -> list[dict]:
        return self.signature["inputs"]

    def arrays(self) -> Iterator[tuple[str, np.ndarray]]:
        """The model's inputs one at a time, each read from its own Parquet column: holding a
        split in memory never needs the whole table and its copies at once."""
        file = pq.ParquetFile(self.path)
        if self.meta["kind"] == "image":
            yield "pixels", self.inputs(file.read(columns=["pixels"]))
            return
        for spec in self.specs:
            yield spec["name"], column_input(file.read(columns=[spec["column"]])[0], spec)

    def read_labels(self) -> np.ndarray:
        return self.labels(pq.ParquetFile(self.path).read(columns=[self.meta["target"]]))

    @property
    def shape(self) -> list[int]:
        return list(self.meta["image_shape"])

    def read(self) -> tuple[np.ndarray | dict[str, np.ndarray], np.ndarray]:
        """The whole split in memory, as arrays (no DataFrame in between)."""
        table = pq.ParquetFile(self.path).read(columns=self.columns)
        return self.inputs(table), self.labels(table)


def column_input(column: pa.ChunkedArray, spec: dict) -> np.ndarray:
    """One table column as the model input `spec` names: strings or float32, as (rows, 1)."""
    if spec["dtype"] == TEXT:
        values = column.cast(pa.string()).fill_null("").to_numpy(zero_copy_only=False)
        return values.astype(object).reshape(-1, 1)
    values = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
    return values.astype("float32").reshape(-1, 1)


def text_values(split: Split, column: str, rows: int = 65_536) -> Iterator[np.ndarray]:
    """One text column of the split as 1-D string arrays, a batch at a time (missing: "")."""
    for batch in pq.ParquetFile(split.path, pre_buffer=False).iter_batches(rows, columns=[column]):
        yield column_input(batch[column], {"dtype": TEXT}).reshape(-1)


def table_stats(split: Split, rows: int = 65_536, text: TextParams | None = None) -> TableStats:
    """Numeric mean and std (NaN ignored) and sorted vocabularies, in one streamed pass; and
    each free-text column's vectorisation (`tasks.model.text.fit_text`), in one pass each.

    Per-batch moments are merged with Chan's formula, so memory stays flat however many rows.
    """
    numeric, categorical = split.meta["features"]["numeric"], split.meta["features"]["categorical"]
    count, mean, m2 = (np.zeros(len(numeric)) for _ in range(3))
    vocabularies: dict[str, set[str]] = {column: set() for column in categorical}
    for batch in pq.ParquetFile(split.path, pre_buffer=False).iter_batches(
        rows, columns=[*numeric, *categorical]
    ):
        if numeric:
            values = np.column_stack(
                [batch[c].cast(pa.float64()).to_numpy(zero_copy_only=False) for c in numeric]
            )
            seen = np.sum(~np.isnan(values), axis=0)
            batch_mean = np.nansum(values, axis=0) / np.maximum(seen, 1)
            batch_m2 = np.nansum((values - batch_mean) ** 2, axis=0)
            total, delta = count + seen, batch_mean - mean
            mean = mean + delta * seen / np.maximum(total, 1)
            m2 = m2 + batch_m2 + delta**2 * count * seen / np.maximum(total, 1)
            count = total
        for column in categorical:
            found = pc.drop_null(batch[column].cast(pa.string()))
            vocabularies[column].update(pc.unique(found).to_pylist())
    std = np.sqrt(m2 / np.maximum(count, 1))
    texts = {
        spec["column"]: fit_text(text_values(split, spec["column"], rows), text or TextParams())
        for spec in free_text_inputs(split.signature)
    }
    return TableStats(
        mean.tolist(),
        np.where(std > 0, std, 1.0).tolist(),
        {column: sorted(words) for column, words in vocabularies.items()},
        texts,
    )


def pixel_bytes(column: pa.ChunkedArray) -> bytes:
    """The pixel bytes of all rows back to back, without a Python object per row."""
    array = column.combine_chunks().cast(pa.large_binary())
    if not len(array):
        return b""
    bounds = np.frombuffer(array.buffers()[1], np.int64)[[array.offset, array.offset + len(array)]]
    return memoryview(array.buffers()[2])[bounds[0] : bounds[1]].tobytes()


def windows(split: Split, rows: int, rng: np.random.Generator | None) -> Iterator[pa.Table]:
    """Tables of about `rows` rows: row groups in random order, rows shuffled within each."""
    file = pq.ParquetFile(split.path, pre_buffer=False)
    groups = np.arange(file.num_row_groups)
    if rng is not None:
        rng.shuffle(groups)
    pending: list[pa.RecordBatch] = []
    for group in groups:
        for batch in file.iter_batches(rows, row_groups=[int(group)], columns=split.columns):
            pending.append(batch)
            if sum(len(b) for b in pending) >= rows:
                yield _shuffled(pa.Table.from_batches(pending), rng)
                pending = []
    if pending:
        yield _shuffled(pa.Table.from_batches(pending), rng)


def _shuffled(table: pa.Table, rng: np.random.Generator | None) -> pa.Table:
    return table if rng is None else table.take(rng.permutation(len(table)))


class Batches:
    """A generator factory for `from_generator`: one pass over the split per call (epoch).

    Each call yields blocks of `block_batches` whole batches (the last block may end with a
    partial batch), so the Python side runs once per block, not once per training step.
    """

    def __init__(
        self, split: Split, batch_size: int, window: int, seed: int | None, block_batches=32
    ):
        self.split, self.window, self.seed = split, window, seed
        self.block = batch_size * block_batches
        self.epoch = 0

    def __call__(self) -> Iterator[tuple]:
        rng = None if self.seed is None else np.random.default_rng([self.seed, self.epoch])
        self.epoch += 1
        carry = None
        for table in windows(self.split, max(self.window, self.block), rng):
            carry = table if carry is None else pa.concat_tables([carry, table])
            full = len(carry) - len(carry) % self.block
            for start in range(0, full, self.block):
                yield self._block(carry.slice(start, self.block))
            carry = carry.slice(full)
        if carry is not None and len(carry):
            yield self._block(carry)

    def _block(self, table: pa.Table) -> tuple:
        return self.split.inputs(table, raw_pixels=True), self.split.labels(table)
