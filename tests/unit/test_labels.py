"""Labels from a file: a folder of images or text files and a labels table beside it.

Each finding of the join (a label whose file is missing, a file without a label, a file
labelled twice) must reach the user through validate with its count and the files' names;
a wrong `data.labels` or column must stop the run naming the key and the file.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tasks import ingest as ingest_stage
from tasks import validate
from tasks.common.errors import DataValidationError, ExitCode, ParamsError
from tasks.common.params import DataParams
from tasks.common.params import validate as parse_params
from tasks.data.labels import image_labels, read_labels
from tasks.data.layout import raw_kind, read_raw_table, table_sources
from tasks.ingest import ingest
from tests.squares import square_folder
from tests.texts import review

IMAGES = 30


def params_for(**data: object):
    found = {"source": "photos", "labels": "photos/labels.csv", "target": "size"} | data
    return parse_params({"data": found, "validate": {"suite": None}})


def images_with(tmp_path, monkeypatch, labels: pd.DataFrame | None = None):
    """A folder of IMAGES squares and its labels.csv (replaced by `labels` when given)."""
    monkeypatch.chdir(tmp_path)
    folder, found = square_folder(tmp_path / "photos", IMAGES)
    if labels is not None:
        labels.to_csv(folder / "labels.csv", index=False)
    return folder, found


def test_the_labels_table_names_files_relative_to_the_folder_in_any_spelling(tmp_path):
    table = pd.DataFrame({"image": ["./a.png", "more\\b.png", " c.png ", None], "y": [1, 2, 3, 4]})
    table.to_csv(tmp_path / "labels.csv", index=False)
    data = DataParams(source=str(tmp_path), labels=str(tmp_path / "labels.csv"), target="y")
    with pytest.raises(ParamsError, match=r"data.labels_file_column: no column 'file' in .*labels"):
        read_labels(data)
    found = read_labels(data.model_copy(update={"labels_file_column": "image"}))
    assert found["path"].tolist() == ["a.png", "more/b.png", "c.png"]  # no file: no row
    assert found["label"].tolist() == [1, 2, 3]


def test_images_are_copied_with_their_numbers_in_the_folders_order(tmp_path, monkeypatch, capsys):
    _, labels = images_with(tmp_path, monkeypatch)
    shuffled = labels.sample(frac=1, random_state=0)
    shuffled.to_csv(tmp_path / "photos/labels.csv", index=False)
    assert ingest_stage.run(params_for()) == IMAGES
    assert f"ingest: photos: {IMAGES} files, {IMAGES} labelled by photos/labels.csv" in (
        capsys.readouterr().out
    )
    raw = tmp_path / "data/raw"
    assert raw_kind(raw) == "image"
    found = image_labels(raw / "images")
    expected = labels.sort_values("file")  # the folder's order, not the table's
    assert [p.relative_to(raw / "images").as_posix() for p, _ in found] == expected["file"].tolist()
    assert [label for _, label in found] == expected["size"].tolist()
    copied = (raw / "images/more/0000.png").read_bytes()
    assert copied == (tmp_path / "photos/more/0000.png").read_bytes()
    assert validate.run(params_for())["task"] == "regression"


def test_labels_of_missing_files_stop_validation_naming_the_table_column_and_files(
    tmp_path, monkeypatch
):
    _, labels = images_with(tmp_path, monkeypatch)
    ghosts = pd.DataFrame({"file": ["gone/1.png", "gone/2.png", "3.png"], "size": [1.0, 2.0, 3.0]})
    pd.concat([labels, ghosts]).to_csv(tmp_path / "photos/labels.csv", index=False)
    ingest_stage.run(params_for())
    with pytest.raises(DataValidationError) as err:
        validate.run(params_for())
    assert err.value.code == ExitCode.DATA_INVALID
    message = str(err.value)
    assert "expect_labelled_files_to_exist on column 'file'" in message
    assert "3 files named in photos/labels.csv not in the folder photos" in message
    assert "'gone/1.png', 'gone/2.png', '3.png'" in message
    report = json.loads((tmp_path / "reports/validation.json").read_text())
    assert report["labels"]["missing"] == ["gone/1.png", "gone/2.png", "3.png"]


def test_files_without_a_label_are_left_out_with_a_warning(tmp_path, monkeypatch, capsys):
    _, labels = images_with(tmp_path, monkeypatch)
    labels.iloc[3:].to_csv(tmp_path / "photos/labels.csv", index=False)
    assert ingest_stage.run(params_for()) == IMAGES - 3
    report = validate.run(params_for())
    out = capsys.readouterr().out
    assert report["success"] and report["rows"] == IMAGES - 3
    assert (
        f"validate: warning: 3 of {IMAGES} files in photos have no label in photos/labels.csv "
        "(column 'file') and are left out: [0001.png, 0002.png, more/0000.png]"
    ) in out
    assert report["labels"]["unlabelled"] == ["0001.png", "0002.png", "more/0000.png"]


def test_a_file_labelled_twice_fails_when_the_labels_differ_and_is_kept_once_when_alike(
    tmp_path, monkeypatch, capsys
):
    _, labels = images_with(tmp_path, monkeypatch)
    alike = labels.iloc[[1, 2]]
    pd.concat([labels, alike]).to_csv(tmp_path / "photos/labels.csv", index=False)
    assert ingest_stage.run(params_for()) == IMAGES  # kept once
    assert validate.run(params_for())["success"]
    assert (
        "validate: warning: 2 files are labelled more than once alike in photos/labels.csv and "
        "kept once: [0001.png, 0002.png]"
    ) in capsys.readouterr().out

    differ = alike.assign(size=alike["size"] + 1)
    pd.concat([labels, differ]).to_csv(tmp_path / "photos/labels.csv", index=False)
    assert ingest_stage.run(params_for()) == IMAGES - 2
    with pytest.raises(DataValidationError) as err:
        validate.run(params_for())
    message = str(err.value)
    assert "expect_one_label_per_file on column 'file'" in message
    assert (
        "2 files named in photos/labels.csv labelled more than once with different targets"
    ) in message
    assert "'0001.png', '0002.png'" in message


def test_an_empty_target_fails_as_it_does_in_a_table(tmp_path, monkeypatch):
    _, labels = images_with(tmp_path, monkeypatch)
    labels.loc[[4, 5], "size"] = None
    labels.to_csv(tmp_path / "photos/labels.csv", index=False)
    ingest_stage.run(params_for())
    with pytest.raises(DataValidationError) as err:
        validate.run(params_for())
    message = str(err.value)
    assert "expect_column_values_to_not_be_null on column 'label'" in message
    assert "0004.png" in message and "0005.png" in message


def test_a_missing_labels_file_or_column_is_a_params_error_naming_key_and_file(
    tmp_path, monkeypatch
):
    images_with(tmp_path, monkeypatch)
    with pytest.raises(ParamsError, match="data.labels: photos/nothing.csv does not exist"):
        ingest_stage.run(params_for(labels="photos/nothing.csv"))
    with pytest.raises(ParamsError) as err:
        ingest_stage.run(params_for(target="price"))
    assert str(err.value) == (
        "data.target: no column 'price' in photos/labels.csv (its columns: file, size)"
    )
    assert err.value.code == ExitCode.BAD_PARAMS


def test_regression_of_class_folders_names_the_labels_table_as_the_way(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("small", "big"):
        folder, _ = square_folder(tmp_path / "photos" / name, 15, seed=len(name))
        (folder / "labels.csv").unlink()  # class folders: the folder is the label
    params = parse_params({"data": {"source": "photos", "task": "regression"}})
    ingest_stage.run(params)
    with pytest.raises(DataValidationError, match="labels table \\(data.labels\\)"):
        validate.run(params)


def test_text_files_with_a_labels_table_are_the_table_a_text_folder_becomes(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    folder = tmp_path / "reviews"
    (folder / "shop").mkdir(parents=True)
    names = [f"{i:02d}.txt" if i % 2 else f"shop/{i:02d}.txt" for i in range(6)]
    texts = [review(rng, i % 2 == 1) for i in range(6)]
    for name, text in zip(names, texts, strict=True):
        (folder / name).write_text(text)
    stars = [float(i) for i in range(6)]
    pd.DataFrame({"file": names, "stars": stars}).to_csv(tmp_path / "labels.csv", index=False)
    data = DataParams(source=str(folder), labels=str(tmp_path / "labels.csv"), target="stars")
    assert ingest(data, tmp_path / "raw") == 6
    assert raw_kind(tmp_path / "raw") == "table"
    table = read_raw_table(tmp_path / "raw")
    files = [source["file"] for source in table_sources(tmp_path / "raw")]
    assert files == sorted(names) and list(table.columns) == ["text", "stars"]
    by_file = dict(zip(files, zip(table["text"], table["stars"], strict=True), strict=True))
    assert by_file == dict(zip(names, zip(texts, stars, strict=True), strict=True))
    assert pd.api.types.is_float_dtype(table["stars"])  # numbers stay numbers
