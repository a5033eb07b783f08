"""Bad params, fuzzed: random edits of the repo's params.yaml are refused naming the edited key.

The edits are derived from the pydantic models in tasks/common/params.py (their keys, bounds and
allowed literals), so new params are fuzzed without touching this file. Valid edits (a value
in range, another allowed literal, a deleted key that falls back to its default) must load.
The file is parsed once; edits go to `tasks.common.params.validate`, where every load ends (the CLI
path, from a file to exit code 3, is in tests/e2e/test_faults.py).
"""

from __future__ import annotations

import copy
import json
import math
import re
import types
import typing
from pathlib import Path

import annotated_types as at
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from tasks.common.errors import ExitCode, ParamsError
from tasks.common.params import PARAMS_FILE, Params, read_raw, validate

ROOT = Path(__file__).resolve().parents[2]
ORIGINAL = json.loads(json.dumps(read_raw(ROOT / PARAMS_FILE)))
# Keys whose valid values depend on another key (a model-level rule): random in-range values
# there may be refused for the pair, so valid-edit tests leave them alone.
CROSS_FIELD = {
    "prepare.val_size",
    "prepare.test_size",
    "train.schedule",
    "train.reduce_lr_patience",
}
FUZZ = settings(max_examples=200, deadline=None)


def section(info: FieldInfo) -> type[BaseModel] | None:
    kind = info.annotation
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


def fields(model: type[BaseModel], raw: dict, prefix: tuple[str, ...] = ()):
    """(dotted path, field info) of every key present in the file, sections included."""
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key in raw:
            yield (*prefix, key), info
            if section(info) and isinstance(raw[key], dict):
                yield from fields(section(info), raw[key], (*prefix, key))


FIELDS = dict(fields(Params, ORIGINAL))
SECTIONS = [(), *(path for path, info in FIELDS.items() if section(info))]


def base(info: FieldInfo) -> object:
    """The annotation without `None` (for `float | None` and the like)."""
    kind = info.annotation
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        kept = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return kept[0] if len(kept) == 1 else kind
    return kind


def bounds(info: FieldInfo) -> dict[str, float]:
    found = {}
    for item in info.metadata:
        for name in ("gt", "ge", "lt", "le"):
            if isinstance(item, getattr(at, name.capitalize())):
                found[name] = getattr(item, name)
    return found


def numeric(path: tuple[str, ...]) -> bool:
    return base(FIELDS[path]) in (int, float)


def literals(info: FieldInfo) -> tuple | None:
    kind = base(info)
    return typing.get_args(kind) if typing.get_origin(kind) is typing.Literal else None


def pattern(info: FieldInfo) -> str | None:
    return next((m.pattern for m in info.metadata if getattr(m, "pattern", None)), None)


def in_range(info: FieldInfo) -> st.SearchStrategy:
    b = bounds(info)
    if base(info) is int:
        low = b["gt"] + 1 if "gt" in b else b.get("ge", -(10**6))
        high = b["lt"] - 1 if "lt" in b else b.get("le", 10**6)
        return st.integers(low, max(low, high))
    low, high = b.get("gt", b.get("ge", -1e6)), b.get("lt", b.get("le", 1e6))
    return st.floats(low, high, exclude_min="gt" in b, exclude_max="lt" in b)


def out_of_range(info: FieldInfo) -> st.SearchStrategy:
    b, whole = bounds(info), base(info) is int
    sides = []
    if "gt" in b or "ge" in b:
        edge = b.get("gt", b.get("ge"))
        if whole:
            sides.append(st.integers(max_value=math.floor(edge) - ("ge" in b)))
        else:
            sides.append(st.floats(max_value=edge, exclude_max="ge" in b, allow_nan=False))
    if "lt" in b or "le" in b:
        edge = b.get("lt", b.get("le"))
        if whole:
            sides.append(st.integers(min_value=math.ceil(edge) + ("le" in b)))
        else:
            sides.append(st.floats(min_value=edge, exclude_min="le" in b, allow_nan=False))
    return st.one_of(sides)


def takes_mapping(info: FieldInfo) -> bool:
    """A key that also accepts a mapping (`train.class_weight`: null, a word or {class: w})."""
    return any(typing.get_origin(arg) is dict for arg in typing.get_args(info.annotation))


def wrong_type(value: object, info: FieldInfo) -> st.SearchStrategy:
    """Values of a type the key can never take (no lax coercion turns them into it)."""
    if isinstance(value, bool):
        return st.sampled_from([{"a": 1}, [1, 2], "maybe"])
    if isinstance(value, int | float):
        return st.sampled_from(["not-a-number", {"a": 1}, [1, 2]])
    if isinstance(value, str):
        return st.sampled_from([{"a": 1}, [1, 2]])
    if isinstance(value, list):
        return st.sampled_from([{"a": 1}, "oops"])
    if isinstance(value, dict):
        return st.sampled_from(["oops", 3, [1, 2]])
    return st.just([1, 2] if takes_mapping(info) else {"a": 1})


def wrong_literal(info: FieldInfo) -> st.SearchStrategy:
    allowed, rule = literals(info), pattern(info)
    if allowed and all(isinstance(a, int) for a in allowed):
        return st.integers(-10, 10).filter(lambda v: v not in allowed)
    text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
    if allowed:
        return text.filter(lambda v: v not in allowed)
    return text.filter(lambda v: not re.fullmatch(rule, v))


def at_path(raw: dict, path: tuple[str, ...]) -> dict:
    for key in path:
        raw = raw[key]
    return raw


def with_value(path: tuple[str, ...], value: object) -> dict:
    raw = copy.deepcopy(ORIGINAL)
    at_path(raw, path[:-1])[path[-1]] = value
    return raw


def assert_refused(raw: dict, path: tuple[str, ...]) -> None:
    with pytest.raises(ParamsError) as caught:
        validate(raw)
    assert caught.value.code == ExitCode.BAD_PARAMS
    where = re.escape(f"{PARAMS_FILE}: {'.'.join(path)}")
    assert re.search(rf"^{where}[.:]", str(caught.value), re.M), str(caught.value)


@FUZZ
@given(st.data())
def test_unknown_key_at_any_depth_is_refused(data):
    path = (
        *data.draw(st.sampled_from(SECTIONS)),
        data.draw(st.from_regex(r"zz[a-z_]{0,8}", fullmatch=True)),
    )
    assert_refused(with_value(path, 1), path)


@FUZZ
@given(st.data())
def test_value_of_the_wrong_type_is_refused(data):
    path = data.draw(st.sampled_from(list(FIELDS)))
    value = data.draw(wrong_type(at_path(ORIGINAL, path), FIELDS[path]))
    assert_refused(with_value(path, value), path)


@FUZZ
@given(st.data())
def test_number_out_of_range_is_refused(data):
    path = data.draw(st.sampled_from([p for p in FIELDS if numeric(p) and bounds(FIELDS[p])]))
    assert_refused(with_value(path, data.draw(out_of_range(FIELDS[path]))), path)


@FUZZ
@given(st.data())
def test_value_outside_the_allowed_literals_is_refused(data):
    keys = [p for p, info in FIELDS.items() if literals(info) or pattern(info)]
    path = data.draw(st.sampled_from(keys))
    assert_refused(with_value(path, data.draw(wrong_literal(FIELDS[path]))), path)


@FUZZ
@given(st.data())
def test_value_in_range_or_allowed_loads_as_written(data):
    keys = [p for p, i in FIELDS.items() if ".".join(p) not in CROSS_FIELD]
    path = data.draw(st.sampled_from([p for p in keys if numeric(p) or literals(FIELDS[p])]))
    info = FIELDS[path]
    value = data.draw(st.sampled_from(literals(info)) if literals(info) else in_range(info))
    loaded = validate(with_value(path, value)).model_dump(by_alias=True)
    assert at_path(loaded, path) == value


@FUZZ
@given(st.data())
def test_deleted_key_falls_back_to_its_default_or_is_required(data):
    path = data.draw(st.sampled_from(list(FIELDS)))
    raw = copy.deepcopy(ORIGINAL)
    del at_path(raw, path[:-1])[path[-1]]
    if FIELDS[path].is_required():
        assert_refused(raw, path)
        return
    loaded = validate(raw).model_dump(by_alias=True)
    default = FIELDS[path].get_default(call_default_factory=True)
    if isinstance(default, BaseModel):
        default = default.model_dump(by_alias=True)
    assert at_path(loaded, path) == default
