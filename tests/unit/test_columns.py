"""Suspect columns, free text and spellings, decided the same however the table is cut into
batches."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from tasks.common.samples import column_hash, row_keys
from tasks.data.columns import (
    ColumnProfile,
    describe_spellings,
    features_after,
    fold,
    profile_of,
    spellings,
    suspects_of,
)
from tasks.data.text import word_counts
from tests.texts import reviews

ROWS = 400
RNG = np.random.default_rng(7)


def messy(rows: int = ROWS) -> pd.DataFrame:
    """Ordinary features beside every kind of suspect column."""
    return pd.DataFrame(
        {
            "order_no": np.arange(100_001, 100_001 + rows),  # numbered in sequence
            "customer_id": RNG.choice(10**9, rows, replace=False),  # named like an id
            "income": RNG.choice(10**9, rows, replace=False),  # unique, but a measurement
            "ticket": [f"T-{RNG.integers(10**9)}" for _ in range(rows)],  # unique text
            "price": RNG.normal(50, 10, rows),  # unique floats are numbers, not ids
            "age": RNG.integers(18, 90, rows),
            "color": RNG.choice(["red", "green"], rows),
            "country": "FR",
            "version": np.where(RNG.random(rows) < 0.3, np.nan, 2.0),  # one value or missing
            "coupon": np.where(RNG.random(rows) < 0.5, None, "WINTER"),  # missing is a value
            "notes": pd.Series([None] * rows, dtype=object),
        }
    )


def test_suspects_are_ids_constants_and_empty_columns_with_reasons():
    found = suspects_of(messy(), list(messy().columns))
    assert set(found) == {"order_no", "customer_id", "ticket", "country", "version", "notes"}
    assert found["order_no"] == "looks like an identifier: 400 distinct values in 400 rows"
    assert found["country"] == "constant: every row holds 'FR'"
    assert found["version"] == "constant: every row holds 2.0"
    assert found["notes"] == "all missing"


def test_small_tables_have_no_ids():
    frame = messy(12)
    assert "order_no" not in suspects_of(frame, ["order_no", "ticket"])


@pytest.mark.parametrize("batch", [1, 37, 150, ROWS])
def test_batches_decide_as_the_whole_table(batch):
    frame = messy()
    whole = suspects_of(frame, list(frame.columns))
    assert suspects_of(frame, list(frame.columns), slice_rows=batch) == whole


def test_an_id_that_repeats_now_and_then_is_still_one_but_a_code_is_not():
    frame = pd.DataFrame({"id": np.r_[np.arange(380), np.arange(20)], "code": np.arange(400) % 50})
    assert set(suspects_of(frame, ["id", "code"])) == {"id"}


def test_int_and_float_batches_of_one_column_hash_alike():
    ints, floats = pd.Series([1, 2, 3]), pd.Series([1.0, 2.0, 3.0])
    assert (column_hash(ints) == column_hash(floats)).all()


def test_a_left_out_column_is_taken_out_of_the_sample_keys():
    frame = pd.DataFrame({"id": np.arange(6), "x": [1, 1, 2, 2, 3, 3], "c": list("aabbcc")})
    profile = ColumnProfile(len(frame))
    hashes = {c: column_hash(frame[c]) for c in frame.columns}
    for part in (slice(0, 4), slice(4, 6)):
        profile.add(frame.iloc[part], {c: h[part] for c, h in hashes.items()})
    keys = row_keys(hashes, len(frame)) - profile.contribution(["id"])
    expected = row_keys({c: hashes[c] for c in ("x", "c")}, len(frame))
    assert (keys == expected).all()
    assert len(np.unique(keys)) == 3  # the id no longer hides the duplicated rows


def test_features_after_follows_the_policy():
    suspects = {"id": "looks like an identifier: ..."}
    assert features_after(["id", "x"], suspects, "exclude") == ["x"]
    assert features_after(["id", "x"], suspects, "keep") == ["id", "x"]


def test_spellings_group_case_and_space_variants_with_counts():
    counts = Counter({"cat": 120, "Cat ": 35, "CAT": 12, "dog": 90, " Dog": 4, "fox": 7})
    groups = spellings(counts)
    assert [describe_spellings(g) for g in groups] == [
        "'cat' 120, 'Cat ' 35, 'CAT' 12",
        "'dog' 90, ' Dog' 4",
    ]
    assert spellings(Counter({"a": 1, "b": 2})) == []


def test_fold_trims_and_lowers_and_keeps_missing():
    folded = fold(pd.Series([" Cat", "CAT\t", None, "Straße"], dtype=object))
    assert folded.tolist()[:2] == ["cat", "cat"] and folded.isna().tolist()[2]
    assert folded.tolist()[3] == "straße"


def texts_table(rows: int = ROWS) -> pd.DataFrame:
    """Free text beside the things that must stay what they are."""
    frame = reviews(rows, seed=3)
    frame["ticket"] = [f"T-{RNG.integers(10**9)}" for _ in range(rows)]
    frame["distance"] = RNG.choice(["less than 10 km", "10 to 50 km", "more than 50 km"], rows)
    frame["name"] = [
        f"{RNG.choice(['Ann', 'Bo', 'Cy'])} {RNG.integers(10**6)}" for _ in range(rows)
    ]
    return frame


def test_multi_word_distinct_values_are_text_and_single_tokens_stay_identifiers():
    frame = texts_table()
    profile = profile_of(frame, list(frame.columns))
    assert profile.texts() == ["review"]
    # a UUID, a code and a two-word name are one value per row, but not text: still ids
    assert set(profile.suspects()) == {"order_id", "ticket", "name"}
    assert "distance" not in profile.suspects()  # multi-word values that repeat: a category


def test_text_columns_name_the_text_and_an_empty_list_turns_detection_off():
    frame = texts_table()
    named = profile_of(frame, list(frame.columns), text_columns=["review", "distance"])
    assert named.texts() == ["review", "distance"]
    off = profile_of(frame, list(frame.columns), text_columns=[])
    assert off.texts() == []
    assert off.suspects()["review"].startswith("looks like an identifier")


@pytest.mark.parametrize("batch", [1, 37, ROWS])
def test_text_is_decided_and_measured_alike_in_any_batches(batch):
    frame = texts_table()
    whole = profile_of(frame, list(frame.columns))
    cut = profile_of(frame, list(frame.columns), slice_rows=batch)
    assert cut.texts() == whole.texts() and cut.text_reports() == whole.text_reports()


def test_a_text_report_gives_the_empty_share_and_lengths_in_words():
    values = pd.Series(["one two three", "a b c d e f", None, "   ", "x y z w"] * 10)
    frame = pd.DataFrame({"note": values, "n": range(50)})
    [report] = profile_of(frame, ["note"], text_columns=["note"]).text_reports().values()
    assert report["empty_share"] == 0.4
    assert report["words"] | {"mean": 0} == {
        "min": 3,
        "p5": 3,
        "p50": 4,
        "p95": 6,
        "max": 6,
        "mean": 0,
    }
    assert word_counts(pd.Series(["  two  words ", "", None, "tab\tand\nline"])).tolist() == [
        2,
        0,
        0,
        3,
    ]
