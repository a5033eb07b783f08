"""Checks of a labels table against its folder (`data.labels`, `tasks.data.labels`).

Ingest joined the two and kept what it found in the raw data; here each finding becomes a
check: a label whose file is not in the folder and a file labelled twice with different
targets fail (which file, which label is meant?); a file without a label (left out) and a
file labelled twice alike (kept once) are warnings. Both failures also run as Great
Expectations expectations on a one-row summary, so the Data Docs page shows them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.common.brief import few
from tasks.data.labels import Findings, read_findings
from tasks.validate.checks import MAX_EXAMPLES, Check
from tasks.validate.runner import Runner

FAILURES = {  # summary column, expectation, what the files are
    "missing": ("labels_of_missing_files", "expect_labelled_files_to_exist", "not in the folder"),
    "conflicting": (
        "files_labelled_differently",
        "expect_one_label_per_file",
        "labelled more than once with different targets",
    ),
}


def label_checks(raw: str | Path, source: str, runner: Runner) -> tuple[list[Check], list]:
    """The failing findings as checks, with their GX results (none without a labels table)."""
    import great_expectations.expectations as gxe

    findings = read_findings(raw)
    if findings is None:
        return [], []
    summary = {column: [len(getattr(findings, key))] for key, (column, *_) in FAILURES.items()}
    expectations = [
        gxe.ExpectColumnValuesToBeBetween(
            column=column,
            max_value=0,
            description=f"Every file the labels table {findings.labels} names is in {source}, "
            "with one target",
        )
        for column, *_ in FAILURES.values()
    ]
    results = runner.run(pd.DataFrame(summary), expectations)
    checks = [
        Check(
            expectation=expectation,
            column=findings.column,
            success=not getattr(findings, key),
            observed=f"{len(getattr(findings, key))} files named in {findings.labels} "
            f"{words}" + (f" {source}" if key == "missing" else ""),
            examples=getattr(findings, key)[:MAX_EXAMPLES],
        )
        for key, (_, expectation, words) in FAILURES.items()
    ]
    return checks, results


def label_warnings(findings: Findings | None, source: str) -> list[str]:
    """Files left out for want of a label, and files labelled twice alike, in words."""
    if findings is None:
        return []
    lines = []
    if findings.unlabelled:
        lines.append(
            f"{len(findings.unlabelled)} of {findings.files} files in {source} have no label "
            f"in {findings.labels} (column '{findings.column}') and are left out: "
            f"{few(findings.unlabelled)}"
        )
    if findings.repeated:
        lines.append(
            f"{len(findings.repeated)} files are labelled more than once alike in "
            f"{findings.labels} and kept once: {few(findings.repeated)}"
        )
    return lines
