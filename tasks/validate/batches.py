"""Great Expectations on a table of any size: one slab at a time, results merged.

GX validates one in-memory frame at a time. A raw table is read in slabs
(`tasks.data.slabs.table_slabs`: the rows of a span, a group of columns at a time) and each
expectation's results are merged by what it measures:

- row-local expectations (not null, in set, between, regex...) add up their element and
  unexpected counts, and `mostly` is applied to the totals;
- schema expectations (column exists, column types, column set) must hold in every batch
  (they run again only on a batch with other column names or dtypes);
- row-count expectations add up the batches' row counts;
- anything else (min, mean, distinct values, uniqueness...) needs whole columns: it runs once
  on a frame of only the columns it names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from tasks.data.slabs import Slab
from tasks.validate.runner import Runner
from tasks.validate.timing import Phases

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


def schema_key(frame: pd.DataFrame, expectation: Any) -> tuple | None:
    """What a schema expectation's result depends on in `frame`: column names and dtypes, or
    None when it reads values too (GX checks an object column's type value by value)."""
    if any(frame[c].dtype == object for c in columns_of(expectation) if c in frame.columns):
        return None
    return tuple((name, str(dtype)) for name, dtype in frame.dtypes.items())


def together(expectations: list) -> list[set[str]]:
    """Columns that one row-local expectation reads together (pairs, multicolumn)."""
    return [set(columns_of(e)) for e in expectations if per_batch(e) and len(columns_of(e)) > 1]


class Merged:
    """Per-slab results folded into one result per expectation.

    Each expectation runs on the slabs holding its columns (a row count on the first slab of
    each span of rows; the column set, and checks on a column the part lacks, on the part's
    empty schema). A schema expectation runs again only where the column names and dtypes
    differ from those it has seen: its result could not differ, and GX spends milliseconds
    on each expectation it runs.
    """

    def __init__(self, expectations: list, positions: list[int]) -> None:
        self.expectations, self.positions = expectations, positions
        self.results: dict[int, Any] = {}
        self.seen: dict[int, set] = {i: set() for i in positions}

    def due(self, slab: Slab) -> tuple[list[int], list[int]]:
        """Positions to run on the slab's frame, and on its part's empty schema."""
        on_frame, on_schema = [], []
        for i in self.positions:
            frame = self._where(self.expectations[i], slab)
            if frame is None:
                continue
            expectation = self.expectations[i]
            key = schema_key(frame, expectation) if expectation.expectation_type in SCHEMA else None
            if key is None or key not in self.seen[i]:
                (on_frame if frame is slab.frame else on_schema).append(i)
                self.seen[i].add(key)
        return on_frame, on_schema

    @staticmethod
    def _where(expectation: Any, slab: Slab) -> pd.DataFrame | None:
        """The frame an expectation runs on for this slab, or None when it has none here."""
        columns = set(columns_of(expectation))
        if not columns <= set(slab.schema.columns) or (
            not columns and expectation.expectation_type in SCHEMA
        ):
            return slab.schema if slab.opens_part else None  # the part's columns only
        if not columns:
            return slab.frame if slab.first else None  # rows: once per span
        return slab.frame if columns <= set(slab.frame.columns) else None

    def add(self, positions: list[int], results: list) -> None:
        for i, result in zip(positions, results, strict=True):
            self.results[i] = merge(self.results[i], result) if i in self.results else result


def run_batches(
    slabs: Iterable[Slab],
    expectations: list,
    whole: Callable[[list[str]], pd.DataFrame],
    observe: Callable[[pd.DataFrame, bool], None],
    runner: Runner,
    phases: Phases | None = None,
) -> list:
    """Validate a table given as slabs; `whole(columns)` reads full columns when needed.

    Rows are numbered across the table, so the examples of bad rows point into it. `observe`
    sees every slab too: the caller's own counts share the single pass over the data.
    """
    phases = phases or Phases()
    local = [i for i, e in enumerate(expectations) if per_batch(e)]
    rest = [i for i in range(len(expectations)) if i not in set(local)]
    merged = Merged(expectations, local)
    for slab in slabs:
        with phases("own counts"):
            observe(slab.frame, slab.first)
        on_frame, on_schema = merged.due(slab)
        with phases("expectations per batch"):
            for frame, due in ((slab.frame, on_frame), (slab.schema, on_schema)):
                if due:
                    merged.add(due, runner.run(frame, [expectations[i] for i in due]))
    missing = [i for i in local if i not in merged.results]  # no data at all
    merged.add(missing, runner.run(pd.DataFrame(), [expectations[i] for i in missing]))
    by_position = merged.results
    if rest:
        columns = sorted({c for i in rest for c in columns_of(expectations[i])})
        with phases("expectations on whole columns"):
            whole_results = runner.run(whole(columns), [expectations[i] for i in rest])
        by_position |= dict(zip(rest, whole_results, strict=True))
    return [by_position[i] for i in range(len(expectations))]
