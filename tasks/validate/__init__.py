"""Validate stage: Great Expectations checks on the raw data, before anything trains on it.

Tables are checked in slabs of at most `validate.batch_mb` megabytes (`tasks.data.slabs`), so
memory stays bounded; image folders through a manifest (`tasks.data.manifest`), which it keeps as
reports/manifest.parquet for prepare. What decides
the verdict: structural expectations derived from params plus the committed suite
`validate.suite`; the data's own shape (rows per class, duplicated samples); what quietly
ruins a model (labels or categories written several ways, suspect columns; `tasks.validate.
columns`); and, with `validate.drift.action: fail`, drift against the training data of the
registered champion. Every run writes reports/validation.json and a Data Docs page; any
failure exits with code 4 (DataValidationError) and a message that names what failed, where,
and the page to open.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from tasks.common.brief import capped, clip, listing
from tasks.common.errors import DataValidationError, stage_entry
from tasks.common.io import write_json
from tasks.common.params import DataParams, Params, load_params
from tasks.data.labels import read_findings
from tasks.data.layout import file_names, raw_kind, table_parts, table_sources
from tasks.data.manifest import manifest, manifest_file, write_manifest
from tasks.data.slabs import table_slabs
from tasks.data.tables import table_batches, table_rows
from tasks.data.text import describe as describe_text
from tasks.problems import choose, class_folders_task, problem
from tasks.validate import datadocs
from tasks.validate.batches import run_batches
from tasks.validate.champion import champion_reference, mismatch
from tasks.validate.checks import FULL, Check, failure_lines, to_check
from tasks.validate.columns import CONSEQUENCE
from tasks.validate.decisions import Decisions, decide
from tasks.validate.expectations import LABEL, expectations_for, linked_columns
from tasks.validate.labels import label_checks, label_warnings
from tasks.validate.lean import import_great_expectations
from tasks.validate.runner import Runner
from tasks.validate.tally import Tally
from tasks.validate.timing import Phases, import_in_background, prefetched


def raw_batches(params: Params, images: bool) -> Iterator:
    """The raw table in slabs (`table_slabs`), or an image folder's manifest as one frame."""
    raw = Path(params.paths.raw)
    if images:
        yield manifest(raw / "images")
    else:
        linked, lead = linked_columns(params), [params.data.target]
        yield from table_slabs(raw, params.validate_.batch_mb, linked, lead)


def check_raw(
    params: Params,
    expectations: list,
    tally: Tally,
    batches: Iterator,
    phases: Phases,
    files: list[str] | None = None,
) -> tuple[list, pd.Series | None, int, Runner]:
    """Expectation results over the raw data; image or text file paths for examples; files
    checked; and the Great Expectations runner, for the stage's own checks.

    A table is read one batch at a time, and fully only for the columns an expectation
    needs whole; an image folder is checked through its manifest. `files` names each row of
    a table read from a folder of text files.
    """
    raw, budget = Path(params.paths.raw), params.validate_.batch_mb
    runner = Runner()
    if raw_kind(raw) == "image":
        frame = next(batches)
        with phases("own counts"):
            tally(frame, images=True)
        with phases("expectations per batch"):
            results = runner.run(frame, expectations)
        write_manifest(frame, manifest_file(params.paths.reports))
        return results, frame["path"], len(frame), runner

    def whole(columns: list[str]) -> pd.DataFrame:
        frames = list(table_batches(raw, budget, columns))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def count(frame: pd.DataFrame, first: bool) -> None:
        tally(frame, first=first)

    results = run_batches(batches, expectations, whole, count, runner, phases)
    write_manifest(pd.DataFrame(), manifest_file(params.paths.reports))  # no images
    if files is not None:
        return results, pd.Series(files, dtype=object), len(files), runner
    return results, None, len(table_parts(raw)), runner


def summary(checks: list[Check], page: str) -> str:
    failed = sum(1 for check in checks if not check.success)
    lines = [f"{failed} of {len(checks)} data checks failed:"]
    lines += [f"  - {line}" for line in failure_lines(checks)]
    return "\n".join([*lines, f"Data Docs: {page}"])


def warnings(own: Decisions, data: DataParams) -> list[str]:
    """What passed but changes what the model sees, or may be a problem: one line each, at
    most `brief.LINES`."""
    lines = [
        f"column '{clip(column, 60)}' {CONSEQUENCE[data.suspect_columns]}: {reason}"
        for column, reason in own.columns["suspect"].items()
    ]
    lines += [
        f"'{clip(column, 60)}' values merged, one per spelling group: "
        + listing(groups, sep="; ", shown=3)
        for column, groups in own.columns["spellings"].items()
    ]
    lines += [
        f"drift on '{clip(row['column'], 60)}': {row['metric']} {row['distance']} > "
        f"{row['threshold']} (validate.drift.action: warn)"
        for row in own.drift
        if row["verdict"] == "drift"
    ]
    return capped(lines, "warnings", FULL)


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
        "text_columns": own.columns["text"],
        "duplicates": own.duplicates,
        "drift": own.drift,
        "drift_skipped": other or None,
        "data_docs": datadocs.DOCS_INDEX,
    }


def decided_task(params: Params, tally: Tally, images: bool) -> str:
    """`data.task` for this data (`tasks.problems.choose`: a table's target, or a labels
    table's; class folders are classes); what `auto` chose is said once."""
    if images and read_findings(params.paths.raw) is None:
        return class_folders_task(params.data.task)
    task = choose(params.data.task, tally.target_facts, params.data.target)
    if params.data.task == "auto":
        facts = tally.target_facts.describe(params.data.target)
        print(f"validate: data.task auto: {task} ({facts})")
    return task


def run(params: Params) -> dict:
    phases, importing = Phases(), import_in_background(import_great_expectations)
    rules, raw = params.validate_, Path(params.paths.raw)
    images = raw_kind(raw) == "image"
    files = None if images else file_names(table_sources(raw))
    target = LABEL if images else params.data.target
    with phases("champion"):
        reference = champion_reference(params)
    tally = Tally(target, params.data, reference, 0 if images else table_rows(raw))
    batches = prefetched(raw_batches(params, images), phases)
    with phases("import great_expectations"):
        importing.join()
        expectations, _ = expectations_for(params, images, text_files=files is not None)
    results, names, count, runner = check_raw(params, expectations, tally, batches, phases, files)
    checks = [to_check(result, names) for result in results]
    kind = "image" if images else "table"
    task = decided_task(params, tally, images)
    features = set(tally.features())
    other = reference and mismatch(reference, kind, task, target, set(tally.classes), features)
    if other:
        tally.drift = None
        print(f"validate: drift not measured: {other}")
    with phases("own checks"):
        own = decide(tally, rules, params.data, runner, names, problem(task))
        labelled, labelled_results = label_checks(raw, params.data.source, runner)
    checks, results = checks + labelled + own.checks, results + labelled_results + own.results
    findings = read_findings(raw)
    report = report_of(tally, checks, own, other) | {"task": task}
    report["labels"] = asdict(findings) if findings else None
    about = {"source": params.data.source, "raw": str(raw), "files": count, "rows": tally.rows}
    with phases("data docs"):
        page = datadocs.publish(results, rules.suite or "trainflow", report["success"], about)
    write_json(Path(params.paths.reports) / "validation.json", report)
    if not report["success"]:
        raise DataValidationError(f"{params.data.source}: {summary(checks, page)}")
    for line in label_warnings(findings, params.data.source) + warnings(own, params.data):
        print(f"validate: warning: {line}")
    for column, found in own.columns["text"].items():
        print(f"validate: {describe_text(clip(column, 60), found)}; vectorised inside the model")
    print(f"validate: {len(checks)} checks passed on {tally.rows} rows; Data Docs: {page}")
    print(f"validate: {phases.line()}")
    return report


@stage_entry("validate")
def main() -> None:
    run(load_params())
