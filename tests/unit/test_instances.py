"""A request's instances as model inputs, or a 400 message naming the problem."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from flows.serving.instances import BadRequest, model_inputs
from tasks.common.signature import build
from tasks.data.images import load_image

IMAGES = build(
    {"kind": "image", "target": "label", "image_shape": [8, 8, 1], "classes": ["a", "b"]}
)
TABLE = build(
    {
        "kind": "table",
        "target": "y",
        "classes": ["no", "yes"],
        "features": {"numeric": ["size"], "categorical": ["color"]},
    }
)


def png(width: int = 20, height: int = 12) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.arange(width * height, dtype=np.uint8).reshape(height, width)).save(
        out, "PNG"
    )
    return out.getvalue()


def test_b64_images_are_decoded_and_resized_as_prepare_does(tmp_path):
    (tmp_path / "a.png").write_bytes(png())
    encoded = base64.b64encode(png()).decode()
    pixels = model_inputs({"instances": [{"b64": encoded}, {"image": {"b64": encoded}}]}, IMAGES)
    expected = load_image(tmp_path / "a.png", (8, 8), 1, "stretch")
    assert pixels.shape == (2, 8, 8, 1) and (pixels[0] == expected).all()
    assert (pixels[1] == expected).all()
    raw = model_inputs({"instances": [expected.tolist()]}, IMAGES)
    assert (raw[0] == expected).all()


@pytest.mark.parametrize(
    ("instances", "message"),
    [
        ([{"b64": "not base64!"}], "instance 0: b64 is not valid base64"),
        ([{"b64": base64.b64encode(b"not an image").decode()}], "instance 0: not a readable image"),
        ([[[0] * 3]], "instance 0: pixels must be integers of shape [8, 8, 1], got shape [1, 3]"),
        (["x"], 'instance 0: expected {"b64": "<base64 image file>"}'),
    ],
)
def test_bad_images_name_the_instance_and_problem(instances, message):
    with pytest.raises(BadRequest) as caught:
        model_inputs({"instances": instances}, IMAGES)
    assert str(caught.value).startswith(message)


def test_table_rows_become_named_inputs_with_missing_values():
    found = model_inputs(
        {"instances": [{"size": 1.5, "color": "red"}, {"size": None, "color": None}]}, TABLE
    )
    assert found["f_size"].dtype == np.float32 and np.isnan(found["f_size"][1, 0])
    assert found["f_color"].tolist() == [["red"], [""]]
    with pytest.raises(
        BadRequest, match="instance 0: column 'size' must be a number or null, got True"
    ):
        model_inputs({"instances": [{"size": True, "color": "red"}]}, TABLE)
    with pytest.raises(BadRequest, match='"instances" must be a non-empty list'):
        model_inputs({"instances": []}, TABLE)
