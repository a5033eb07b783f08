import pandas as pd
import pytest

from flows.predict import check_table
from tasks.common.errors import DataValidationError
from tasks.common.signature import build, differences, image_resize, input_names, signature_of

DIGITS = {"kind": "image", "target": "label", "classes": [str(d) for d in range(10)]}
DIGITS["image_shape"] = [8, 8, 1]
TABLE = {"kind": "table", "target": "y", "classes": ["no", "yes"]}
TABLE["features"] = {"numeric": ["price", "weight"], "categorical": ["color"]}


def test_input_names_stay_one_to_one_with_columns():
    names = input_names(["Price", "price", "a b", "a_b", "weight", "€"])
    assert len(set(names.values())) == 6
    assert names["weight"] == "f_weight"  # a plain name stays readable
    assert (names["Price"], names["price"]) == ("f_Price", "f_price")
    assert names["a b"] != names["a_b"]
    assert input_names(["a b", "a_b"]) == input_names(["a b", "a_b"])  # deterministic


def test_a_signature_says_what_the_model_takes_and_predicts():
    image = build(DIGITS)
    assert image["inputs"] == [
        {"column": "image", "name": "image", "dtype": "uint8", "shape": [8, 8, 1]}
    ]
    table = build(TABLE)
    assert [(s["column"], s["dtype"]) for s in table["inputs"]] == [
        ("price", "float32"),
        ("weight", "float32"),
        ("color", "string"),
    ]
    assert (table["target"], table["classes"]) == ("y", ["no", "yes"])


def test_models_saved_before_signatures_keep_their_own_input_names():
    legacy = signature_of(TABLE | {"features": {"numeric": ["Mean Radius"], "categorical": []}})
    assert legacy["inputs"][0]["name"] == "f_mean_radius"
    recorded = build(TABLE)
    assert signature_of(TABLE | {"signature": recorded}) is recorded


def test_same_data_has_no_differences_whatever_the_input_names():
    legacy = signature_of(TABLE)
    assert differences(legacy, build(TABLE)) == []


def test_differences_name_what_changed():
    assert differences(build(DIGITS), build(TABLE)) == [
        "kind: the champion takes images 8x8x1 -> 10 classes of 'label', "
        "this model a table of 3 columns -> 2 classes of 'y'"
    ]
    three = build(DIGITS | {"classes": ["cat", "dog", "fox"]})
    (line,) = differences(build(DIGITS), three)
    assert line.startswith("classes: champion [0, 1, 2, 3, 4, 5 and 4 more], this model")
    assert line.endswith("[cat, dog, fox]")
    changed = TABLE | {"features": {"numeric": ["price"], "categorical": ["color", "weight"]}}
    assert differences(build(TABLE), build(changed)) == [
        "input 'weight': champion float32 [1], challenger string [1]"
    ]
    fewer = TABLE | {"features": {"numeric": ["price"], "categorical": ["size"]}}
    assert differences(build(TABLE), build(fewer)) == [
        "inputs only the champion takes: [weight, color]",
        "inputs only the challenger takes: [size]",
    ]


def test_image_signatures_record_how_photos_are_resized():
    cropped, padded = build(DIGITS | {"resize": "crop"}), build(DIGITS | {"resize": "pad"})
    assert image_resize(cropped) == "crop" and image_resize(padded) == "pad"
    assert image_resize(build(DIGITS)) == "stretch"  # recorded before `resize`: as it was fed
    assert differences(cropped, padded) == [
        "input 'image': the champion's images are resized by crop, this model's by pad "
        "(data.resize)"
    ]
    assert (
        differences(build(DIGITS), padded) == []
    )  # unknown for the older model: not held against it


def test_predict_names_missing_and_mistyped_columns():
    signature = build(TABLE)
    with pytest.raises(DataValidationError, match=r"missing columns \['color'\]"):
        check_table(pd.DataFrame({"price": [1.0], "weight": [2]}), signature, "new.csv")
    frame = pd.DataFrame({"price": ["1.5", "cheap", None], "weight": [1, 2, 3], "color": "red"})
    with pytest.raises(DataValidationError) as found:
        check_table(frame, signature, "new.csv")
    assert "new.csv does not fit the model, which takes a table of 3 columns" in str(found.value)
    assert "column 'price' must hold numbers: 1 values do not, e.g. row 1 ('cheap')" in str(
        found.value
    )
    check_table(frame.assign(price=[1.5, None, 2.0]), signature, "new.csv")  # nulls are fine
