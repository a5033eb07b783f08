"""The quiet killers on tables built for them: validate names them, prepare acts the same way.

Labels or categories that differ only in case or spaces fail unless normalised; id-like,
constant and all-missing columns are left out of the features with a warning (or fail, or are
kept); validate's report and prepare's signature agree on the features.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasks import prepare, validate
from tasks.common.errors import DataValidationError, ExitCode
from tasks.common.params import Params
from tasks.common.params import validate as parse_params
from tests.unit.test_validate import named, write_table

ROWS = 240


def animals(rows: int = ROWS, seed: int = 3) -> pd.DataFrame:
    """Two real classes written five ways, next to an order number, a constant and an empty
    column: the table from the issue."""
    rng = np.random.default_rng(seed)
    label = rng.choice(["cat", "Cat ", "CAT", "dog", " Dog"], rows, p=[0.4, 0.1, 0.05, 0.4, 0.05])
    weight = np.where(np.char.lower(np.char.strip(label.astype(str))) == "cat", 4.0, 20.0)
    return pd.DataFrame(
        {
            "order_no": np.arange(5000, 5000 + rows),
            "weight": weight + rng.normal(0, 2, rows),
            "color": rng.choice(["red", "brown", "black"], rows),
            "shop": "north",
            "comment": pd.Series([None] * rows, dtype=object),
            "label": label,
        }
    )


def params_for(**data: object) -> Params:
    return parse_params({"data": {"source": "animals.csv", "target": "label", **data}})


@pytest.fixture
def table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def make(frame: pd.DataFrame) -> Path:
        write_table(tmp_path, frame)
        monkeypatch.chdir(tmp_path)
        return tmp_path

    return make


def failure(params: Params) -> str:
    with pytest.raises(DataValidationError) as caught:
        validate.run(params)
    assert caught.value.code == ExitCode.DATA_INVALID
    return str(caught.value)


def test_labels_written_several_ways_fail_naming_spellings_and_counts(table):
    frame = animals()
    table(frame)
    line = named(failure(params_for()), "expect_no_case_or_space_variants", "label")
    counts = frame["label"].value_counts()
    assert f"'cat' {counts['cat']}, 'Cat ' {counts['Cat ']}, 'CAT' {counts['CAT']}" in line
    assert f"'dog' {counts['dog']}, ' Dog' {counts[' Dog']}" in line
    assert "2 labels written in several ways" in line and "data.normalize_labels: true" in line


def test_normalised_labels_are_one_class_in_validate_and_prepare(table, capsys):
    table(animals())
    params = params_for(normalize_labels=True)
    report = validate.run(params)
    assert report["success"] and len(report["spellings"]["label"]) == 2
    assert "'label' values merged" in capsys.readouterr().out
    classes = next(c for c in report["checks"] if c["expectation"] == "expect_min_rows_per_class")
    assert set(classes["observed"]) == {"cat", "dog"}
    meta = prepare.run(params)
    assert meta["classes"] == meta["signature"]["classes"] == ["cat", "dog"]
    train = pd.read_parquet("data/prepared/train.parquet")
    assert set(train["label"]) == {"cat", "dog"}


def test_categories_written_several_ways_fail_unless_normalised(table):
    frame = animals().assign(label=lambda f: f["label"].str.strip().str.lower())
    frame.loc[:19, "color"] = "Red "
    table(frame)
    line = named(failure(params_for()), "expect_no_case_or_space_variants", "color")
    assert "'red'" in line and "'Red ' 20" in line and "data.normalize_categories" in line
    params = params_for(normalize_categories=True)
    assert validate.run(params)["success"]
    meta = prepare.run(params)
    spec = next(s for s in meta["signature"]["inputs"] if s["column"] == "color")
    assert spec["normalize"] == "strip+lower"
    assert set(pd.read_parquet("data/prepared/train.parquet")["color"]) == {
        "red",
        "brown",
        "black",
    }


def test_suspect_columns_are_left_out_with_a_warning_everywhere(table, capsys):
    table(animals().assign(label=lambda f: f["label"].str.strip().str.lower()))
    params = params_for()
    report = validate.run(params)
    out = capsys.readouterr().out
    assert report["success"]
    assert report["excluded_columns"] == ["order_no", "shop", "comment"]
    assert report["suspect_columns"]["comment"] == "all missing"
    assert "validate: warning: column 'order_no' left out of the features: looks like an " in out
    assert "constant: every row holds 'north'" in out
    saved = json.loads(Path("reports/validation.json").read_text())
    assert saved["features"] == report["features"] == ["weight", "color"]
    meta = prepare.run(params)
    assert [s["column"] for s in meta["signature"]["inputs"]] == report["features"]
    assert set(meta["excluded_columns"]) == {"order_no", "shop", "comment"}
    assert "prepare: warning: column 'order_no' left out of the features" in capsys.readouterr().out


def test_suspect_columns_fail_or_are_kept_as_the_param_says(table):
    table(animals().assign(label=lambda f: f["label"].str.strip().str.lower()))
    message = failure(params_for(suspect_columns="fail"))
    line = named(message, "expect_column_to_be_informative", "order_no")
    assert "looks like an identifier: 240 distinct values in 240 rows" in line
    assert "all missing" in named(message, "expect_column_to_be_informative", "comment")
    Path("reports/validation.json").unlink()  # prepare run by hand decides alike
    with pytest.raises(DataValidationError, match="prepare: suspect columns .*'shop': constant"):
        prepare.run(params_for(suspect_columns="fail"))
    report = validate.run(params_for(suspect_columns="keep"))
    assert report["success"] and report["excluded_columns"] == []
    assert "order_no" in report["features"]
    meta = prepare.run(params_for(suspect_columns="keep"))
    assert "order_no" in [s["column"] for s in meta["signature"]["inputs"]]


def test_an_id_column_no_longer_hides_duplicated_rows(table):
    frame = animals().assign(label=lambda f: f["label"].str.strip().str.lower())
    frame = pd.concat([frame, frame.iloc[:80]], ignore_index=True)
    frame["order_no"] = np.arange(len(frame))
    table(frame)
    line = named(failure(params_for()), "expect_duplicate_share_to_be_at_most")
    assert "80 of 320 samples repeat an earlier one" in line
    assert validate.run(params_for(suspect_columns="keep"))["success"]
