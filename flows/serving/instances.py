"""A TF Serving REST request's `instances` as the model's inputs, or a 400 naming the problem.

Table rows are objects keyed by column name, as in the CSV the model was trained on (numbers,
or null for missing; text values as strings). Images are `{"b64": "<base64 file bytes>"}`
(TF Serving's binary convention, JPEG/PNG/... decoded and resized exactly as prepare does, by
`tasks.data.images.load_image`) or nested lists of uint8 pixels at the model's size.
"""

from __future__ import annotations

import base64
import binascii
import io
import math

import numpy as np

from tasks.common.brief import clip
from tasks.common.signature import TEXT, image_resize

MAX_INSTANCES = 10_000


class BadRequest(ValueError):
    """A request the model cannot answer: its message is the 400's error."""


def instances_of(body: object) -> list:
    if not isinstance(body, dict) or "instances" not in body:
        raise BadRequest('the body must be a JSON object with "instances": [...]')
    found = body["instances"]
    if not isinstance(found, list) or not found:
        raise BadRequest('"instances" must be a non-empty list')
    if len(found) > MAX_INSTANCES:
        raise BadRequest(f'"instances" holds {len(found)} rows, more than {MAX_INSTANCES}')
    return found


def _number(value: object, where: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"{where} must be a number or null, got {clip(repr(value), 60)}")
    return float(value)


def _text(value: object, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadRequest(f"{where} must be a string or null, got {clip(repr(value), 60)}")
    return str(value)


def table_rows(rows: list, signature: dict) -> dict[str, np.ndarray]:
    """Row objects as named model inputs, like `tasks.model.inputs.table_inputs`."""
    columns = {spec["name"]: [] for spec in signature["inputs"]}
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise BadRequest(f"instance {index}: expected an object of column values")
        for spec in signature["inputs"]:
            column = spec["column"]
            where = f"instance {index}: column '{clip(column, 60)}'"
            if column not in row:
                raise BadRequest(f"instance {index}: missing column '{clip(column, 60)}'")
            read = _text if spec["dtype"] == TEXT else _number
            columns[spec["name"]].append(read(row[column], where))
    return {
        spec["name"]: np.asarray(
            columns[spec["name"]], dtype=object if spec["dtype"] == TEXT else "float32"
        ).reshape(-1, 1)
        for spec in signature["inputs"]
    }


def _image(item: object, index: int, signature: dict) -> np.ndarray:
    from tasks.data.images import UNREADABLE, load_image

    height, width, channels = signature["inputs"][0]["shape"]
    if isinstance(item, dict) and "image" in item:  # {"image": {"b64": ...}}: a named input
        item = item["image"]
    if isinstance(item, list):
        pixels = np.asarray(item)
        if pixels.shape != (height, width, channels) or pixels.dtype.kind not in "iu":
            raise BadRequest(
                f"instance {index}: pixels must be integers of shape "
                f"[{height}, {width}, {channels}], got shape {list(pixels.shape)}"
            )
        return pixels.astype(np.uint8)
    if not isinstance(item, dict) or not isinstance(item.get("b64"), str):
        raise BadRequest(f'instance {index}: expected {{"b64": "<base64 image file>"}}')
    try:
        data = base64.b64decode(item["b64"], validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"instance {index}: b64 is not valid base64") from None
    try:
        return load_image(io.BytesIO(data), (height, width), channels, image_resize(signature))
    except UNREADABLE as err:
        raise BadRequest(f"instance {index}: not a readable image ({clip(str(err), 80)})") from None


def image_rows(items: list, signature: dict) -> np.ndarray:
    return np.stack([_image(item, index, signature) for index, item in enumerate(items)])


def model_inputs(body: object, signature: dict):
    """The request body's instances as what the model of `signature` takes."""
    rows = instances_of(body)
    if signature["kind"] == "image":
        return image_rows(rows, signature)
    return table_rows(rows, signature)
