"""Draft an expectation suite from the current raw data, like TFX's SchemaGen.

`trainflow suite init` writes gx/expectations/<validate.suite>.json: a normal Great
Expectations suite that states what the data looks like today, with room for growth. It is a
draft to read, edit and commit; later data that breaks it fails the validate stage.

The rules are in NOTES below (each drafted expectation's `notes` repeat its rule); images get
decodability, today's channel counts, size bounds, few duplicates and the label rules.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pandas as pd

from flows.suite.findings import Findings
from flows.suite.labels import NOTE, label_expectations
from flows.suite.profile import Profile
from tasks.common.errors import DataValidationError, ExitCode, TrainflowError
from tasks.common.params import Params
from tasks.data.layout import raw_kind, table_parts
from tasks.data.manifest import manifest
from tasks.data.tables import table_batches, table_rows
from tasks.problems import choose, problem
from tasks.validate.datadocs import GX_DIR
from tasks.validate.tally import Tally

DEFAULT_SUITE = "trainflow"
MARGIN = 0.1
NUMERIC_TYPES = [
    *(f"int{bits}" for bits in (8, 16, 32, 64)),
    *(f"uint{bits}" for bits in (8, 16, 32, 64)),
    *(f"float{bits}" for bits in (16, 32, 64)),
]


class SuiteError(TrainflowError):
    """A suite cannot be drafted: it exists (and no --force), or there is no raw data."""

    code = ExitCode.USAGE


NOTES = {
    "nulls": "trainflow suite init: up to twice the share of nulls seen, plus 1 point.",
    "numbers": f"trainflow suite init: the range seen, widened by {MARGIN:.0%} of its span.",
    "values": "trainflow suite init: the values seen.",
    "labels": NOTE,
    "rows": "trainflow suite init: between half and ten times the rows seen.",
    "images": "trainflow suite init: what the images seen look like.",
    "text": "trainflow suite init: free text; up to twice the share of blank values seen, "
    "plus 1 point.",
    "length": "trainflow suite init: free text up to twice the longest value seen (characters).",
}


def widened(facts: dict) -> tuple[float, float]:
    """Today's range plus MARGIN of its span on each side (whole numbers stay whole)."""
    low, high = float(facts["min"]), float(facts["max"])
    span = (high - low) * MARGIN
    if facts["integer"]:
        return math.floor(low - span), math.ceil(high + span)
    return low - span, high + span


def null_mostly(nulls: int, rows: int) -> float:
    share = nulls / rows if rows else 0.0
    return round(max(0.0, 1 - min(1.0, 2 * share + 0.01)), 4)


def column_expectations(name: str, facts: dict, rows: int, label: bool, suspect=False) -> list:
    """Presence, nulls, type and values of one column (a label's values: see labels; a
    suspect column's values are left free: tomorrow's order numbers are new ones)."""
    import great_expectations.expectations as gxe

    mostly = null_mostly(facts["nulls"], rows)
    found = [gxe.ExpectColumnToExist(column=name)]
    if mostly > 0:  # at 0 the expectation would hold for any column
        found.append(
            gxe.ExpectColumnValuesToNotBeNull(column=name, mostly=mostly, notes=NOTES["nulls"])
        )
    if rows and facts["nulls"] == rows:  # missing in every row today: no type to state
        return found
    if facts["numeric"]:
        found.append(gxe.ExpectColumnValuesToBeInTypeList(column=name, type_list=NUMERIC_TYPES))
    else:
        found.append(gxe.ExpectColumnTypeToBe(column=name, type_=facts["dtype"]))
    if label or suspect:
        return found
    if facts["numeric"] and "min" in facts:
        low, high = widened(facts)
        found.append(
            gxe.ExpectColumnValuesToBeBetween(
                column=name, min_value=low, max_value=high, notes=NOTES["numbers"]
            )
        )
    elif not facts["numeric"] and facts["values"] is not None:
        values = sorted(facts["values"], key=str)
        found.append(
            gxe.ExpectColumnValuesToBeInSet(column=name, value_set=values, notes=NOTES["values"])
        )
    return found


def text_expectations(name: str, facts: dict, report: dict, rows: int) -> list:
    """A free-text column's words and length: never its values (tomorrow's reviews are new)."""
    import great_expectations.expectations as gxe

    blank = round(report["empty_share"] * rows)  # blank or missing, of every row
    found = [
        gxe.ExpectColumnValuesToMatchRegex(
            column=name, regex=r"\S", mostly=null_mostly(blank, rows), notes=NOTES["text"]
        )
    ]
    if facts.get("longest"):
        found.append(
            gxe.ExpectColumnValueLengthsToBeBetween(
                column=name, min_value=0, max_value=2 * facts["longest"], notes=NOTES["length"]
            )
        )
    return found


def table_suite(profile: Profile, findings: Findings, task: str) -> list:
    """The table's columns and rows; a class label's known values, or a number's range
    (`data.task`, as validate decides it)."""
    import great_expectations.expectations as gxe

    numbers = problem(task).numeric_target

    found = [
        gxe.ExpectTableColumnsToMatchSet(column_set=list(profile.columns), exact_match=True),
        gxe.ExpectTableRowCountToBeBetween(
            min_value=profile.rows // 2, max_value=profile.rows * 10, notes=NOTES["rows"]
        ),
    ]
    for name, facts in profile.columns.items():
        label = name == profile.target and not numbers
        if name in findings.texts:  # its values are left free, as a suspect's are
            found += column_expectations(name, facts, profile.rows, label, suspect=True)
            found += text_expectations(name, facts, findings.texts[name], profile.rows)
            continue
        suspect = name in findings.suspects
        found += column_expectations(name, facts, profile.rows, label, suspect)
    if numbers:
        return found
    return found + label_expectations(profile.target, profile.labels, findings.merged)


def image_suite(images: pd.DataFrame, findings: Findings) -> list:
    """Decodable files, today's channels, sizes within bounds, few duplicates, known labels."""
    import great_expectations.expectations as gxe

    rows, readable = len(images), images[images["decodable"]]
    found = [
        gxe.ExpectTableRowCountToBeBetween(
            min_value=rows // 2, max_value=rows * 10, notes=NOTES["rows"]
        ),
        gxe.ExpectColumnValuesToBeInSet(column="decodable", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(
            column="channels",
            value_set=sorted(readable["channels"].unique().tolist()),
            notes=NOTES["images"],
        ),
    ]
    for side in ("height", "width"):
        facts = {"min": readable[side].min(), "max": readable[side].max(), "integer": True}
        low, high = widened(facts)
        found.append(
            gxe.ExpectColumnValuesToBeBetween(
                column=side, min_value=low, max_value=high, notes=NOTES["images"]
            )
        )
    repeated = int(images["hash"].duplicated(keep=False).sum())
    found.append(
        gxe.ExpectColumnValuesToBeUnique(
            column="hash", mostly=null_mostly(repeated, rows), notes=NOTES["images"]
        )
    )
    labels = Counter(images["label"].tolist())
    return found + label_expectations("label", labels, findings.merged)


def draft(params: Params) -> tuple[list, dict]:
    """The expectations today's raw data suggests, and what they were drafted from."""
    raw = Path(params.paths.raw)
    about = {"trainflow": {"drafted_from": params.data.source, "raw": str(raw)}}
    if raw_kind(raw) == "image":
        images = manifest(raw / "images")
        if not images["decodable"].any():  # nothing to learn channels and sizes from
            raise DataValidationError(
                f"{raw / 'images'}: none of its {len(images)} images could be decoded"
            )
        tally = Tally("label", params.data, None)
        tally(images, images=True)
        about["trainflow"]["rows"] = len(images)
        findings = Findings.of(tally, params.data)
        return image_suite(images, findings), about | {"findings": findings}
    if not table_parts(raw):
        raise SuiteError(f"no raw data in {raw}: run `dvc repro ingest` (or `trainflow run`) first")
    profile = Profile(params.data.target)
    tally = Tally(params.data.target, params.data, None, table_rows(raw))
    for frame in table_batches(raw, params.validate_.batch_mb):
        profile.add(frame)
        tally(frame)
    about["trainflow"]["rows"] = profile.rows
    findings = Findings.of(tally, params.data)
    task = choose(params.data.task, tally.target_facts, params.data.target)
    return table_suite(profile, findings, task), about | {"findings": findings}


def init_suite(params: Params, force: bool = False) -> Path:
    """Write a draft suite, gx/expectations/<validate.suite or "trainflow">.json.

    Raises:
        SuiteError: the suite exists and `force` is False (a reviewed suite is never lost
            silently), or there is no raw data to learn from.
    """
    import great_expectations as gx

    name = params.validate_.suite or DEFAULT_SUITE
    path = Path(GX_DIR) / "expectations" / f"{name}.json"
    if path.exists() and not force:
        raise SuiteError(
            f"{path} exists; edit it, or replace it with a new draft: trainflow suite init --force"
        )
    expectations, about = draft(params)
    for line in about.pop("findings").lines(params.data):
        print(f"suite: warning: {line}")
    context = gx.get_context(mode="file", project_root_dir=".")
    if path.exists():
        context.suites.delete(name)
    context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations, meta=about))
    if params.validate_.suite is None:
        print(f"suite: set `validate.suite: {name}` in params.yaml to check data against it")
    return path
