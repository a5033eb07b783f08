"""Free text in a table: which string columns hold text, and how long their values are.

A review, a ticket or a description is a distinct value in nearly every row, as an id is, so
the identifier rule (`tasks.data.columns`) alone would drop it. What tells them apart is in
the data: text is several words per value, an id, a code or a UUID is one token. So a string
column is text when its values average at least MIN_WORDS words and most of them are distinct
(a multi-word category such as "less than 10 km" repeats). `data.text_columns` names them
instead (and `[]` turns the detection off).

The facts are counted over every value, batch by batch, so any cut of the table into batches
decides alike: a histogram of words per value (lengths, and drift on them, come from it), the
missing or blank values, and up to MAX_TRACKED distinct values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MIN_WORDS = 3.0  # mean words per value from which a string column is text
MIN_DISTINCT = 0.5  # distinct values per value from which it is text, not a category
MAX_TRACKED = 1_000  # distinct values counted exactly; more is "mostly distinct" enough
MAX_WORDS = 4_096  # words per value the histogram tells apart (longer ones count as this)
LENGTH = "words"  # what a text column's lengths (and drift on them) are measured in


def word_counts(values: pd.Series) -> np.ndarray:
    """Words (runs of non-space characters) per value; 0 for a missing or blank value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    strings = pa.array(values.astype("string"), type=pa.large_string(), from_pandas=True)
    words = pc.utf8_split_whitespace(pc.utf8_trim_whitespace(strings))
    counts = pc.list_value_length(words).fill_null(0).to_numpy(zero_copy_only=False)
    blank = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(strings)), 0)
    return np.where(blank.fill_null(True).to_numpy(zero_copy_only=False), 0, counts)


def _quantile(histogram: np.ndarray, share: float) -> int:
    """The length at `share` of the values counted in a histogram of lengths."""
    cumulative = np.cumsum(histogram)
    return int(np.searchsorted(cumulative, share * cumulative[-1], side="left"))


@dataclass
class TextFacts:
    """Words per value, blank values and distinct values of one string column, so far."""

    rows: int = 0
    blank: int = 0
    histogram: np.ndarray = field(default_factory=lambda: np.zeros(MAX_WORDS + 1, np.int64))
    distinct: np.ndarray | None = field(default_factory=lambda: np.array([], np.uint64))

    def add(self, values: pd.Series, hashed: np.ndarray) -> None:
        """Count a batch of the column; `hashed` is its `column_hash`."""
        words = word_counts(values)
        self.rows += len(values)
        self.blank += int((words == 0).sum())
        self.histogram += np.bincount(np.minimum(words, MAX_WORDS), minlength=MAX_WORDS + 1)
        if self.distinct is not None:
            found = pd.unique(np.concatenate([self.distinct, hashed[words > 0]]))
            self.distinct = found if len(found) <= MAX_TRACKED else None

    @property
    def values(self) -> int:
        """Values that hold at least one word."""
        return self.rows - self.blank

    def mean_words(self) -> float:
        return float(self.histogram @ np.arange(MAX_WORDS + 1)) / max(self.values, 1)

    def is_text(self) -> bool:
        """Several words per value, mostly distinct ones."""
        if not self.values or self.mean_words() < MIN_WORDS:
            return False
        return self.distinct is None or len(self.distinct) >= MIN_DISTINCT * self.values

    def report(self) -> dict:
        """What validate reports of a text column: its blank share and lengths in words."""
        share = round(self.blank / self.rows, 6) if self.rows else 0.0
        if not self.values:
            return {"empty_share": share, LENGTH: {}}
        present = self.histogram.copy()
        present[0] = 0
        lengths = {"min": int(np.flatnonzero(present)[0]), "max": int(np.flatnonzero(present)[-1])}
        lengths |= {f"p{int(q * 100)}": _quantile(present, q) for q in (0.05, 0.5, 0.95)}
        return {"empty_share": share, LENGTH: lengths | {"mean": round(self.mean_words(), 2)}}


def describe(column: str, report: dict) -> str:
    """`'review': text, 12 words per value (median; 5% to 95%: 3 to 40), 0.5% empty`."""
    words = report[LENGTH]
    if not words:
        return f"'{column}': text, every value empty"
    return (
        f"'{column}': text, {words['p50']} words per value (median; 5% to 95%: "
        f"{words['p5']} to {words['p95']}), {report['empty_share']:.1%} empty"
    )
