"""A folder of text files per class: ingested as a table of text, checked, trained, served."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tasks.common.errors import DataValidationError, ParamsError
from tasks.common.params import DataParams
from tasks.common.params import validate as parse_params
from tasks.data.layout import raw_kind, read_raw_table, table_sources
from tasks.data.textfiles import read_text
from tasks.ingest import ingest
from tests.texts import review_folder

LATIN = "Très déçu, le colis était cassé. À éviter, à côté de la plaque."


def test_a_text_folder_is_one_row_per_file_hidden_files_left_out(tmp_path, capsys):
    source = review_folder(tmp_path / "reviews", 20)
    (source / "negative" / "latin.txt").write_bytes(LATIN.encode("latin-1"))
    (source / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (source / "positive" / "._0001.txt").write_bytes(b"\x00\x05\x16\x07\x00\x02")
    (source / ".ipynb_checkpoints").mkdir()
    (source / ".ipynb_checkpoints" / "a.txt").write_text("not a class at all, really")
    (source / "README.txt").write_text("what these reviews are")  # beside the classes
    assert ingest(DataParams(source=str(source)), tmp_path / "raw") == 21
    assert "21 files: 20 utf-8, 1 cp1252" in capsys.readouterr().out
    assert raw_kind(tmp_path / "raw") == "table"
    table = read_raw_table(tmp_path / "raw")
    assert list(table.columns) == ["text", "label"]
    assert set(table["label"]) == {"negative", "positive"}
    sources = table_sources(tmp_path / "raw")
    names = [s["file"] for s in sources]
    assert len(names) == 21 and all(s["rows"] == 1 for s in sources)
    assert not any("/." in f"/{name}" or name == "README.txt" for name in names)
    row = table.iloc[names.index("negative/latin.txt")]
    assert (row["text"], row["label"]) == (LATIN, "negative")
    assert table["text"].iloc[0] == (source / names[0]).read_text()


def test_text_files_are_decoded_as_csv_files_are(tmp_path):
    (tmp_path / "latin.txt").write_bytes(LATIN.encode("latin-1"))
    (tmp_path / "bom.txt").write_bytes(("\ufeff" + LATIN).encode("utf-8"))
    (tmp_path / "wide.txt").write_bytes(LATIN.encode("utf-16"))
    assert read_text(tmp_path / "latin.txt") == (LATIN, "cp1252")
    assert read_text(tmp_path / "bom.txt") == (LATIN, "utf-8-sig")
    assert read_text(tmp_path / "wide.txt") == (LATIN, "utf-16")
    (tmp_path / "empty.txt").write_bytes(b"")
    assert read_text(tmp_path / "empty.txt")[0] == ""
    (tmp_path / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(DataValidationError, match="photo.txt: does not look like a text file"):
        read_text(tmp_path / "photo.txt")
    (tmp_path / "nul.txt").write_bytes(b"a few words\x00\x00\x00 and zeros")
    with pytest.raises(DataValidationError, match="nul.txt: holds NUL bytes"):
        read_text(tmp_path / "nul.txt")


def test_the_class_column_cannot_be_the_text_column(tmp_path):
    source = review_folder(tmp_path / "reviews", 4)
    with pytest.raises(ParamsError, match="data.target: 'text' is the column"):
        ingest(DataParams(source=str(source), target="text"), tmp_path / "raw")


def params_for(**train: object):
    fast = {"epochs": 4, "tensorboard": False, "text": {"max_tokens": 500, "ngrams": 1}}
    data = {"source": "reviews", "text_columns": ["text"]}
    return parse_params({"data": data, "validate": {"suite": None}, "train": fast | train})


def test_validate_names_the_empty_and_the_undecodable_files(tmp_path, monkeypatch):
    from tasks import ingest as ingest_stage
    from tasks import validate

    monkeypatch.chdir(tmp_path)
    source = review_folder(tmp_path / "reviews", 60)
    (source / "positive" / "empty.txt").write_bytes(b"")
    (source / "negative" / "blank.txt").write_text(" \n\n")
    (source / "negative" / "photo.txt").write_bytes(bytes(range(256)) * 4)
    ingest_stage.run(params_for())
    with pytest.raises(DataValidationError) as caught:
        validate.run(params_for())
    message = str(caught.value)
    [decodable] = [line for line in message.splitlines() if "not_be_null on column 'text'" in line]
    assert "Every file is text" in decodable and "negative/photo.txt" in decodable
    [empty] = [line for line in message.splitlines() if "match_regex on column 'text'" in line]
    assert "positive/empty.txt" in empty and "negative/blank.txt" in empty
    report = json.loads((tmp_path / "reports/validation.json").read_text())
    failed = [c for c in report["checks"] if not c["success"]]
    assert [c["column"] for c in failed] == ["text", "text"]


def test_a_text_folder_trains_and_predicts_one_row_per_file(tmp_path, monkeypatch):
    from flows.predict import predict
    from tasks import ingest as ingest_stage
    from tasks import prepare, train, validate
    from tasks.common.samples import prepared_ids

    monkeypatch.chdir(tmp_path)
    review_folder(tmp_path / "reviews", 300)
    params = params_for()
    ingest_stage.run(params)
    assert validate.run(params)["success"]
    meta = prepare.run(params)
    assert meta["features"] == {"numeric": [], "categorical": [], "text": ["text"]}
    train.run(params)
    test = pd.read_parquet(tmp_path / "data/prepared/test.parquet")
    ids = prepared_ids(test, meta)  # how evaluate names the test rows: by their files
    assert all((tmp_path / "reviews" / name).is_file() for name in ids)

    new = tmp_path / "new"
    for name in ids:
        (new / name).parent.mkdir(parents=True, exist_ok=True)
        (new / name).write_bytes((tmp_path / "reviews" / name).read_bytes())
    served = predict(tmp_path / "models/model", new)
    assert sorted(served["id"]) == sorted(ids)
    truth = dict(zip(ids, test["label"], strict=True))
    assert (served["predicted"] == served["id"].map(truth)).mean() > 0.75
    one = predict(tmp_path / "models/model", new / ids[0])
    assert one["id"].tolist() == [Path(ids[0]).name]
    assert one["predicted"].tolist() == served.set_index("id").loc[[ids[0]], "predicted"].tolist()


def test_text_files_need_a_model_whose_only_input_is_text(tmp_path):
    from flows.predict import predict

    meta = {"kind": "table", "target": "y", "classes": ["no", "yes"]}
    meta["features"] = {"numeric": ["stars"], "categorical": [], "text": ["review"]}
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "meta.json").write_text(json.dumps(meta))
    (tmp_path / "a.txt").write_text("a review of a few words")
    with pytest.raises(ParamsError, match="a.txt: text files fit a model whose only input"):
        predict(tmp_path / "model", tmp_path / "a.txt")
    (tmp_path / "none").mkdir()
    meta["features"] = {"numeric": [], "categorical": [], "text": ["review"]}
    (tmp_path / "model" / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(DataValidationError, match="none: no text files"):
        predict(tmp_path / "model", tmp_path / "none")
