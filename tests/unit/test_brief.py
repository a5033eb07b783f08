"""Messages on tables with many classes, columns or files: a few values and how many more.

Each failure below once printed one line of several kilobytes (every label, every column) or
hundreds of lines; the full lists stay in reports/validation.json and the Data Docs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows.predict import check_table
from flows.suite import init_suite
from tasks import prepare
from tasks.common.brief import LINE, LINES, capped, few, listing, some
from tasks.common.errors import DataValidationError
from tasks.evaluate.gate import refusal
from tests.unit.test_validate import clean_table, failure, params_for, write_table

LABELS = [f"species-{i:03d}-of-the-long-named-kind" for i in range(214)]
COLUMNS = [f"feature_column_{i:03d}" for i in range(300)]


def test_a_few_values_and_how_many_more():
    assert few(range(3)) == "[0, 1, 2]"
    assert few(range(10)) == "[0, 1, 2, 3, 4, 5 and 4 more]"
    clipped = f"{'x' * 37}..."  # each value clipped, as many as fit in a line's share
    assert listing(["x" * 100] * 6) == f"{clipped}, {clipped}, {clipped} and 3 more"
    assert some({"a": 1, "b": 2}) == "{'a': 1, 'b': 2}"
    assert some(LABELS).endswith(" and 210 more]") and len(some(LABELS)) < 200
    long = {"x" * 50: 3, "y": 4}
    assert some(long) == f"{{'{'x' * 36}...: 3, 'y': 4}}"  # a count is never cut off
    assert capped([str(i) for i in range(5)], "checks", "see x", limit=3) == [
        "0",
        "1",
        "... and 3 more checks (see x)",
    ]


def many_classes(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"x1": rng.normal(size=214 * rows), "label": np.repeat(LABELS, rows)}
    ).sample(frac=1.0, random_state=0)


def wide(constant: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = clean_table(120)
    extra = {c: np.ones(120) if constant else rng.normal(size=120) for c in COLUMNS}
    return pd.concat([frame, pd.DataFrame(extra)], axis=1)


def few_rows_per_class(root: Path):
    write_table(root, many_classes(3))
    return params_for(suite=None)


def many_classes_and_new_labels(root: Path):
    write_table(root, many_classes(6))
    init_suite(params_for())
    renamed = many_classes(6)
    renamed["label"] = [f"{label}-renamed" for label in renamed["label"]]
    write_table(root, renamed)
    return params_for()


def many_unexpected_columns(root: Path):
    write_table(root, clean_table(120))
    init_suite(params_for())
    write_table(root, wide())
    return params_for()


def many_constant_columns(root: Path):
    write_table(root, wide(constant=True))
    return params_for(suite=None).model_copy(
        update={"data": params_for().data.model_copy(update={"suspect_columns": "fail"})}
    )


def many_missing_features(root: Path):
    write_table(root, clean_table(120))
    return params_for(suite=None).model_copy(
        update={"data": params_for().data.model_copy(update={"features": COLUMNS})}
    )


def many_spellings(root: Path):
    frame = many_classes(12)
    frame["label"] = [
        f" {label.upper()}" if i % 2 else label for i, label in enumerate(frame["label"])
    ]
    write_table(root, frame)
    return params_for(suite=None)


def many_image_files(root: Path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for index, label in enumerate(LABELS):
        folder = root / "data" / "raw" / "images" / label
        folder.mkdir(parents=True)
        for name in ("a.png", "b.png"):
            pixels = rng.integers(0, 256, (8, 8), dtype=np.uint8)
            Image.fromarray(pixels, mode="L").save(folder / name)
        if index % 4 == 0:
            (folder / "broken.png").write_bytes(b"\x89PNG not really")
    return params_for(suite=None)


CASES = {
    "many classes, few rows each": few_rows_per_class,
    "many new labels against a suite": many_classes_and_new_labels,
    "many unexpected columns": many_unexpected_columns,
    "many constant columns": many_constant_columns,
    "many missing feature columns": many_missing_features,
    "many labels written several ways": many_spellings,
    "many image files, some broken": many_image_files,
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_no_data_check_failure_prints_a_wall(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    message = failure(CASES[case](tmp_path))
    lines = message.splitlines()
    assert max(map(len, lines)) <= LINE, max(lines, key=len)
    assert len(lines) <= LINES + 2, message  # the count, the failed checks, Data Docs
    assert " more" in message, message  # what was left out is counted
    report = json.loads(Path("reports/validation.json").read_text())
    assert len(json.dumps(report["checks"])) > len(message)  # the report keeps everything


def test_prepare_names_a_few_of_many_suspect_columns(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    frame = wide(constant=True).drop(columns=["x1", "x2", "color", "flag"])
    write_table(tmp_path, frame)
    with pytest.raises(DataValidationError, match="no feature column left") as refused:
        prepare.run(params_for(suite=None))
    assert len(str(refused.value)) <= LINE and " and 29" in str(refused.value)


def test_predict_names_a_few_of_many_missing_columns(tmp_path):
    inputs = [{"column": c, "name": c, "dtype": "float32", "shape": [1]} for c in COLUMNS]
    signature = {"kind": "table", "target": "y", "classes": ["a", "b"], "inputs": inputs}
    with pytest.raises(DataValidationError) as refused:
        check_table(pd.DataFrame({"other": [1.0]}), signature, tmp_path / "new.csv")
    assert max(map(len, str(refused.value).splitlines())) <= LINE
    assert "'feature_column_000'" in str(refused.value) and " more]" in str(refused.value)


def test_the_gate_lists_a_few_of_many_failed_slices():
    checks = [
        {
            "check": f"slice label={label}",
            "metric": "accuracy",
            "value": 0.1,
            "op": ">=",
            "threshold": 0.5,
            "passed": False,
        }
        for label in LABELS
    ]
    lines = refusal({"blessed": False, "checks": checks}).splitlines()
    assert len(lines) == 1 + LINES and max(map(len, lines)) <= LINE
    assert lines[-1] == "  - ... and 203 more failed checks (all in reports/gate.json)"
