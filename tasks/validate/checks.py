"""Check outcomes in a user's words: what failed, on which column, what was seen, examples.

Both the failure message of the validate stage and reports/validation.json (which the flow
turns into a table artifact) are written from `Check`s: the report with everything observed,
the message with a few values of each list and how many more (`tasks.common.brief`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from tasks.common.brief import LINE, capped, clip, few, listing, some

MAX_EXAMPLES = 5
MISSING = "column missing"
FULL = "all in reports/validation.json and the Data Docs"


@dataclass
class Check:
    """One check's outcome; `description` (a suite's own wording) shows only in messages."""

    expectation: str
    column: str | None
    success: bool
    observed: Any = None
    unexpected_percent: float | None = None
    examples: list[Any] = field(default_factory=list)
    description: str | None = None

    def report(self) -> dict:
        """The report's entry: {expectation, column, success, observed, unexpected_percent,
        examples}."""
        keys = ("expectation", "column", "success", "observed", "unexpected_percent", "examples")
        return {key: getattr(self, key) for key in keys}

    def line(self, columns: list[str] | None = None) -> str:
        """The message's line (for this check, or the same check failing alike on several
        `columns`): lists and long values cut to a few (the report has them all)."""
        where = f" on column '{clip(self.column, 60)}'" if self.column else ""
        if columns:
            where = f" on {len(columns)} columns {few(map(repr, columns))}"
        about = f" ({clip(self.description, 120)})" if self.description else ""
        text = f"{self.expectation}{where}{about}: observed {some(self.observed)}"
        if self.unexpected_percent is not None:
            text += f" ({self.unexpected_percent:.1f}% unexpected)"
        if self.examples:
            text += f", e.g. {some(self.examples, width=220, each=100)}"
        return clip(text, LINE)


def clean(value: Any) -> Any:
    """A JSON-friendly scalar: numpy numbers as Python numbers (floats to 6 significant
    digits, as a person reads them), NaN as None."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float):
        return None if math.isnan(value) else float(f"{value:.6g}")
    return value


def error_of(result: Any) -> str:
    """Why an expectation could not run (GX nests the message under metric ids)."""
    info = result.exception_info or {}
    found = [info] + [v for v in info.values() if isinstance(v, dict)]
    messages = [i["exception_message"] for i in found if i.get("exception_message")]
    if not messages:
        return "could not run"
    return MISSING if "does not exist" in messages[0] else f"could not run: {messages[0]}"


def observed_of(result: Any) -> Any:
    details = result.result or {}
    value = details.get("observed_value")
    if value is not None:
        return value if isinstance(value, list | dict) else clean(value)
    if "unexpected_count" in details:
        checked = details["element_count"] - details.get("missing_count", 0)
        return f"{details['unexpected_count']} of {checked} values"
    if "partial_missing_list" in details:
        return f"{details.get('missing_count')} expected values absent"
    if result.success:
        return None
    return (
        MISSING if result.expectation_config.type == "expect_column_to_exist" else error_of(result)
    )


def examples_of(result: Any, names: pd.Series | None) -> list:
    """A few bad values with where they are: the row number, or the file for images."""
    details = result.result or {}
    mismatched = details.get("details", {}).get("mismatched")
    if isinstance(mismatched, dict):
        return [f"{kind}: {some(cols, width=80)}" for kind, cols in mismatched.items() if cols]
    if "partial_missing_list" in details:
        return [f"absent: {clean(v)}" for v in details["partial_missing_list"][:MAX_EXAMPLES]]
    values = [clean(v) for v in details.get("partial_unexpected_list", [])[:MAX_EXAMPLES]]
    rows = details.get("partial_unexpected_index_list")
    if not rows:
        return values
    where = [f"row {i}" if names is None else str(names.loc[i]) for i in rows[:MAX_EXAMPLES]]
    return [f"{w} ({v})" for w, v in zip(where, values, strict=False)]


def to_check(result: Any, names: pd.Series | None = None) -> Check:
    config = result.expectation_config
    percent = (result.result or {}).get("unexpected_percent")
    return Check(
        expectation=config.type,
        column=config.kwargs.get("column"),
        success=bool(result.success),
        observed=observed_of(result),
        unexpected_percent=None if percent is None else round(float(percent), 4),
        examples=[] if result.success else examples_of(result, names),
        description=config.description,
    )


def failure_lines(checks: list[Check]) -> list[str]:
    """One line per failure, at most `brief.LINES`; a missing column is one line, not one per
    expectation on it; several missing columns, or columns failing one check alike (same
    observation, no examples of their own), are one line too."""
    failed = [c for c in checks if not c.success]
    missing = list(dict.fromkeys(c.column for c in failed if c.observed == MISSING))

    def moot(check: Check) -> bool:
        return check.column in missing and str(check.observed).startswith((MISSING, "could not"))

    names = list(dict.fromkeys(c.expectation for c in failed if moot(c)))
    lines = [missing_line(missing, names)] if missing else []
    alike: dict[str, list[Check]] = {}  # the same failure on several columns is one line
    for check in (c for c in failed if not moot(c)):
        shared = check.column and not check.examples  # examples are each column's own
        key = replace(check, column=None).line() if shared else check.line()
        alike.setdefault(key, []).append(check)
    for first, *more in alike.values():
        columns = list(dict.fromkeys(c.column for c in [first, *more]))
        lines.append(first.line(columns if len(columns) > 1 else None))
    return capped(list(dict.fromkeys(lines)), "failed checks", FULL)


def missing_line(columns: list[str], expectations: list[str]) -> str:
    """`expect_column_to_exist on column 'x': column missing (so these could not run: ...)`,
    or for several columns `... 300 columns missing: 'a', 'b' and 298 more (...)`."""
    first = "expect_column_to_exist" if "expect_column_to_exist" in expectations else None
    first = first or expectations[0]
    others = [name for name in expectations if name != first]
    if len(columns) == 1:
        line = f"{first} on column '{clip(columns[0], 60)}': {MISSING}"
    else:
        line = f"{first}: {len(columns)} columns missing: {listing(map(repr, columns))}"
    return line + (f" (so these could not run: {listing(others)})" if others else "")
