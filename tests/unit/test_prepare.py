"""prepare: stratified splits without leakage, and the reference statistics drift needs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tasks import prepare
from tasks.common.errors import DataValidationError
from tasks.common.params import Params, PrepareParams, validate
from tasks.common.samples import ROW, row_hashes
from tasks.common.splits import SPLITS, assign
from tasks.data import manifest as manifest_module
from tasks.data.images import load_image
from tasks.data.manifest import manifest, manifest_file, write_manifest
from tasks.prepare import images
from tests.photos import photo_folder
from tests.unit.test_validate import clean_table, params_for, write_images, write_table


def splits_by_identity(out: Path) -> dict:
    """{identity: split} of prepared table splits, the identity being the feature values."""
    found = {}
    for name in SPLITS:
        frame = pd.read_parquet(out / f"{name}.parquet")
        features = [c for c in frame.columns if c not in ("label", ROW)]
        found |= dict.fromkeys(map(tuple, frame[features].astype(str).values), name)
    return found


def test_a_row_keeps_its_split_when_the_table_grows_and_is_reordered(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    whole = clean_table(400)
    write_table(tmp_path, whole.iloc[:240])
    prepare.run(params_for(suite=None))
    day1 = splits_by_identity(tmp_path / "data/prepared")
    write_table(tmp_path, whole.sample(frac=1, random_state=3), parts=3)  # more rows, new order
    meta = prepare.run(params_for(suite=None))
    day2 = splits_by_identity(tmp_path / "data/prepared")
    assert len(day1) == 240 and len(day2) == 400
    assert all(day2[row] == split for row, split in day1.items())
    assert abs(meta["rows"]["test"] / 400 - 0.15) < 0.06  # the fractions hold as it grows
    shares = {n: c["yes"] / sum(c.values()) for n, c in meta["class_counts"].items()}
    assert all(abs(share - 0.5) < 0.15 for share in shares.values())  # near stratified
    assert meta["split"] == {
        "method": "hash",
        "version": 1,
        "identity": "features",
        "key": None,
        "seed": 42,
        "val_size": 0.15,
        "test_size": 0.15,
    }


def test_identical_rows_share_a_split_whatever_their_labels():
    frame = clean_table(300)
    copies = frame.iloc[:60].assign(label="yes")
    both = pd.concat([frame, copies], ignore_index=True)
    identities = row_hashes(both, ["x1", "x2", "color", "flag"])
    splits = assign(identities, PrepareParams())
    where = np.empty(len(both), dtype=object)
    for name, rows in splits.items():
        where[rows] = name
    assert (where[:60] == where[300:]).all()
    assert sorted(np.concatenate(list(splits.values()))) == list(range(360))


def test_a_new_seed_draws_a_fresh_test_set_and_fractions_are_kept():
    identities = np.arange(20_000, dtype=np.uint64) * np.uint64(7919)
    first = assign(identities, PrepareParams())
    other = assign(identities, PrepareParams(seed=7))
    assert abs(len(first["test"]) / 20_000 - 0.15) < 0.01
    assert abs(len(first["val"]) / 20_000 - 0.15) < 0.01
    kept = len(np.intersect1d(first["test"], other["test"])) / len(first["test"])
    assert kept < 0.25  # about 15% by chance, not the same test set
    wider = assign(identities, PrepareParams(test_size=0.2))
    assert set(first["test"]) <= set(wider["test"])  # a larger test set only adds rows


def test_rows_sharing_a_key_share_a_split_and_ids_name_the_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    frame = clean_table(300).assign(customer=[f"c{i % 100}" for i in range(300)])
    write_table(tmp_path, frame)
    params = validate(
        {**params_for(suite=None).model_dump(by_alias=True)}
        | {"prepare": {"split_key": "customer"}}
    )
    meta = prepare.run(params)
    out = tmp_path / "data/prepared"
    seen = {name: set(pd.read_parquet(out / f"{name}.parquet")["customer"]) for name in SPLITS}
    assert not seen["train"] & seen["test"] and not seen["train"] & seen["val"]
    assert meta["split"]["identity"] == "key" and meta["split"]["key"] == ["customer"]
    assert "customer" not in meta["signature"]["inputs"]  # an id, not a feature


def test_a_key_column_that_is_absent_or_missing_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    frame = clean_table(100).assign(customer=[None] * 3 + [f"c{i}" for i in range(97)])
    write_table(tmp_path, frame)
    base = params_for(suite=None).model_dump(by_alias=True)
    with pytest.raises(DataValidationError, match=r"prepare.split_key: no column \[shop\]"):
        prepare.run(validate(base | {"prepare": {"split_key": ["shop"]}}))
    with pytest.raises(DataValidationError, match=r"3 rows have no value in \['customer'\]"):
        prepare.run(validate(base | {"prepare": {"split_key": "customer"}}))


def test_table_writes_splits_meta_and_reference(tmp_path, monkeypatch):
    frame = clean_table()
    write_table(tmp_path, pd.concat([frame, frame.iloc[:20]], ignore_index=True))
    monkeypatch.chdir(tmp_path)
    meta = prepare.run(params_for(suite=None))
    out = tmp_path / "data" / "prepared"
    splits = {n: pd.read_parquet(out / f"{n}.parquet") for n in SPLITS}
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


def test_photos_keep_their_split_when_renamed_and_when_new_ones_arrive(tmp_path, monkeypatch):
    folder = write_images(tmp_path)
    monkeypatch.chdir(tmp_path)
    prepare.run(params_for(suite=None))

    def by_pixels() -> dict[bytes, str]:
        out = tmp_path / "data/prepared"
        return {
            pixels: name
            for name in SPLITS
            for pixels in pd.read_parquet(out / f"{name}.parquet")["pixels"]
        }

    day1 = by_pixels()
    (folder / "cat/000.png").rename(folder / "cat/renamed.png")
    write_images(tmp_path / "more", seed=1)
    for path in (tmp_path / "more/data/raw/images").rglob("*.png"):
        path.rename(folder / path.parent.name / f"new-{path.name}")
    prepare.run(params_for(suite=None))
    day2 = by_pixels()
    assert len(day2) == 2 * len(day1)
    assert all(day2[pixels] == split for pixels, split in day1.items())


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


def test_photos_are_split_by_the_manifest_validate_wrote_without_decoding_it_again(
    tmp_path, monkeypatch
):
    photo_folder(tmp_path / "data/raw/images", per_class=10)
    monkeypatch.chdir(tmp_path)
    params = photo_params()
    surveyed = manifest(tmp_path / "data/raw/images")
    write_manifest(surveyed, manifest_file(params.paths.reports))
    fresh = prepare.run(params)

    def no_decoding(*args: object) -> None:
        raise AssertionError("prepare decoded a photo for its manifest")

    monkeypatch.setattr(manifest_module, "image_row", no_decoding)
    assert prepare.run(params)["rows"] == fresh["rows"]


def test_a_manifest_of_other_files_than_the_folder_holds_is_surveyed_anew(tmp_path, monkeypatch):
    folder = tmp_path / "data/raw/images"
    photo_folder(folder, per_class=10)
    monkeypatch.chdir(tmp_path)
    params = photo_params()
    surveyed = manifest(folder)
    write_manifest(surveyed, manifest_file(params.paths.reports))
    copied = folder / surveyed["path"][0]
    (copied.parent / f"copy{copied.suffix}").write_bytes(copied.read_bytes())
    meta = prepare.run(params)
    assert sum(meta["rows"].values()) == 31
    assert meta["duplicate_samples"] == 1  # the copy was decoded: its pixels are a duplicate
