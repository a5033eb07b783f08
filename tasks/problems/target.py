"""What the target column holds, and the task `data.task: auto` makes of it.

Validate counts the facts batch by batch and prepare from the whole column, both with
`TargetFacts`, so the two stages always decide alike. `auto` picks regression for a column of
numbers with many distinct values (or any fractional ones), classification for text, booleans
and a few whole numbers; a column that could be either stops with one message naming
`data.task`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tasks.common.errors import DataValidationError

FEW_CLASSES = 20  # whole numbers with at most this many values are class labels
MANY_VALUES = 50  # whole numbers with more than this many values are quantities
MOSTLY_NUMBERS = 0.9  # share of values that parse as numbers for a column to look numeric
MAX_EXAMPLES = 5
SAMPLE = 1000  # values looked at to choose how to parse a text column


@dataclass
class TargetFacts:
    """Facts about the target's non-missing values, added batch by batch."""

    values: int = 0
    not_numbers: int = 0
    boolean: bool = False
    whole: bool = True
    distinct: set = field(default_factory=set)  # numbers seen, up to MANY_VALUES + 1
    examples: list[str] = field(default_factory=list)  # values that are not numbers, where

    def add(self, values: pd.Series, offset: int = 0) -> None:
        """Count a batch of target values; `offset` is the batch's first row in the table."""
        present = values.dropna()
        self.values += len(present)
        if pd.api.types.is_bool_dtype(values):
            self.boolean = True
            return
        numbers = _as_numbers(present)
        bad = numbers.isna()
        self.not_numbers += int(bad.sum())
        for row, value in present[bad].head(MAX_EXAMPLES - len(self.examples)).items():
            self.examples.append(f"row {offset + int(row)} ({value!r})")
        found = numbers[~bad].to_numpy(dtype=float)
        self.whole = self.whole and bool(np.all(found == np.floor(found)))
        if len(self.distinct) <= MANY_VALUES:
            self.distinct.update(pd.unique(found)[: MANY_VALUES + 1].tolist())

    @property
    def numeric(self) -> bool:
        return not self.boolean and self.values > 0 and self.not_numbers == 0

    def describe(self, target: str) -> str:
        """`'progression' holds more than 50 distinct numbers`."""
        count = len(self.distinct)
        many = f"more than {MANY_VALUES}" if count > MANY_VALUES else str(count)
        whole = "whole numbers" if self.whole else "numbers, some fractional"
        return f"'{target}' holds {many} distinct {whole}"


def _as_numbers(values: pd.Series) -> pd.Series:
    """`values` as numbers, NaN where a value is not one. Text is parsed one distinct value
    at a time when values repeat: a label column of a million rows holds a handful, and
    parsing every row took most of a second per million."""
    if pd.api.types.is_numeric_dtype(values):
        return pd.to_numeric(values)
    head = values.iloc[:SAMPLE]
    if head.nunique() > len(head) // 2:  # mostly distinct: numbers written as text
        return pd.to_numeric(values, errors="coerce")
    codes, distinct = pd.factorize(values)
    parsed = pd.to_numeric(pd.Series(distinct, dtype=object), errors="coerce")
    return pd.Series(parsed.to_numpy(dtype=float)[codes], index=values.index)


def choose(task: str, facts: TargetFacts, target: str) -> str:
    """The task for `data.task` (`auto`, `classification` or `regression`) and these facts.

    Raises:
        DataValidationError: `auto` cannot tell (a few dozen distinct whole numbers, or a
            column of numbers with some values that are not), naming `data.task`.
    """
    if task != "auto":
        return task
    if facts.numeric:
        if not facts.whole or len(facts.distinct) > MANY_VALUES:
            return "regression"
        if len(facts.distinct) <= FEW_CLASSES:
            return "classification"
        raise DataValidationError(
            f"data.task: auto cannot tell whether {facts.describe(target)}: class labels or "
            "a quantity; set data.task: classification or data.task: regression"
        )
    parsed = facts.values - facts.not_numbers
    mostly = facts.values and parsed / facts.values >= MOSTLY_NUMBERS
    if not facts.boolean and mostly and len(facts.distinct) > FEW_CLASSES:
        raise DataValidationError(
            f"data.task: auto cannot tell the task of '{target}': it holds numbers but "
            f"{facts.not_numbers} of {facts.values} values are not "
            f"(e.g. {', '.join(facts.examples)}); fix them, or set data.task"
        )
    return "classification"


def class_folders_task(task: str) -> str:
    """The task for images in class folders: the folders are classes.

    Raises:
        DataValidationError: `data.task: regression` (a labels table gives images numbers).
    """
    if task == "regression":
        raise DataValidationError(
            "data.task: regression needs a number per image, and an image folder's class "
            "folders are classes; use data.task: classification (or auto), or give each "
            "image its number in a labels table (data.labels)"
        )
    return "classification"
