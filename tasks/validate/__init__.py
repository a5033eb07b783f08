"""Validate stage: Great Expectations checks on the raw data, before anything trains on it.

Tables are checked in batches of `validate.batch_rows` rows, so memory stays bounded; image
folders through a manifest (`tasks.data.manifest`). Three kinds of checks decide the verdict:
structural expectations derived from params plus the committed suite `validate.suite`; the
data's own shape (rows per class, duplicated samples); and, with `validate.drift.action: fail`,
drift against the training data of the registered champion. Every run writes
reports/validation.json and a Data Docs page; any failure exits with code 4 (DataValidationError)
and a message that names what failed, where, and the page to open.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from tasks.common.errors import DataValidationError, ParamsError, stage_entry
from tasks.common.io import write_json
from tasks.common.params import DataParams, Params, ValidateParams, load_params
from tasks.data.layout import raw_kind, table_parts
from tasks.data.manifest import manifest, table_batches, table_rows
from tasks.validate import datadocs
from tasks.validate.batches import Runner, run_batches
from tasks.validate.champion import champion_reference, mismatch
from tasks.validate.checks import Check, failure_lines, to_check
from tasks.validate.columns import CONSEQUENCE
from tasks.validate.decisions import Decisions, decide
from tasks.validate.tally import Tally

LABEL = "label"


def structural_expectations(target: str, rules: ValidateParams, features: list[str] | None) -> list:
    """Checks every dataset must pass, derived from params (classes: see tasks.validate.tally)."""
    import great_expectations.expectations as gxe

    checks = [
        gxe.ExpectColumnToExist(column=target),
        gxe.ExpectColumnValuesToNotBeNull(column=target, mostly=1 - rules.max_null_target),
        gxe.ExpectTableRowCountToBeBetween(min_value=rules.min_classes * rules.min_rows_per_class),
    ]
    return checks + [gxe.ExpectColumnToExist(column=name) for name in features or []]


def image_expectations() -> list:
    import great_expectations.expectations as gxe

    return [gxe.ExpectColumnValuesToBeInSet(column="decodable", value_set=[True])]


def load_suite(name: str) -> list:
    """The expectations of a committed suite, gx/expectations/<name>.json."""
    import great_expectations as gx

    if not (Path(datadocs.GX_DIR) / "expectations" / f"{name}.json").exists():
        raise ParamsError(
            f"validate.suite: no suite {datadocs.GX_DIR}/expectations/{name}.json "
            "(draft one from the current data with `trainflow suite init`)"
        )
    context = gx.get_context(mode="file", project_root_dir=".")
    return list(context.suites.get(name).expectations)


def unique(expectations: list) -> list:
    """Drop repeats (a suite restating a structural check), keeping the first."""
    seen, kept = set(), []
    for e in expectations:
        key = (e.expectation_type, json.dumps(e.configuration.kwargs, sort_keys=True, default=str))
        if key not in seen:
            seen.add(key)
            kept.append(e)
    return kept


def check_raw(
    params: Params, images: bool, expectations: list, tally: Tally, runner: Runner
) -> tuple[list, pd.Series | None, int]:
    """Expectation results over the raw data; image paths for examples; files checked.

    A table is read one batch at a time, and fully only for the columns an expectation
    needs whole; an image folder is checked through its manifest.
    """
    raw, rows = Path(params.paths.raw), params.validate_.batch_rows
    if images:
        frame = manifest(raw / "images")
        tally(frame, images=True)
        return runner.run(frame, expectations), frame["path"], len(frame)

    def whole(columns: list[str]) -> pd.DataFrame:
        frames = list(table_batches(raw, rows, columns))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    results = run_batches(table_batches(raw, rows), expectations, whole, tally, runner)
    return results, None, len(table_parts(raw))


def summary(checks: list[Check], page: str) -> str:
    failed = sum(1 for check in checks if not check.success)
    lines = [f"{failed} of {len(checks)} data checks failed:"]
    lines += [f"  - {line}" for line in failure_lines(checks)]
    return "\n".join([*lines, f"Data Docs: {page}"])


def expectations_for(params: Params, images: bool) -> tuple[list, str]:
    """Structural checks from params plus the committed suite; and the label column."""
    rules = params.validate_
    if images:
        found = structural_expectations(LABEL, rules, None) + image_expectations()
    else:
        found = structural_expectations(params.data.target, rules, params.data.features)
    if rules.suite:
        found += load_suite(rules.suite)
    return unique(found), LABEL if images else params.data.target


def warnings(own: Decisions, data: DataParams) -> list[str]:
    """What passed but changes what the model sees, or may be a problem: one line each."""
    lines = [
        f"column '{column}' {CONSEQUENCE[data.suspect_columns]}: {reason}"
        for column, reason in own.columns["suspect"].items()
    ]
    lines += [
        f"'{column}' values merged, one per spelling group: {'; '.join(groups[:3])}"
        + ("; ..." if len(groups) > 3 else "")
        for column, groups in own.columns["spellings"].items()
    ]
    return lines + [
        f"drift on '{row['column']}': {row['metric']} {row['distance']} > {row['threshold']} "
        "(validate.drift.action: warn)"
        for row in own.drift
        if row["verdict"] == "drift"
    ]


def report_of(tally: Tally, checks: list[Check], own: Decisions, other: str | None) -> dict:
    return {
        "success": all(check.success for check in checks),
        "rows": tally.rows,
        "null_targets_dropped": tally.null_targets,
        "checks": [check.report() for check in checks],
        "features": own.columns["features"],
        "suspect_columns": own.columns["suspect"],
        "excluded_columns": own.columns["excluded"],
        "spellings": own.columns["spellings"],
        "duplicates": own.duplicates,
        "drift": own.drift,
        "drift_skipped": other or None,
        "data_docs": datadocs.DOCS_INDEX,
    }


def run(params: Params) -> dict:
    rules, raw = params.validate_, Path(params.paths.raw)
    images = raw_kind(raw) == "image"
    expectations, target = expectations_for(params, images)
    reference = champion_reference(params)
    tally = Tally(target, params.data, reference, 0 if images else table_rows(raw))
    runner = Runner()
    results, names, files = check_raw(params, images, expectations, tally, runner)
    checks = [to_check(result, names) for result in results]
    kind = "image" if images else "table"
    features = set(tally.features())
    other = reference and mismatch(reference, kind, target, set(tally.classes), features)
    if other:
        tally.drift = None
        print(f"validate: drift not measured: {other}")
    own = decide(tally, rules, params.data, runner, names)
    checks, results = checks + own.checks, results + own.results
    report = report_of(tally, checks, own, other)
    about = {"source": params.data.source, "raw": str(raw), "files": files, "rows": tally.rows}
    page = datadocs.publish(results, rules.suite or "trainflow", report["success"], about)
    write_json(Path(params.paths.reports) / "validation.json", report)
    if not report["success"]:
        raise DataValidationError(f"{params.data.source}: {summary(checks, page)}")
    for line in warnings(own, params.data):
        print(f"validate: warning: {line}")
    print(f"validate: {len(checks)} checks passed on {tally.rows} rows; Data Docs: {page}")
    return report


@stage_entry("validate")
def main() -> None:
    run(load_params())
