import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tasks.common.errors import DataValidationError, ParamsError
from tasks.common.params import DataParams
from tasks.data.layout import list_images, raw_kind, read_raw_table
from tasks.ingest import ingest


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()


def test_digits_become_one_png_folder_per_class(tmp_path):
    assert ingest(DataParams(source="sklearn:digits"), tmp_path) == 1797
    assert raw_kind(tmp_path) == "image"
    images = list_images(tmp_path / "images")
    assert {label for _, label in images} == {str(d) for d in range(10)}
    with Image.open(images[0][0]) as image:
        assert (image.mode, image.size) == ("L", (8, 8))


@pytest.mark.parametrize("source", ["sklearn:digits", "sklearn:breast_cancer"])
def test_unchanged_source_gives_identical_bytes(tmp_path, source):
    data = DataParams(source=source, target="diagnosis")
    ingest(data, tmp_path / "a")
    ingest(data, tmp_path / "b")
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")


def test_breast_cancer_is_a_table_with_named_target(tmp_path):
    ingest(DataParams(source="sklearn:breast_cancer", target="diagnosis"), tmp_path)
    frame = read_raw_table(tmp_path)
    assert frame.shape == (569, 31)
    assert set(frame["diagnosis"]) == {"malignant", "benign"}


def test_folder_of_csv_files_keeps_one_part_per_file(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]}).to_csv(source / "one.csv", index=False)
    pd.DataFrame({"x": [3.0], "y": ["a"]}).to_parquet(source / "two.parquet")
    assert ingest(DataParams(source=str(source), target="y"), tmp_path / "raw") == 3
    assert len(list((tmp_path / "raw" / "table").glob("part-*.parquet"))) == 2
    assert read_raw_table(tmp_path / "raw")["x"].tolist() == [1.0, 2.0, 3.0]


def test_image_folder_is_copied_byte_for_byte(tmp_path):
    source = tmp_path / "src"
    for label in ("cat", "dog"):
        (source / label).mkdir(parents=True)
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(source / label / "a.png")
    ingest(DataParams(source=str(source)), tmp_path / "raw")
    copied = tmp_path / "raw" / "images" / "dog" / "a.png"
    assert copied.read_bytes() == (source / "dog" / "a.png").read_bytes()


def test_bad_sources_name_the_key(tmp_path):
    with pytest.raises(ParamsError, match="data.source: unknown builtin"):
        ingest(DataParams(source="sklearn:iris"), tmp_path / "a")
    with pytest.raises(ParamsError, match="does not exist"):
        ingest(DataParams(source=str(tmp_path / "missing.csv")), tmp_path / "b")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataValidationError, match="empty.csv is empty"):
        ingest(DataParams(source=str(tmp_path / "empty.csv")), tmp_path / "c")
