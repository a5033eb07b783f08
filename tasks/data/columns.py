"""Which table columns can be features, and spellings that are one label or one category.

Three quiet ways a table spoils a model are decided here, for validate (which reports them),
prepare (which builds the model's features and labels from them) and `trainflow suite init`
(which drafts around them), from the same facts counted batch by batch:

- an identifier: a string column of single tokens (free text is a feature of its own,
  `tasks.data.text`), or a whole-number column numbered in sequence or named like
  an id (`id`, `order_id`, `customerId`, `uuid`), holding a distinct value in (nearly) every
  row. A model learns it by heart (train accuracy 1.0), and it means nothing for a new row;
- a constant column (one value in every row; for numbers missing values count as that value,
  since the model imputes them) or an all-missing one: nothing to learn from;
- labels or text values that differ only in case or surrounding spaces ("cat", "Cat ",
  "CAT"): one class split into several classes, one category into several.

`data.suspect_columns` decides what happens to the first two kinds (excluded with a warning by
default), `data.normalize_labels` and `data.normalize_categories` to the third.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tasks.common.params import DataParams
from tasks.common.samples import column_hash, is_numeric, row_keys
from tasks.data.text import TextFacts

ID_SHARE = 0.95  # distinct values per non-missing value from which a column looks like an id
MIN_ID_ROWS = 20  # with fewer values, every column looks unique
MAX_VALUES = 10_000  # distinct values of a text column whose spellings are compared
ID_NAME = re.compile(r"(^|[^a-z0-9])(id|uuid|guid|key)$")
CAMEL_ID = re.compile(r"[a-z0-9](Id|ID)$")
ASCII_SPACE = " \t\n\r\f\v"  # what tf.strings.strip removes, so the model folds alike


def fold(values: pd.Series) -> pd.Series:
    """Values as one spelling: surrounding spaces trimmed, lower case (missing stays missing).

    Python's `str.lower` (not Arrow's), which is what the model's `tf.strings.lower` does too.
    """
    return values.astype(pd.StringDtype("python")).str.strip(ASCII_SPACE).str.lower()


def normalized(frame: pd.DataFrame, data: DataParams, features: list[str]) -> pd.DataFrame:
    """The frame with labels and text features folded as `data.normalize_*` ask."""
    changed = {}
    if data.normalize_labels and data.target in frame.columns:
        changed[data.target] = fold(frame[data.target])
    if data.normalize_categories:
        changed |= {c: fold(frame[c]) for c in features if not is_numeric(frame[c])}
    return frame.assign(**changed) if changed else frame


def id_named(column: str) -> bool:
    return bool(ID_NAME.search(column.lower()) or CAMEL_ID.search(column))


@dataclass
class Facts:
    """One column's facts so far; the hashes are kept only while the column may be suspect."""

    rows: int = 0
    nulls: int = 0
    numeric: bool = True
    whole: bool = True
    low: float = np.inf
    high: float = -np.inf
    example: object = None
    seen: list[np.ndarray] | None = field(default_factory=list)  # distinct hashes per batch
    aligned: list[np.ndarray] | None = field(default_factory=list)  # every row's hash

    @property
    def values(self) -> int:
        return self.rows - self.nulls

    def distinct(self) -> int:
        """Distinct values so far (exact: the batches' hash sets are merged)."""
        if self.seen is None:
            return -1
        if len(self.seen) > 1:
            self.seen = [pd.unique(np.concatenate(self.seen))]
        return len(self.seen[0]) if self.seen else 0


class ColumnProfile:
    """Facts about every feature column, batch by batch, and the suspect columns they show.

    Args:
        total_rows: rows of the whole table (known before reading it), so a column that can
            no longer look like an id stops being hashed early.
        text_columns: `data.text_columns`: the free-text columns, or None to detect them.
    """

    def __init__(self, total_rows: int, text_columns: list[str] | None = None) -> None:
        self.total_rows = total_rows
        self.text_columns = text_columns
        self.facts: dict[str, Facts] = {}
        self.text: dict[str, TextFacts] = {}

    def add(self, frame: pd.DataFrame, hashes: dict[str, np.ndarray]) -> None:
        """Count one batch; `hashes` are `column_hash` of the columns to profile."""
        for column, hashed in hashes.items():
            facts = self.facts.setdefault(column, Facts())
            values = frame[column]
            missing = values.isna().to_numpy()
            _count(facts, values, missing)
            if self._may_be_text(column, values):
                self.text.setdefault(column, TextFacts()).add(values, hashed)
            if facts.seen is None:
                continue
            if not (facts.numeric and not facts.whole and facts.low < facts.high):
                facts.seen.append(pd.unique(hashed[~missing]))
                facts.aligned.append(hashed)
                if self._may_be_suspect(facts):
                    continue
            facts.seen = facts.aligned = None

    def _may_be_text(self, column: str, values: pd.Series) -> bool:
        if self.text_columns is not None:
            return column in self.text_columns
        return not is_numeric(values)

    def texts(self) -> list[str]:
        """The free-text columns, in the table's column order: named, or detected."""
        if self.text_columns is not None:
            return [c for c in self.facts if c in self.text_columns]
        return [c for c in self.facts if c in self.text and self.text[c].is_text()]

    def text_reports(self) -> dict[str, dict]:
        """Each text column's blank share and lengths (`TextFacts.report`)."""
        return {c: self.text[c].report() for c in self.texts() if c in self.text}

    def _may_be_suspect(self, facts: Facts) -> bool:
        """False once the column can be neither an id nor constant, whatever comes next."""
        known = sum(map(len, facts.seen))  # at least the distinct values so far
        if facts.numeric:
            known = min(known, facts.high - facts.low + 1)
        if facts.values - known > (1 - ID_SHARE) * self.total_rows:
            return facts.distinct() <= 1
        return True

    def suspects(self) -> dict[str, str]:
        """Suspect columns, each with why, in the table's column order."""
        found, texts = {}, set(self.texts())
        for column, facts in self.facts.items():
            reason = _why(column, facts, column in texts)
            if reason:
                found[column] = reason
        return found

    def contribution(self, columns: list[str]) -> np.ndarray | None:
        """What `columns` added to `row_keys`, row by row (None when nothing was added)."""
        kept = [c for c in columns if c in self.facts and self.facts[c].aligned]
        parts = {c: np.concatenate(self.facts[c].aligned) for c in kept}
        if not parts:
            return None
        return row_keys(parts, len(next(iter(parts.values()))))


def _count(facts: Facts, values: pd.Series, missing: np.ndarray) -> None:
    """Rows, missing values, an example; range and wholeness while the column may be an id."""
    nulls = int(missing.sum())
    facts.rows += len(values)
    facts.nulls += nulls
    if nulls == len(values) or facts.seen is None:
        return
    if facts.example is None:
        example = values.loc[values.first_valid_index()]
        facts.example = example.item() if hasattr(example, "item") else example
    if facts.numeric and is_numeric(values):
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        facts.low = min(facts.low, float(np.nanmin(numbers)))
        facts.high = max(facts.high, float(np.nanmax(numbers)))
        facts.whole = facts.whole and _whole(numbers[:1000]) and _whole(numbers)
    else:
        facts.numeric = facts.whole = False


def _whole(numbers: np.ndarray) -> bool:
    """Whether every number is a whole one (NaN aside); a short head decides most columns."""
    return bool(np.all((numbers == np.floor(numbers)) | np.isnan(numbers)))


def _why(column: str, facts: Facts, text: bool = False) -> str | None:
    if facts.rows and not facts.values:
        return "all missing"
    if facts.seen is None:
        return None
    distinct = facts.distinct()
    if distinct == 1 and (facts.numeric or not facts.nulls):
        return f"constant: every row holds {facts.example!r}"
    if text or facts.values < MIN_ID_ROWS or distinct < ID_SHARE * facts.values:
        return None
    sequence = facts.whole and facts.high - facts.low + 1 <= 2 * distinct
    if not facts.numeric or (facts.whole and (sequence or id_named(column))):
        return f"looks like an identifier: {distinct:,} distinct values in {facts.values:,} rows"
    return None


def profile_of(
    frame: pd.DataFrame,
    columns: list[str],
    text_columns: list[str] | None = None,
    slice_rows: int = 100_000,
) -> ColumnProfile:
    """The `ColumnProfile` of a frame in memory, hashed a slice and a column at a time."""
    profile = ColumnProfile(len(frame), text_columns)
    for start in range(0, len(frame), slice_rows):
        part = frame.iloc[start : start + slice_rows]
        for column in columns:
            profile.add(part, {column: column_hash(part[column])})
    return profile


def suspects_of(frame: pd.DataFrame, columns: list[str], slice_rows: int = 100_000) -> dict:
    """`ColumnProfile.suspects` of a frame in memory (free text detected)."""
    return profile_of(frame, columns, slice_rows=slice_rows).suspects()


def features_after(features: list[str], suspects: dict[str, str], policy: str) -> list[str]:
    """The model's features: `features` without the suspects, unless the policy keeps them."""
    return [c for c in features if policy != "exclude" or c not in suspects]


def spellings(counts: Counter) -> list[list[tuple[str, int]]]:
    """Groups of values that are one value after `fold`, most frequent spelling first."""
    groups: dict[str, list[tuple[str, int]]] = {}
    for value, n in counts.items():
        key = str(value).strip(ASCII_SPACE).lower()
        groups.setdefault(key, []).append((str(value), int(n)))
    found = [sorted(g, key=lambda vn: (-vn[1], vn[0])) for g in groups.values() if len(g) > 1]
    return sorted(found, key=lambda g: -sum(n for _, n in g))


def describe_spellings(group: list[tuple[str, int]]) -> str:
    """`'cat' 120, 'Cat ' 35, 'CAT' 12`."""
    return ", ".join(f"{value!r} {n}" for value, n in group)
