"""`init_suite`: a draft Great Expectations suite from today's raw data, never overwritten
by accident. (That the clean data passes it and corrupted copies fail: test_validate.py.)"""

from __future__ import annotations

import json

import pytest

from flows.suite import SuiteError, init_suite
from tasks.common.errors import DataValidationError, ExitCode
from tests.unit.test_validate import clean_table, params_for, write_images, write_table


def expectations(path) -> dict[tuple[str, str | None], dict]:
    suite = json.loads(path.read_text())
    return {(e["type"], e["kwargs"].get("column")): e["kwargs"] for e in suite["expectations"]}


def test_table_suite_states_todays_data_with_margins(tmp_path, monkeypatch):
    frame = clean_table()
    write_table(tmp_path, frame)
    monkeypatch.chdir(tmp_path)
    path = init_suite(params_for(suite="bank"))
    assert path == tmp_path.joinpath("gx/expectations/bank.json").relative_to(tmp_path)
    found = expectations(tmp_path / path)
    assert found[("expect_table_columns_to_match_set", None)]["column_set"] == list(frame)
    assert found[("expect_table_row_count_to_be_between", None)] == {
        "min_value": 150,
        "max_value": 3000,
    }
    x2 = found[("expect_column_values_to_be_between", "x2")]
    assert (frame["x2"].min(), frame["x2"].max()) == (0, 99)
    assert (x2["min_value"], x2["max_value"]) == (-10, 109)  # 10% of the span, whole numbers
    assert found[("expect_column_values_to_be_in_set", "color")]["value_set"] == [
        "blue",
        "green",
        "red",
    ]
    assert found[("expect_column_type_to_be", "color")]["type_"] == "str"
    assert found[("expect_column_values_to_not_be_null", "x1")]["mostly"] == 0.99
    suite = json.loads((tmp_path / path).read_text())["expectations"]
    labels = [e["kwargs"] for e in suite if e["kwargs"].get("column") == "label"]
    assert {"column": "label", "value_set": ["no", "yes"]} in labels
    shares = {
        tuple(k["value_set"]): k["mostly"] for k in labels if "mostly" in k and "value_set" in k
    }
    assert shares == {("no",): 0.25, ("yes",): 0.25}  # half of each class's share today


def test_image_suite_covers_decoding_channels_size_duplicates(tmp_path, monkeypatch):
    write_images(tmp_path)
    monkeypatch.chdir(tmp_path)
    found = expectations(tmp_path / init_suite(params_for(suite=None)))
    assert found[("expect_column_values_to_be_in_set", "decodable")]["value_set"] == [True]
    assert found[("expect_column_values_to_be_in_set", "channels")]["value_set"] == [1]
    assert found[("expect_column_values_to_be_between", "height")] == {
        "column": "height",
        "min_value": 8,
        "max_value": 8,
    }
    assert ("expect_column_values_to_be_unique", "hash") in found
    assert tmp_path.joinpath("gx/expectations/trainflow.json").is_file()


def test_images_none_of_which_decode_name_the_folder(tmp_path, monkeypatch):
    for image in write_images(tmp_path, per_class=2).rglob("*.png"):
        image.write_bytes(b"not a png")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataValidationError, match="data/raw/images: none of its 6 images could"):
        init_suite(params_for(suite=None))
    assert not tmp_path.joinpath("gx/expectations/trainflow.json").exists()


def test_never_overwrites_without_force(tmp_path, monkeypatch):
    write_table(tmp_path, clean_table())
    monkeypatch.chdir(tmp_path)
    path = init_suite(params_for())
    path.write_text(path.read_text().replace('"blue"', '"navy"'))
    with pytest.raises(SuiteError, match="tiny.json exists.*--force") as err:
        init_suite(params_for())
    assert err.value.code == ExitCode.USAGE
    assert '"navy"' in path.read_text()
    init_suite(params_for(), force=True)
    assert '"navy"' not in path.read_text() and '"blue"' in path.read_text()


def test_no_raw_data_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SuiteError, match="no raw data in data/raw"):
        init_suite(params_for())


def test_draft_names_the_quiet_killers_and_leaves_id_values_free(tmp_path, monkeypatch, capsys):
    from tasks import validate
    from tests.unit.test_validate_columns import animals
    from tests.unit.test_validate_columns import params_for as animal_params

    frame = animals()
    write_table(tmp_path, frame)
    monkeypatch.chdir(tmp_path)
    params = animal_params(normalize_labels=True)
    params = params.model_copy(
        update={"validate_": params.validate_.model_copy(update={"suite": "zoo"})}
    )
    found = expectations(tmp_path / init_suite(params))
    out = capsys.readouterr().out
    assert "suite: warning: column 'order_no' looks like an identifier" in out
    assert "validate left out of the features (data.suspect_columns)" in out
    assert "'label' written several ways ('cat' " in out and "validate merges them" in out
    assert ("expect_column_values_to_be_between", "order_no") not in found
    assert ("expect_column_values_to_be_in_set", "shop") not in found
    suite = json.loads((tmp_path / "gx/expectations/zoo.json").read_text())["expectations"]
    cat = next(e for e in suite if "class cat" in (e.get("description") or ""))
    assert sorted(cat["kwargs"]["value_set"]) == ["CAT", "Cat ", "cat"]
    share = frame["label"].str.strip().str.lower().eq("cat").mean() / 2
    assert cat["kwargs"]["mostly"] == round(share, 4)
    tomorrow = animals(seed=4).assign(order_no=lambda f: f["order_no"] + 10_000)
    write_table(tmp_path, tomorrow)
    assert validate.run(params)["success"]  # new order numbers are not out of range


def test_a_text_column_is_drafted_as_free_text_not_as_a_set_of_reviews(tmp_path, monkeypatch):
    """Reviews few enough to fit a value set would otherwise be drafted as one, and every new
    review would fail validation; a text column gets its blank share and length instead."""
    from tasks import validate
    from tests.texts import reviews

    today = reviews(40).assign(label=lambda f: f.pop("sentiment"))
    today.loc[[3, 17], "review"] = "  "
    write_table(tmp_path, today)
    monkeypatch.chdir(tmp_path)
    params = params_for(suite="reviews")
    found = expectations(tmp_path / init_suite(params))
    assert ("expect_column_values_to_be_in_set", "review") not in found
    assert found[("expect_column_values_to_be_in_set", "channel")]["value_set"] == [
        "app",
        "shop",
        "web",
    ]
    blank = found[("expect_column_values_to_match_regex", "review")]
    assert blank["regex"] == r"\S" and blank["mostly"] == round(1 - (2 * 2 / 40 + 0.01), 4)
    longest = int(today["review"].str.len().max())
    length = found[("expect_column_value_lengths_to_be_between", "review")]
    assert (length["min_value"], length["max_value"]) == (0, 2 * longest)
    tomorrow = reviews(40, seed=7).assign(label=lambda f: f.pop("sentiment"))
    write_table(tmp_path, tomorrow)
    assert validate.run(params)["success"]  # new reviews are not "unexpected values"
    pasted = tomorrow.assign(review=lambda f: f["review"] + " " + "x" * (4 * longest))
    write_table(tmp_path, pasted)
    with pytest.raises(DataValidationError, match="expect_column_value_lengths_to_be_between"):
        validate.run(params)
