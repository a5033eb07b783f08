"""The validate stage against a matrix of corrupted copies of one clean tiny dataset.

Each case breaks one thing a user could get wrong; the stage must fail with exit code 4 and a
message naming the expectation and column (or file) at fault. The suite used is the one
`flows.suite.init_suite` drafts from the clean data, as a user would commit it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows.suite import init_suite
from tasks import prepare, validate
from tasks.common.errors import DataValidationError, ExitCode
from tasks.common.params import Params
from tasks.common.params import validate as parse_params

ROWS = 300
CLASSES = ("cat", "dog", "fox")


def clean_table(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x1": rng.normal(10, 2, rows).round(3),
            "x2": rng.integers(0, 100, rows),
            "color": rng.choice(["red", "green", "blue"], rows),
            "flag": rng.random(rows) < 0.5,
            "label": np.resize(["yes", "no"], rows),
        }
    )


def write_table(root: Path, frame: pd.DataFrame, parts: int = 2) -> None:
    folder = root / "data" / "raw" / "table"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for index, part in enumerate(np.array_split(np.arange(len(frame)), parts)):
        frame.iloc[part].to_parquet(folder / f"part-{index:05d}.parquet", index=False)


def write_images(root: Path, per_class: int = 12, seed: int = 0) -> Path:
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder = root / "data" / "raw" / "images"
    for label in CLASSES:
        (folder / label).mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            pixels = rng.integers(0, 256, (8, 8), dtype=np.uint8)
            Image.fromarray(pixels, mode="L").save(folder / label / f"{index:03d}.png")
    return folder


def params_for(suite: str | None = "tiny", **validate_: object) -> Params:
    return parse_params(
        {"data": {"source": "tiny", "target": "label"}, "validate": {"suite": suite, **validate_}}
    )


def failure(params: Params) -> str:
    """Run validate, expect a data validation failure, return its message."""
    with pytest.raises(DataValidationError) as caught:
        validate.run(params)
    assert caught.value.code == ExitCode.DATA_INVALID == 4
    return str(caught.value)


def named(message: str, expectation: str, column: str | None = None) -> str:
    """The failure line for `expectation` (on `column`), which must be in the message."""
    where = f"{expectation} on column '{column}'" if column else f"{expectation}:"
    lines = [line for line in message.splitlines() if where in line]
    assert lines, f"{where!r} not named in:\n{message}"
    return lines[0]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean table, its drafted suite and the reference statistics of its training split."""
    root = tmp_path_factory.mktemp("clean")
    write_table(root, clean_table())
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        init_suite(params_for())
        prepare.run(params_for())
    return root


@pytest.fixture
def table_case(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable:
    """A workspace holding the committed suite and a corrupted copy of the clean table."""

    def make(corrupt: Callable[[pd.DataFrame], pd.DataFrame], parts: int = 2) -> Path:
        shutil.copytree(home / "gx", tmp_path / "gx")
        write_table(tmp_path, corrupt(clean_table()), parts)
        monkeypatch.chdir(tmp_path)
        return tmp_path

    return make


def drift_params(home: Path) -> Params:
    reference = str(home / "data" / "prepared" / "reference.json")
    return params_for(drift={"action": "fail", "reference": reference})


def test_clean_table_passes_suite_and_drift_and_reports_data_docs(home, table_case):
    workspace = table_case(lambda frame: frame)
    report = validate.run(drift_params(home))
    assert report["success"] and report["rows"] == ROWS
    assert {row["verdict"] for row in report["drift"]} == {"ok"}
    assert {row["column"] for row in report["drift"]} == {"x1", "x2", "color", "flag", "label"}
    assert report["duplicates"]["duplicate_samples"] == 0
    assert (workspace / report["data_docs"]).is_file()
    saved = json.loads((workspace / "reports" / "validation.json").read_text())
    assert saved["checks"] == report["checks"] and len(saved["checks"]) > 20


def test_batches_merge_to_the_same_verdict_as_one_batch(table_case):
    def corrupt(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[[5, 150, 290], "x2"] = 1000
        return frame

    table_case(corrupt, parts=3)
    line = named(failure(params_for(batch_mb=0.001)), "expect_column_values_to_be_between", "x2")
    assert "3 of 300 values" in line and "1.0% unexpected" in line and "1000" in line


def drop(column: str) -> Callable:
    return lambda frame: frame.drop(columns=column)


def assign(**values: object) -> Callable:
    return lambda frame: frame.assign(**values)


def some_rows(column: str, value: object, share: float) -> Callable:
    def corrupt(frame: pd.DataFrame) -> pd.DataFrame:
        frame[column] = frame[column].astype(object)
        frame.loc[frame.index[: int(len(frame) * share)], column] = value
        return frame.infer_objects()

    return corrupt


TABLE_CASES = {
    "missing column": (
        drop("x2"),
        "expect_column_to_exist",
        "x2",
        "column missing (so these could not run: expect_column_values_to_not_be_null",
    ),
    "unexpected column": (
        assign(extra=1.0),
        "expect_table_columns_to_match_set",
        None,
        "unexpected: ['extra']",
    ),
    "wrong dtype": (
        lambda f: f.assign(x1=f["x1"].astype(str)),
        "expect_column_values_to_be_in_type_list",
        "x1",
        "observed str",
    ),
    "nulls above tolerance": (
        some_rows("x1", np.nan, 0.2),
        "expect_column_values_to_not_be_null",
        "x1",
        "20.0% unexpected",
    ),
    "out of range": (
        some_rows("x2", -999, 0.02),
        "expect_column_values_to_be_between",
        "x2",
        "-999",
    ),
    "unknown category": (
        some_rows("color", "purple", 0.05),
        "expect_column_values_to_be_in_set",
        "color",
        "purple",
    ),
    "unknown label": (
        some_rows("label", "maybe", 0.05),
        "expect_column_values_to_be_in_set",
        "label",
        "maybe",
    ),
    "empty file": (lambda f: f.iloc[:0], "expect_table_row_count_to_be_between", None, "0"),
    "duplicated rows": (
        lambda f: pd.concat([f, f.iloc[:60]], ignore_index=True),
        "expect_duplicate_share_to_be_at_most",
        None,
        "60 of 360 samples",
    ),
    "single class": (
        lambda f: f[f["label"] == "yes"],
        "expect_column_unique_value_count_to_be_between",
        "label",
        "observed 1",
    ),
    "labels missing above tolerance": (
        some_rows("label", None, 0.1),
        "expect_column_values_to_not_be_null",
        "label",
        "10.0% unexpected",
    ),
}


@pytest.mark.parametrize("case", TABLE_CASES, ids=list(TABLE_CASES))
def test_corrupted_table_fails_naming_expectation_and_column(case, table_case):
    corrupt, expectation, column, detail = TABLE_CASES[case]
    table_case(corrupt, parts=1 if case == "empty file" else 2)
    message = failure(params_for())
    line = named(message, expectation, column)
    if detail:
        assert detail in line, line
    assert "Data Docs: " in message
    page = Path(message.rsplit("Data Docs: ", 1)[1].strip())
    assert page.is_file() and page.suffix == ".html"
    assert not json.loads(Path("reports/validation.json").read_text())["success"]


def shifted(frame: pd.DataFrame) -> pd.DataFrame:
    """x1's lower half moved up: a new distribution, still within the suite's range."""
    return frame.assign(x1=np.where(frame["x1"] < 10, frame["x1"] + 2, frame["x1"]))


def test_drifted_numeric_column_fails_with_its_distance(home, table_case):
    table_case(shifted)
    line = named(failure(drift_params(home)), "expect_no_drift", "x1")
    assert "psi" in line and "(threshold 0.25)" in line
    drift = json.loads(Path("reports/validation.json").read_text())["drift"]
    verdicts = {row["column"]: row["verdict"] for row in drift}
    assert verdicts["x1"] == "drift" and verdicts["x2"] == "ok"


def test_drifted_label_distribution_fails(home, table_case):
    table_case(lambda f: f.drop(index=f.index[f["label"] == "no"][:100]))
    line = named(failure(drift_params(home)), "expect_no_drift", "label")
    assert "linf" in line


def test_drift_only_warns_by_default_and_respects_column_thresholds(home, table_case, capsys):
    table_case(shifted)
    reference = str(home / "data" / "prepared" / "reference.json")
    report = validate.run(params_for(drift={"reference": reference}))
    assert report["success"]
    assert "warning: drift on 'x1'" in capsys.readouterr().out
    lenient = params_for(drift={"action": "fail", "reference": reference, "columns": {"x1": 50}})
    assert validate.run(lenient)["success"]


def test_without_suite_params_still_catch_structural_problems(table_case):
    table_case(lambda f: f[f["label"] == "yes"])
    message = failure(params_for(suite=None))
    named(message, "expect_column_unique_value_count_to_be_between", "label")
    assert "expect_column_values_to_be_in_set" not in message


def test_missing_suite_is_a_params_error(table_case):
    from tasks.common.errors import ParamsError

    table_case(lambda frame: frame)
    with pytest.raises(ParamsError, match="no suite gx/expectations/other.json"):
        validate.run(params_for(suite="other"))


@pytest.fixture(scope="module")
def image_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Clean 8x8 grayscale images in three classes and the suite drafted from them."""
    root = tmp_path_factory.mktemp("images")
    write_images(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        init_suite(params_for())
    return root


@pytest.fixture
def image_case(image_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable:
    def make(corrupt: Callable[[Path], None]) -> Path:
        shutil.copytree(image_home, tmp_path, dirs_exist_ok=True)
        corrupt(tmp_path / "data" / "raw" / "images")
        monkeypatch.chdir(tmp_path)
        return tmp_path

    return make


def truncate(images: Path) -> None:
    path = images / "dog" / "003.png"
    path.write_bytes(path.read_bytes()[:40])


def save(size: tuple[int, int], mode: str) -> Callable[[Path], None]:
    def corrupt(images: Path) -> None:
        from PIL import Image

        shape = (*size, 3) if mode == "RGB" else size
        pixels = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
        Image.fromarray(pixels, mode=mode).save(images / "fox" / "odd.png")

    return corrupt


def copy_images(images: Path) -> None:
    for index in range(6):
        shutil.copy(images / "cat" / f"{index:03d}.png", images / "cat" / f"copy{index}.png")


IMAGE_CASES = {
    "truncated image": (truncate, "expect_column_values_to_be_in_set", "decodable", "dog/003.png"),
    "wrong channels": (
        save((8, 8), "RGB"),
        "expect_column_values_to_be_in_set",
        "channels",
        "fox/odd.png (3)",
    ),
    "wrong size": (save((16, 16), "L"), "expect_column_values_to_be_between", "height", "(16)"),
    "duplicated images": (
        copy_images,
        "expect_duplicate_share_to_be_at_most",
        None,
        "cat/000.png = cat/copy0.png",
    ),
}


def test_clean_images_pass_their_suite(image_case):
    image_case(lambda images: None)
    report = validate.run(params_for())
    assert report["success"] and report["rows"] == 3 * 12
    assert any(c["column"] == "channels" for c in report["checks"])


@pytest.mark.parametrize("case", IMAGE_CASES, ids=list(IMAGE_CASES))
def test_corrupted_images_fail_naming_the_files(case, image_case):
    corrupt, expectation, column, detail = IMAGE_CASES[case]
    image_case(corrupt)
    line = named(failure(params_for()), expectation, column)
    assert detail in line, line


def test_truncated_image_fails_without_a_suite_too(image_case):
    image_case(truncate)
    message = failure(params_for(suite=None))
    assert "dog/003.png" in named(message, "expect_column_values_to_be_in_set", "decodable")
    assert "channels" not in message


def test_brighter_images_drift_in_intensity(image_case, image_home):
    from PIL import Image

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(image_home)
        prepare.run(params_for())

    def brighten(images: Path) -> None:
        for path in images.rglob("*.png"):
            pixels = np.asarray(Image.open(path), dtype=np.uint16)
            Image.fromarray(np.minimum(pixels // 2 + 128, 255).astype(np.uint8)).save(path)

    image_case(brighten)
    reference = str(image_home / "data" / "prepared" / "reference.json")
    line = named(
        failure(params_for(drift={"action": "fail", "reference": reference})),
        "expect_no_drift",
        "intensity",
    )
    assert "psi" in line
