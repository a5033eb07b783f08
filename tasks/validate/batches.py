"""Great Expectations on a table of any size: one batch at a time, results merged.

GX validates one in-memory batch at a time. A raw table is read in batches
(`tasks.data.manifest.table_batches`) and each expectation's results are merged by what it measures:

- row-local expectations (not null, in set, between, regex...) add up their element and
  unexpected counts, and `mostly` is applied to the totals;
- schema expectations (column exists, column types, column set) must hold in every batch;
- row-count expectations add up the batches' row counts;
- anything else (min, mean, distinct values, uniqueness...) needs whole columns: it runs once
  on a frame of only the columns it names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

SCHEMA = frozenset(
    {
        "expect_column_to_exist",
        "expect_column_type_to_be",
        "expect_column_values_to_be_of_type",
        "expect_column_values_to_be_in_type_list",
        "expect_table_columns_to_match_set",
        "expect_table_columns_to_match_ordered_list",
        "expect_table_column_count_to_equal",
        "expect_table_column_count_to_be_between",
    }
)
ROW_COUNT = frozenset({"expect_table_row_count_to_be_between", "expect_table_row_count_to_equal"})
NOT_ROW_LOCAL = frozenset(
    {
        "expect_column_values_to_be_unique",
        "expect_compound_columns_to_be_unique",
        "expect_multicolumn_values_to_be_unique",
        "expect_column_values_to_be_increasing",
        "expect_column_values_to_be_decreasing",
    }
)
COUNTS = ("element_count", "unexpected_count", "missing_count")
LISTS = ("partial_unexpected_list", "partial_unexpected_index_list")
PARTIAL = 20


class Runner:
    """One ephemeral GX context for the stage: validating a frame writes no files."""

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = context.data_sources.add_pandas("trainflow").add_dataframe_asset("raw")
        self.batches = asset.add_batch_definition_whole_dataframe("batch")

    def run(self, frame: pd.DataFrame, expectations: list) -> list:
        """Validate `frame`; results in the order of `expectations`, with their configs."""
        import great_expectations as gx

        if not expectations:
            return []
        tagged = [
            e.copy(update={"id": None, "meta": {"trainflow_position": i}})
            for i, e in enumerate(expectations)
        ]
        suite = gx.ExpectationSuite(name="trainflow", expectations=tagged)
        batch = self.batches.get_batch(batch_parameters={"dataframe": frame})
        results = sorted(
            batch.validate(suite).results,
            key=lambda r: r.expectation_config.meta["trainflow_position"],
        )
        for result, expectation in zip(results, expectations, strict=True):
            result.expectation_config = expectation.configuration
        return results


def per_batch(expectation: Any) -> bool:
    """Whether an expectation's result over a table can be merged from its batches' results."""
    from great_expectations.expectations.expectation import (
        ColumnMapExpectation,
        ColumnPairMapExpectation,
        MulticolumnMapExpectation,
    )

    kind = expectation.expectation_type
    if kind in SCHEMA or kind in ROW_COUNT:
        return True
    row_local = (ColumnMapExpectation, ColumnPairMapExpectation, MulticolumnMapExpectation)
    return kind not in NOT_ROW_LOCAL and isinstance(expectation, row_local)


def columns_of(expectation: Any) -> list[str]:
    kwargs = expectation.configuration.kwargs
    names = [kwargs.get(key) for key in ("column", "column_A", "column_B")]
    return [n for n in names if n] + list(kwargs.get("column_list") or [])


def _row_count_ok(kwargs: dict, rows: int) -> bool:
    if "value" in kwargs:
        return rows == kwargs["value"]
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    return (low is None or rows >= low) and (high is None or rows <= high)


def _merge_counts(total: Any, part: Any) -> None:
    """Sum counts and apply `mostly` to the totals, as GX would on the whole table."""
    merged = {k: total.result[k] + part.result.get(k, 0) for k in COUNTS if k in total.result}
    for key in LISTS:
        merged[key] = (total.result.get(key, []) + part.result.get(key, []))[:PARTIAL]
    rows = merged["element_count"]
    checked = rows - merged.get("missing_count", 0)
    share = merged["unexpected_count"] / checked if checked else 0.0
    merged["unexpected_percent"] = 100 * share
    if "missing_count" in merged:
        merged["missing_percent"] = 100 * merged["missing_count"] / rows if rows else 0.0
        merged["unexpected_percent_total"] = 100 * merged["unexpected_count"] / rows if rows else 0
        merged["unexpected_percent_nonmissing"] = merged["unexpected_percent"]
    mostly = total.expectation_config.kwargs.get("mostly")
    mostly = 1.0 if mostly is None else mostly
    total.result, total.success = merged, 1 - share >= mostly - 1e-12


def merge(total: Any, part: Any) -> Any:
    """Fold one more batch's result for the same expectation into the running total."""
    config = total.expectation_config
    if config.type in ROW_COUNT:
        rows = total.result.get("observed_value", 0) + part.result.get("observed_value", 0)
        total.result, total.success = {"observed_value": rows}, _row_count_ok(config.kwargs, rows)
    elif "unexpected_count" in total.result and "unexpected_count" in part.result:
        _merge_counts(total, part)
    elif total.success and not part.success:
        part.expectation_config = config
        return part
    return total


def run_batches(
    batches: Iterable[pd.DataFrame],
    expectations: list,
    whole: Callable[[list[str]], pd.DataFrame],
    observe: Callable[[pd.DataFrame], None],
    runner: Runner,
) -> list:
    """Validate a table given as batches; `whole(columns)` reads full columns when needed.

    Rows are numbered across batches, so the examples of bad rows point into the whole table.
    `observe` sees every batch too: the caller's own counts share the single pass over data.
    """
    local = [i for i, e in enumerate(expectations) if per_batch(e)]
    rest = [i for i in range(len(expectations)) if i not in set(local)]
    merged, offset = None, 0
    for frame in batches:
        frame.index = pd.RangeIndex(offset, offset + len(frame))
        offset += len(frame)
        observe(frame)
        results = runner.run(frame, [expectations[i] for i in local])
        merged = results if merged is None else list(map(merge, merged, results))
    if merged is None:
        merged = runner.run(pd.DataFrame(), [expectations[i] for i in local])
    by_position = dict(zip(local, merged, strict=True))
    if rest:
        columns = sorted({c for i in rest for c in columns_of(expectations[i])})
        whole_results = runner.run(whole(columns), [expectations[i] for i in rest])
        by_position |= dict(zip(rest, whole_results, strict=True))
    return [by_position[i] for i in range(len(expectations))]
