"""Which expectations validate runs: structural checks from params plus the committed suite."""

from __future__ import annotations

import json
from pathlib import Path

from tasks.common.errors import ParamsError
from tasks.common.params import Params, ValidateParams
from tasks.data.textfiles import TEXT
from tasks.validate import datadocs

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


def text_file_expectations() -> list:
    """Every file of a folder of text files is text, and not only blanks (each row is a file,
    so the examples name the files)."""
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToNotBeNull(
            column=TEXT,
            description="Every file is text, in UTF-8, UTF-16 or a code page",
        ),
        gxe.ExpectColumnValuesToMatchRegex(
            column=TEXT, regex=r"\S", description="No file is empty or only blanks"
        ),
    ]


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


def expectations_for(params: Params, images: bool, text_files: bool = False) -> tuple[list, str]:
    """Structural checks from params plus the committed suite; and the label column.

    Args:
        params: the validated params.
        images: the raw data is an image folder.
        text_files: the raw table was read from a folder of text files.
    """
    rules = params.validate_
    if images:
        found = structural_expectations(LABEL, rules, None) + image_expectations()
    else:
        named = [*(params.data.features or []), *(params.data.text_columns or [])]
        found = structural_expectations(params.data.target, rules, list(dict.fromkeys(named)))
        found += text_file_expectations() if text_files else []
    if rules.suite:
        found += load_suite(rules.suite)
    return unique(found), LABEL if images else params.data.target


def linked_columns(params: Params) -> list[set[str]]:
    """Column sets that one expectation of the suite reads together, from the suite's JSON
    (before Great Expectations is imported): a slab keeps each set in one column group."""
    name = params.validate_.suite
    path = Path(datadocs.GX_DIR) / "expectations" / f"{name}.json"
    if not name or not path.is_file():
        return []
    linked = []
    for expectation in json.loads(path.read_text()).get("expectations", []):
        kwargs = expectation.get("kwargs", {})
        columns = [kwargs.get(k) for k in ("column_A", "column_B")] + list(
            kwargs.get("column_list") or []
        )
        if len([c for c in columns if c]) > 1:
            linked.append({c for c in columns if c})
    return linked
