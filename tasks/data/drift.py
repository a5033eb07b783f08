"""Drift: how far new raw data is from the data the production model was trained on.

prepare writes `reference.json`, statistics of the training split; the registry keeps a copy
with every registered version, and validate compares new raw data with the champion's copy.

- Numeric columns (image intensity too): the population stability index over the reference's
  quantile bins, PSI = sum((new - ref) * ln(new / ref)), shares floored at 1e-4. Rule of thumb:
  under 0.1 stable, 0.1 to 0.25 a moderate shift, over 0.25 a major one. Bins hold at least
  ~50 training rows each (at most 10 bins), so a small dataset does not look drifted by chance.
- Categorical columns, labels, image sizes and channels: the L-infinity distance, the largest
  change in the share of any one value (0.1: some value gained or lost 10 percentage points).
- Free-text columns: PSI on their length in words (`"measure": "words"`): texts that grew
  much longer or shorter than those the model learned from; and the rise in the share of
  their words outside the training vocabulary (`tasks.data.vocabulary`): texts of the same
  length about other things.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from tasks.common.params import DriftParams
from tasks.data.text import LENGTH, word_counts
from tasks.data.vocabulary import VOCABULARY, VocabularyCounter, vocabulary_reference

QUANTILES = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)
MAX_BINS = 10
ROWS_PER_BIN = 50
MAX_CATEGORIES = 50
OTHER = "__other__"
FLOOR = 1e-4


def _numbers(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)


def bin_counts(x: np.ndarray, edges: list[float]) -> np.ndarray:
    """Counts of `x` in the bins (-inf, e0), [e0, e1), ..., [e_last, inf)."""
    return np.bincount(np.searchsorted(edges, x, side="right"), minlength=len(edges) + 1)


def numeric_reference(values: pd.Series) -> dict:
    """Quantile bin edges with the training shares in each bin, plus summary quantiles."""
    x = _numbers(values)
    if not len(x):
        return {"type": "numeric", "count": 0, "edges": [], "shares": [], "quantiles": {}}
    bins = int(np.clip(len(x) // ROWS_PER_BIN, 2, MAX_BINS))
    edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1]))
    if x.min() == x.max():  # a constant column: a bin of its own, so any other value shows
        edges = np.array([x[0], np.nextafter(x[0], np.inf)])
    return {
        "type": "numeric",
        "count": len(x),
        "edges": edges.tolist(),
        "shares": (bin_counts(x, edges.tolist()) / len(x)).round(6).tolist(),
        "quantiles": dict(
            zip(map(str, QUANTILES), np.quantile(x, QUANTILES).tolist(), strict=True)
        ),
        "mean": float(x.mean()),
        "std": float(x.std()),
    }


def categorical_reference(values: pd.Series) -> dict:
    """Shares of the most frequent values; the rest share one `__other__` bucket."""
    counts = values.dropna().astype(str).value_counts()
    shares = (counts / counts.sum()).round(6) if len(counts) else counts
    top = {str(k): float(v) for k, v in shares.iloc[:MAX_CATEGORIES].items()}
    if len(shares) > MAX_CATEGORIES:
        top[OTHER] = float(shares.iloc[MAX_CATEGORIES:].sum())
    return {"type": "categorical", "count": int(counts.sum()), "shares": top}


def measured(values: pd.Series, spec: dict) -> pd.Series:
    """What a reference column compares: the values, or a text's length in words."""
    if spec.get("measure") == LENGTH:
        return pd.Series(word_counts(values), index=values.index).where(values.notna())
    return values


def reference_stats(
    frame: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    text: list[str] = (),
    **meta: object,
) -> dict:
    """Statistics of a training split that later raw data is compared with."""
    columns = {c: numeric_reference(frame[c]) for c in numeric}
    columns |= {c: categorical_reference(frame[c]) for c in categorical}
    length = {"measure": LENGTH}
    columns |= {
        c: numeric_reference(measured(frame[c], length))
        | length
        | {"vocabulary": vocabulary_reference(frame[c])}
        for c in text
    }
    for name, stats in columns.items():
        stats["null_share"] = round(float(frame[name].isna().mean()), 6) if len(frame) else 0.0
    return {"rows": len(frame), **meta, "columns": columns}


def psi(reference: list[float], counts: np.ndarray) -> float:
    expected = np.maximum(np.asarray(reference, dtype=float), FLOOR)
    actual = np.maximum(counts / counts.sum(), FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def linf(reference: dict[str, float], counts: Counter) -> float:
    total = sum(counts.values())
    keys = set(reference) | set(counts)
    return max(abs(counts.get(k, 0) / total - reference.get(k, 0.0)) for k in keys)


class DriftCounter:
    """Counts new data into the reference's bins and categories, one batch at a time, so a
    table of any size is compared without holding it in memory."""

    def __init__(self, reference: dict) -> None:
        self.columns: dict[str, dict] = reference["columns"]
        self.counts: dict[str, np.ndarray | Counter] = {
            name: np.zeros(len(spec["edges"]) + 1, dtype=np.int64)
            if spec["type"] == "numeric"
            else Counter()
            for name, spec in self.columns.items()
        }
        self.vocabularies = {
            name: VocabularyCounter(spec["vocabulary"])
            for name, spec in self.columns.items()
            if "vocabulary" in spec  # a text column (references from before have none)
        }

    def add(self, frame: pd.DataFrame) -> None:
        for name, spec in self.columns.items():
            if name not in frame.columns:
                continue
            if name in self.vocabularies:
                self.vocabularies[name].add(frame[name])
            if spec["type"] == "numeric":
                values = measured(frame[name], spec)
                self.counts[name] += bin_counts(_numbers(values), spec["edges"])
                continue
            known = spec["shares"]
            for value, n in frame[name].dropna().astype(str).value_counts().items():
                self.counts[name][value if value in known or OTHER not in known else OTHER] += n

    def report(self, p: DriftParams) -> list[dict]:
        """Every reference column's distance, threshold and verdict (ok, drift, missing)."""
        rows = []
        for name, spec in self.columns.items():
            numeric = spec["type"] == "numeric"
            counts = self.counts[name]
            total = counts.sum() if numeric else sum(counts.values())
            threshold = p.columns.get(
                name, p.numeric_threshold if numeric else p.categorical_threshold
            )
            distance = None
            if total and spec["shares"]:
                value = psi(spec["shares"], counts) if numeric else linf(spec["shares"], counts)
                distance = round(value, 4)
            metric = ("psi" if numeric else "linf") + (" of words" if spec.get("measure") else "")
            rows.append(row(name, metric, distance, threshold))
            if name in self.vocabularies:
                rows.append(self.vocabulary_row(name, p))
        return rows

    def vocabulary_row(self, name: str, p: DriftParams) -> dict:
        """A text column's words against the training split's (`tasks.data.vocabulary`)."""
        counter = self.vocabularies[name]
        found = counter.distance()
        distance = None if found is None else round(found, 4)
        return row(name, VOCABULARY, distance, p.vocabulary_threshold) | counter.shares()


def row(column: str, metric: str, distance: float | None, threshold: float) -> dict:
    """One line of the drift report: a column's distance, its threshold and the verdict."""
    verdict = "missing" if distance is None else "ok" if distance <= threshold else "drift"
    return {
        "column": column,
        "metric": metric,
        "distance": distance,
        "threshold": threshold,
        "verdict": verdict,
    }
