"""Per-column facts about raw data, gathered batch by batch: what `trainflow suite init`
drafts its expectations from (like the statistics TFX's SchemaGen reads)."""

from __future__ import annotations

import math
from collections import Counter

import pandas as pd

MAX_CATEGORIES = 50


class Profile:
    """Per-column facts from one pass over the data, batch by batch."""

    def __init__(self, target: str) -> None:
        self.target, self.rows = target, 0
        self.columns: dict[str, dict] = {}
        self.labels: Counter = Counter()

    def add(self, frame: pd.DataFrame) -> None:
        self.rows += len(frame)
        if self.target in frame.columns:
            self.labels.update(frame[self.target].dropna().tolist())
        for name in frame.columns:
            self._add_column(name, frame[name])

    def _add_column(self, name: str, values: pd.Series) -> None:
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        facts = self.columns.setdefault(
            name,
            {"dtype": str(values.dtype), "numeric": numeric, "nulls": 0, "values": set()},
        )
        facts["nulls"] += int(values.isna().sum())
        present = values.dropna()
        if facts["numeric"] and len(present):
            whole = pd.api.types.is_integer_dtype(values) or bool((present % 1 == 0).all())
            facts["integer"] = facts.get("integer", True) and whole
            facts["min"] = min(facts.get("min", math.inf), float(present.min()))
            facts["max"] = max(facts.get("max", -math.inf), float(present.max()))
        elif not facts["numeric"]:
            if len(present):
                longest = int(present.astype("string").str.len().max())
                facts["longest"] = max(facts.get("longest", 0), longest)
            if facts["values"] is not None:
                seen = facts["values"] | set(present.unique().tolist())
                facts["values"] = seen if len(seen) <= MAX_CATEGORIES else None
