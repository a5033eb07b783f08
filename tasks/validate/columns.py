"""Checks on what the columns hold: several spellings of one value, and suspect columns.

The facts come from `tasks.validate.tally.Tally`, the decisions from `tasks.data.columns`, the
same functions prepare builds the model's features and labels with. Like validate's other own
checks, each also runs as a Great Expectations expectation on a small summary table, so the
Data Docs page shows it.
"""

from __future__ import annotations

import pandas as pd

from tasks.common.params import DataParams
from tasks.data.columns import ASCII_SPACE, describe_spellings, spellings
from tasks.validate.checks import MAX_EXAMPLES, Check
from tasks.validate.runner import Runner
from tasks.validate.tally import Tally

CONSEQUENCE = {
    "exclude": "left out of the features",
    "keep": "kept as a feature (data.suspect_columns: keep)",
    "fail": "data.suspect_columns: fail",
}


def _spelling_table(tally: Tally) -> pd.DataFrame:
    rows = [
        (column, value, value.strip(ASCII_SPACE).lower(), n)
        for column, counts in tally.spellings().items()
        for value, n in counts.items()
    ]
    return pd.DataFrame(rows, columns=["column", "value", "folded", "rows"])


def spelling_checks(tally: Tally, data: DataParams, runner: Runner) -> tuple[list, list, dict]:
    """Labels (and text values of each feature) that differ only in case or surrounding
    spaces: a failure unless `data.normalize_labels` (`normalize_categories`) merges them.

    Returns:
        The checks, the GX results, and each column's groups in words ('cat' 120, 'Cat ' 3).
    """
    import great_expectations.expectations as gxe

    table = _spelling_table(tally)
    if table.empty:
        return [], [], {}
    expectation = gxe.ExpectCompoundColumnsToBeUnique(
        column_list=["column", "folded"],
        description="No label or text value differs from another only in case or surrounding "
        "spaces (data.normalize_labels, data.normalize_categories).",
    )
    [result] = runner.run(table, [expectation])
    checks, found = [], {}
    for column, counts in tally.spellings().items():
        groups = spellings(counts)
        if not groups:
            continue
        label = column == tally.target
        key = "data.normalize_labels" if label else "data.normalize_categories"
        merged = data.normalize_labels if label else data.normalize_categories
        found[column] = [describe_spellings(group) for group in groups]
        checks.append(
            Check(
                expectation="expect_no_case_or_space_variants",
                column=column,
                success=merged,
                observed=f"{len(groups)} {'labels' if label else 'values'} written in several "
                f"ways{f' (merged: {key})' if merged else ''}",
                examples=found[column][:MAX_EXAMPLES],
                description=f"values that differ only in case or surrounding spaces are one "
                f"value only with {key}: true",
            )
        )
    return checks, [result], found


def suspect_checks(
    columns: list[str], suspects: dict[str, str], policy: str, runner: Runner
) -> tuple[list, list]:
    """Columns that look like ids, are constant or all missing: a failure only with
    `data.suspect_columns: fail` (by default they are left out of the features)."""
    import great_expectations.expectations as gxe

    if not columns:
        return [], []
    table = pd.DataFrame({"column": columns, "problem": [suspects.get(c) for c in columns]})
    expectation = gxe.ExpectColumnValuesToBeNull(
        column="problem",
        description="No feature column looks like an identifier, is constant or all missing "
        f"(data.suspect_columns: {policy}).",
    )
    [result] = runner.run(table, [expectation])
    checks = [
        Check(
            expectation="expect_column_to_be_informative",
            column=column,
            success=policy != "fail",
            observed=f"{reason} ({CONSEQUENCE[policy]})",
            description="set data.suspect_columns: exclude to leave it out of the features, "
            "or keep to use it",
        )
        for column, reason in suspects.items()
    ]
    return checks, [result]
