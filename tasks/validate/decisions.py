"""The checks validate decides from its own counts (`tasks.validate.tally.Tally`).

The target's checks (rows per class, or numbers: `tasks.problems`), duplicated samples,
drift, suspect columns and spellings need the whole
dataset, so they are decided once the last batch is counted. Each decision also runs as a real
Great Expectations expectation on a small summary table (one row per class, per drift column,
per column), so the Data Docs page shows every check that decided the verdict, not only the
suite's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from tasks.common.params import DataParams, DriftParams, ValidateParams
from tasks.problems import Problem
from tasks.validate.checks import Check
from tasks.validate.columns import spelling_checks, suspect_checks
from tasks.validate.runner import Runner
from tasks.validate.tally import Tally


def duplicate_check(found: dict, rules: ValidateParams, runner: Runner) -> tuple[Check, object]:
    """At most `validate.max_duplicate_share` of the samples repeat an earlier one."""
    import great_expectations.expectations as gxe

    expectation = gxe.ExpectColumnValuesToBeBetween(
        column="duplicate_share",
        max_value=rules.max_duplicate_share,
        description="At most this share of samples repeat an earlier sample "
        "(validate.max_duplicate_share).",
    )
    [result] = runner.run(pd.DataFrame({"duplicate_share": [found["share"]]}), [expectation])
    check = Check(
        expectation="expect_duplicate_share_to_be_at_most",
        column=None,
        success=bool(result.success),
        observed=f"{found['duplicate_samples']} of {found['samples']} samples repeat an earlier "
        f"one (max {rules.max_duplicate_share:.1%})",
        unexpected_percent=round(100 * found["share"], 4),
        examples=found["examples"],
    )
    return check, result


def drift_checks(rows: list[dict], p: DriftParams, runner: Runner) -> tuple[list[Check], list]:
    """One check per compared column; they decide the verdict only with `action: fail`."""
    import great_expectations.expectations as gxe

    table = pd.DataFrame([r for r in rows if r["distance"] is not None])
    if table.empty:
        return [], []
    expectation = gxe.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="threshold",
        column_B="distance",
        or_equal=True,
        description=f"Distance to the champion's training data within each column's threshold "
        f"(PSI for numbers, L-infinity for categories; validate.drift.action: {p.action}).",
    )
    [result] = runner.run(table, [expectation])
    if p.action == "warn":
        return [], [result]
    checks = [
        Check(
            expectation="expect_no_drift",
            column=r["column"],
            success=r["verdict"] != "drift",
            observed=f"{r['metric']} {r['distance']} (threshold {r['threshold']})",
        )
        for r in rows
        if r["distance"] is not None
    ]
    return checks, [result]


@dataclass
class Decisions:
    """validate's own checks, their GX results for Data Docs, and the report's details."""

    checks: list[Check]
    results: list
    duplicates: dict
    drift: list[dict]
    columns: dict = field(default_factory=dict)


def decide(
    tally: Tally,
    rules: ValidateParams,
    data: DataParams,
    runner: Runner,
    names: pd.Series | None,
    problem: Problem,
) -> Decisions:
    """Decide spellings, suspect columns, the target (the problem kind's checks: rows per
    class, or numbers), duplicates and drift from `tally`."""
    spelled, spelled_results, variants = spelling_checks(tally, data, runner)
    suspect, suspect_results = suspect_checks(
        list(tally.seen), tally.suspects(), data.suspect_columns, runner
    )
    found_checks, classes_results = problem.target_checks(tally, rules, runner)
    classes = [Check(**fields) for fields in found_checks]
    found = tally.duplicates(rules.max_duplicate_share, names)
    repeated, repeated_result = duplicate_check(found, rules, runner)
    drift = tally.drift.report(rules.drift) if tally.drift else []
    drifted, drift_results = drift_checks(drift, rules.drift, runner)
    return Decisions(
        checks=[*spelled, *suspect, *classes, repeated, *drifted],
        results=[
            *spelled_results,
            *suspect_results,
            *classes_results,
            repeated_result,
            *drift_results,
        ],
        duplicates=found,
        drift=drift,
        columns={
            "features": tally.features(),
            "suspect": tally.suspects(),
            "excluded": tally.excluded(),
            "spellings": variants,
            "text": {c: r for c, r in tally.texts().items() if c in tally.features()},
        },
    )
