"""Validate's own counts over the raw data, gathered batch by batch in the single pass.

Rows per class, duplicated samples, drift, suspect columns and label or category spellings
need the whole dataset, not one batch, so `Tally` counts them as the batches (or slabs: some
columns of some rows) go by and
`tasks.validate.decisions` decides at the end. Labels and text values are counted as written
(for the spelling check) and then normalised as `data.normalize_*` asks, so classes, sample
keys, column facts and drift are those of the data prepare will train on.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from tasks.common.params import DataParams
from tasks.common.samples import add_to_keys, column_hash, is_numeric
from tasks.data.columns import MAX_VALUES, ColumnProfile, fold, normalized
from tasks.data.drift import DriftCounter
from tasks.data.manifest import duplicates, image_view
from tasks.problems import TargetFacts


def _counts(values: pd.Series) -> dict[str, int]:
    counts = values.value_counts()
    return {str(value): int(n) for value, n in counts.items()}


class Tally:
    """Counts rows, classes, missing labels, spellings, column facts, one key per sample and
    drift, batch by batch.

    Args:
        target: the label column.
        data: `data` params (features, normalisation, what to do with suspect columns).
        reference: the champion's training statistics (drift), or None.
        total_rows: rows of the whole table, known up front (see `ColumnProfile`).
    """

    def __init__(self, target: str, data: DataParams, reference: dict | None, total_rows=0):
        self.target, self.data = target, data
        self.rows = self.null_targets = 0
        self.classes: Counter = Counter()
        self.spelled: dict[str, Counter | None] = {target: Counter()}
        self.profile = ColumnProfile(total_rows, data.text_columns)
        self.seen: dict[str, None] = {}  # feature columns, in the table's order
        self.keys: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.drift = DriftCounter(reference) if reference else None
        self.target_facts = TargetFacts()  # what `data.task: auto` decides from

    def __call__(self, frame: pd.DataFrame, images: bool = False, first: bool = True) -> None:
        """Count a batch; or a slab (`tasks.data.slabs.Slab`): some columns of some rows,
        `first` for the slab of those rows that holds the label and opens their keys."""
        written, features = frame, [] if images else self._features(frame)
        for column in features:
            if not is_numeric(frame[column]):
                self._spell(column, frame[column])
        if not images:
            frame = normalized(frame, self.data, features)
        elif self.data.normalize_labels:
            frame = frame.assign(**{self.target: fold(frame[self.target])})
        if first:
            self._rows(written, frame, images)
        if images:
            self.keys.append(frame["hash"].to_numpy())
        for column in features:
            hashed = column_hash(frame[column])
            self.profile.add(frame, {column: hashed})
            add_to_keys(self.keys[-1], column, hashed)
        if self.drift:
            self.drift.add(image_view(frame) if images else frame)

    def _rows(self, written: pd.DataFrame, frame: pd.DataFrame, images: bool) -> None:
        """Rows, labels (as written, and as normalised) and a fresh key per row."""
        missing = pd.Series(np.nan, index=frame.index, dtype=object)
        spelled = self._spell(self.target, written.get(self.target, missing))
        labels = frame.get(self.target, missing)
        self.target_facts.add(written.get(self.target, missing).reset_index(drop=True), self.rows)
        self.rows += len(frame)
        self.null_targets += int(labels.isna().sum())
        self.classes.update(_counts(labels) if self.data.normalize_labels else spelled)
        self.labels.append(pd.util.hash_pandas_object(labels.astype(str), index=False).to_numpy())
        if not images:
            self.keys.append(np.zeros(len(frame), dtype=np.uint64))

    def _features(self, frame: pd.DataFrame) -> list[str]:
        wanted = self.data.features or [c for c in frame.columns if c != self.target]
        present = [c for c in wanted if c in frame.columns]
        self.seen.update(dict.fromkeys(present))
        return present

    def _spell(self, column: str, values: pd.Series) -> dict[str, int]:
        """Count values as written (up to MAX_VALUES distinct ones per feature column)."""
        counts = self.spelled.setdefault(column, Counter())
        if counts is None:
            return {}
        found = _counts(values)
        counts.update(found)
        if len(counts) > MAX_VALUES and column != self.target:
            self.spelled[column] = None
        return found

    def suspects(self) -> dict[str, str]:
        return self.profile.suspects()

    def texts(self) -> dict[str, dict]:
        """The free-text feature columns prepare will vectorise, each with its lengths."""
        return self.profile.text_reports()

    def spellings(self) -> dict[str, Counter]:
        """Values as written per label or category column (free text is not compared)."""
        texts = set(self.profile.texts())
        return {c: n for c, n in self.spelled.items() if n and c not in texts}

    def excluded(self) -> list[str]:
        """Suspect columns left out of the features (`data.suspect_columns: exclude`)."""
        return list(self.suspects()) if self.data.suspect_columns == "exclude" else []

    def features(self) -> list[str]:
        """The feature columns prepare will keep."""
        return [c for c in self.seen if c not in set(self.excluded())]

    def duplicates(self, max_share: float, names: pd.Series | None) -> dict:
        """Repeated samples over the features prepare keeps (an id column hides none)."""
        keys = np.concatenate(self.keys) if self.keys else np.array([], dtype=np.uint64)
        labels = np.concatenate(self.labels) if self.labels else np.array([], dtype=np.uint64)
        left_out = self.profile.contribution(self.excluded())
        if left_out is not None:
            keys = keys - left_out
        return duplicates(keys, labels, max_share, None if names is None else names.tolist())
