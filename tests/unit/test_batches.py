"""Expectations over many batches give the verdict they would give over the whole table."""

from __future__ import annotations

import great_expectations.expectations as gxe
import numpy as np
import pandas as pd
import pytest

from tasks.data.slabs import Slab
from tasks.validate.batches import per_batch, run_batches
from tasks.validate.runner import Runner


@pytest.fixture(scope="module")
def runner() -> Runner:
    return Runner()


def slabs(parts: list[pd.DataFrame]) -> list[Slab]:
    """Each part a file of its own, read as one slab of all its columns."""
    found, offset = [], 0
    for part in parts:
        part.index = pd.RangeIndex(offset, offset + len(part))
        offset += len(part)
        found.append(Slab(part, part.iloc[:0], first=True, opens_part=True))
    return found


def verdicts(runner: Runner, parts: list[pd.DataFrame], expectations: list) -> list:
    whole = pd.concat(parts, ignore_index=True)
    seen: list[int] = []
    merged = run_batches(
        slabs(parts), expectations, lambda c: whole[c], lambda f, first: seen.append(len(f)), runner
    )
    assert seen == [len(p) for p in parts]
    return merged


def test_mostly_applies_to_the_totals_not_each_batch(runner):
    parts = [pd.DataFrame({"x": [np.nan] * 2 + [1.0] * 8}), pd.DataFrame({"x": [1.0] * 10})]
    [result] = verdicts(runner, parts, [gxe.ExpectColumnValuesToNotBeNull(column="x", mostly=0.9)])
    assert result.success and result.result["unexpected_count"] == 2
    assert result.result["element_count"] == 20


def test_row_counts_add_up_and_examples_point_into_the_whole_table(runner):
    parts = [pd.DataFrame({"x": [1, 2, 3]}), pd.DataFrame({"x": [4, 99, 6]})]
    rows, between = verdicts(
        runner,
        parts,
        [
            gxe.ExpectTableRowCountToBeBetween(min_value=5, max_value=6),
            gxe.ExpectColumnValuesToBeBetween(column="x", min_value=0, max_value=10),
        ],
    )
    assert rows.success and rows.result["observed_value"] == 6
    assert not between.success and between.result["partial_unexpected_index_list"] == [4]


def test_uniqueness_runs_on_whole_columns(runner):
    parts = [pd.DataFrame({"id": [1, 2]}), pd.DataFrame({"id": [2, 3]})]
    unique = gxe.ExpectColumnValuesToBeUnique(column="id")
    assert not per_batch(unique)
    [result] = verdicts(runner, parts, [unique])
    assert not result.success and result.result["unexpected_count"] == 2


def test_a_column_missing_from_one_file_fails_the_schema_check(runner):
    parts = [pd.DataFrame({"x": [1], "y": [2]}), pd.DataFrame({"x": [3]})]
    [result] = verdicts(runner, parts, [gxe.ExpectColumnToExist(column="y")])
    assert not result.success


def test_mostly_zero_is_kept_when_merging(runner):
    parts = [pd.DataFrame({"x": [np.nan] * 3}), pd.DataFrame({"x": [np.nan] * 2})]
    [result] = verdicts(runner, parts, [gxe.ExpectColumnValuesToNotBeNull(column="x", mostly=0)])
    assert result.success and result.result["unexpected_count"] == 5


def test_a_batch_is_not_fingerprinted_value_by_value(runner):
    """GX would hash every value of each slab for a marker that nothing reads."""
    batch = runner.batches.get_batch(batch_parameters={"dataframe": pd.DataFrame({"x": [1, 2]})})
    assert "ge_load_time" in batch.batch_markers
    assert "pandas_data_fingerprint" not in batch.batch_markers
