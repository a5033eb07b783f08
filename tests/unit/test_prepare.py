"""prepare: stratified splits without leakage, and the reference statistics drift needs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tasks import prepare
from tasks.common.errors import DataValidationError, ExitCode
from tasks.common.params import Params, PrepareParams, validate
from tasks.data.images import load_image
from tasks.prepare import images
from tests.photos import photo_folder
from tests.unit.test_validate import clean_table, params_for, write_images, write_table


def test_duplicates_share_a_split_and_splits_stay_stratified():
    labels = pd.Series(np.resize(["a", "b"], 200))
    keys = np.arange(200) % 150  # rows 150..199 repeat rows 0..49
    splits = prepare.split_groups(labels, keys, PrepareParams())
    for name, rows in splits.items():
        others = np.concatenate([r for n, r in splits.items() if n != name])
        assert not set(keys[rows]) & set(keys[others])
    assert sorted(np.concatenate(list(splits.values()))) == list(range(200))
    assert abs(labels.iloc[splits["test"]].eq("a").mean() - 0.5) < 0.1


def test_without_duplicates_groups_are_rows():
    labels = pd.Series(np.resize(["a", "b", "c"], 90))
    plain = prepare.split_indices(labels, PrepareParams())
    grouped = prepare.split_groups(labels, np.arange(90), PrepareParams())
    assert all((plain[name] == grouped[name]).all() for name in prepare.SPLITS)


def test_a_sample_in_two_splits_is_a_data_validation_error():
    keys = np.array([10, 11, 12, 13, 10])
    splits = {"train": np.array([0, 1]), "val": np.array([2, 3]), "test": np.array([4])}
    with pytest.raises(DataValidationError, match=r"1 samples in both train and test") as err:
        prepare.check_disjoint(keys, splits)
    assert err.value.code == ExitCode.DATA_INVALID
    assert "row 0" in str(err.value) and "row 4" in str(err.value)


def test_table_writes_splits_meta_and_reference(tmp_path, monkeypatch):
    frame = clean_table()
    write_table(tmp_path, pd.concat([frame, frame.iloc[:20]], ignore_index=True))
    monkeypatch.chdir(tmp_path)
    meta = prepare.run(params_for(suite=None))
    out = tmp_path / "data" / "prepared"
    splits = {n: pd.read_parquet(out / f"{n}.parquet") for n in prepare.SPLITS}
    rows = {
        n: set(map(tuple, s.drop(columns="label").astype(str).values)) for n, s in splits.items()
    }
    assert not rows["train"] & rows["test"] and not rows["train"] & rows["val"]
    assert meta["duplicate_samples"] == 20 and sum(meta["rows"].values()) == 320
    reference = json.loads((out / "reference.json").read_text())
    assert reference["rows"] == meta["rows"]["train"] and reference["kind"] == "table"
    assert reference["columns"]["x1"]["type"] == "numeric"
    assert set(reference["columns"]["label"]["shares"]) == {"yes", "no"}
    assert reference["columns"]["color"]["type"] == "categorical"


def test_images_reference_describes_size_channels_intensity(tmp_path, monkeypatch):
    write_images(tmp_path)
    monkeypatch.chdir(tmp_path)
    prepare.run(params_for(suite=None))
    reference = json.loads((tmp_path / "data/prepared/reference.json").read_text())
    assert reference["kind"] == "image"
    assert reference["columns"]["size"]["shares"] == {"8x8": 1.0}
    assert reference["columns"]["channels"]["shares"] == {"1": 1.0}
    assert reference["columns"]["intensity"]["type"] == "numeric"


def test_a_leaking_split_stops_before_anything_is_written(tmp_path, monkeypatch):
    write_images(tmp_path)
    monkeypatch.chdir(tmp_path)
    prepare.run(params_for(suite=None))
    before = (tmp_path / "data/prepared/train.parquet").read_bytes()
    shutil.copy(tmp_path / "data/raw/images/cat/000.png", tmp_path / "data/raw/images/cat/z.png")

    def leaky(labels, keys, p):
        rows = np.arange(len(labels))
        return {"train": rows[:-3], "val": rows[-3:-1], "test": np.array([0, rows[-1]])}

    monkeypatch.setattr(prepare, "split_groups", leaky)
    with pytest.raises(DataValidationError, match="leak across splits") as err:
        prepare.run(params_for(suite=None))
    assert "cat/000.png" in str(err.value)
    assert (tmp_path / "data/prepared/train.parquet").read_bytes() == before


def test_refuses_data_that_failed_validation(tmp_path, monkeypatch):
    write_table(tmp_path, clean_table())
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "validation.json").write_text('{"success": false}')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataValidationError, match="failed validation"):
        prepare.run(params_for(suite=None))
    assert not Path("data/prepared").exists()


def photo_params(**data: object) -> Params:
    return validate({"data": {"image_size": [16, 16], "channels": 3, **data}})


def test_photos_stream_into_row_groups_in_a_shuffled_training_order(tmp_path, monkeypatch):
    photo_folder(tmp_path / "data/raw/images", per_class=20)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(images, "ROW_GROUP_BYTES", 16 * 16 * 3 * 8)  # 8 photos per group
    meta = prepare.run(photo_params(resize="pad"))
    out = tmp_path / "data/prepared"
    train = pq.ParquetFile(out / "train.parquet")
    assert train.metadata.num_row_groups == -(-meta["rows"]["train"] // 8)
    assert max(train.metadata.row_group(i).num_rows for i in range(train.num_row_groups)) == 8
    table = train.read().to_pandas()
    assert table["path"].tolist() != sorted(table["path"])  # classes mixed, not in folder order
    assert table["label"].tolist() == [path.split("/")[0] for path in table["path"]]
    for row in table.iloc[::9].itertuples():
        decoded = load_image(tmp_path / "data/raw/images" / row.path, (16, 16), 3, "pad")
        assert row.pixels == decoded.tobytes()
    test = pd.read_parquet(out / "test.parquet")
    assert test["path"].tolist() == sorted(test["path"])  # evaluate lists them in file order
    assert meta["signature"]["inputs"][0] | {"shape": None} == {
        "column": "image",
        "name": "image",
        "dtype": "uint8",
        "shape": None,
        "resize": "pad",
    }


def test_an_unreadable_photo_stops_prepare_naming_it(tmp_path, monkeypatch):
    photo_folder(tmp_path / "data/raw/images", per_class=10)
    (tmp_path / "data/raw/images/dots/zz.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataValidationError, match=r"not readable images, e.g. \['dots/zz.jpg'\]"):
        prepare.run(photo_params())
    assert not (tmp_path / "data/prepared").exists()
