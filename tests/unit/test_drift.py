"""Drift distances: PSI on reference quantile bins, L-infinity on category shares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tasks.common.params import DriftParams
from tasks.data.drift import OTHER, DriftCounter, categorical_reference, psi, reference_stats

RNG = np.random.default_rng(0)


def frame(rows: int = 2000, shift: float = 0.0, yes: float = 0.5) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": RNG.normal(shift, 1, rows),
            "label": np.where(RNG.random(rows) < yes, "yes", "no"),
        }
    )


def compare(reference: dict, new: pd.DataFrame, **params: object) -> dict[str, dict]:
    counter = DriftCounter(reference)
    for part in np.array_split(np.arange(len(new)), 3):
        counter.add(new.iloc[part])
    return {row["column"]: row for row in counter.report(DriftParams(**params))}


def test_same_distribution_is_ok_and_a_shift_is_drift():
    reference = reference_stats(frame(), ["x"], ["label"])
    same = compare(reference, frame())
    assert same["x"]["verdict"] == "ok" and same["x"]["distance"] < 0.05
    assert same["label"]["verdict"] == "ok" and same["label"]["metric"] == "linf"
    moved = compare(reference, frame(shift=1.0, yes=0.8))
    assert moved["x"]["verdict"] == "drift" and moved["x"]["distance"] > 0.25
    assert moved["label"]["distance"] == pytest.approx(0.3, abs=0.05)


def test_per_column_threshold_overrides_the_default():
    reference = reference_stats(frame(), ["x"], ["label"])
    rows = compare(reference, frame(shift=1.0), columns={"x": 10.0})
    assert rows["x"]["threshold"] == 10.0 and rows["x"]["verdict"] == "ok"


def test_psi_is_zero_for_identical_shares_and_grows_with_difference():
    assert psi([0.5, 0.5], np.array([50, 50])) == pytest.approx(0)
    assert psi([0.5, 0.5], np.array([60, 40])) < psi([0.5, 0.5], np.array([90, 10]))


def test_small_data_gets_fewer_bins_and_a_constant_column_its_own_bin():
    small = reference_stats(pd.DataFrame({"x": np.arange(120.0)}), ["x"], [])
    assert len(small["columns"]["x"]["shares"]) == 2
    constant = reference_stats(pd.DataFrame({"x": np.full(500, 3.0)}), ["x"], [])
    rows = compare(constant, pd.DataFrame({"x": np.full(100, 4.0)}))
    assert rows["x"]["verdict"] == "drift"


def test_rare_categories_share_an_other_bucket():
    values = pd.Series([f"v{i}" for i in range(80)] * 2)
    shares = categorical_reference(values)["shares"]
    assert len(shares) == 51 and shares[OTHER] == pytest.approx(30 / 80)


def test_a_column_absent_from_new_data_is_reported_missing():
    reference = reference_stats(frame(), ["x"], ["label"])
    rows = compare(reference, frame().drop(columns="x"))
    assert rows["x"]["verdict"] == "missing" and rows["x"]["distance"] is None


def texts(words: list[str], rows: int, seed: int) -> pd.DataFrame:
    """Texts of 6 to 20 words drawn from `words` by Zipf's law, as words in text are (same
    lengths whatever the words)."""
    rng = np.random.default_rng(seed)
    lengths, zipf = rng.integers(6, 21, rows), 1 / np.arange(1, len(words) + 1)
    drawn = [rng.choice(words, n, p=zipf / zipf.sum()) for n in lengths]
    return pd.DataFrame({"review": [" ".join(words) for words in drawn]})


def test_text_of_another_vocabulary_drifts_and_the_same_one_does_not():
    usual = [f"w{i}" for i in range(3000)]
    reference = reference_stats(texts(usual, 2000, 0), [], [], ["review"])
    assert len(reference["columns"]["review"]["vocabulary"]["tokens"]) == 2000
    rows = {row["metric"]: row for row in DriftCounter(reference).report(DriftParams())}
    assert set(rows) == {"psi of words", "oov rate rise"}
    counter = DriftCounter(reference)
    counter.add(texts(usual, 300, 1))
    vocabulary = {r["metric"]: r for r in counter.report(DriftParams())}["oov rate rise"]
    assert vocabulary["verdict"] == "ok" and vocabulary["distance"] < 0.05
    counter = DriftCounter(reference)
    counter.add(texts([f"x{i}" for i in range(3000)], 300, 2))
    rows = [r for r in counter.report(DriftParams()) if r["verdict"] == "drift"]
    assert [(r["column"], r["metric"]) for r in rows] == [("review", "oov rate rise")]
    assert rows[0]["oov_share"] == 1.0  # lengths alike: only the words drift
