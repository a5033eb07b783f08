"""A model's signature: the inputs it takes and what it predicts (classes, or a number).

prepare writes it into the prepared meta.json, train copies it next to the model and the
registry keeps it in each version's lineage. Evaluate compares a champion only with a
challenger of the same signature, validate measures drift only against one, and
`trainflow predict` checks its input against it. Table inputs are named one-to-one after their
columns (`input_names`) and the signature keeps that mapping, so serving never re-derives it.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

from tasks.common.brief import few
from tasks.common.errors import ParamsError

IMAGE_INPUT = "image"
NUMERIC, TEXT = "float32", "string"
FOLDED = {"normalize": "strip+lower"}  # a string input the model trims and lower-cases itself
FREE_TEXT = {"role": "text"}  # a string input of free text, vectorised (not a category)
LEGACY_RESIZE = "stretch"  # how images were resized before signatures recorded `resize`


def _digest(column: str) -> str:
    return hashlib.blake2b(column.encode(), digest_size=3).hexdigest()


def input_names(columns: list[str]) -> dict[str, str]:
    """A Keras input name per table column, one-to-one.

    `f_` plus the column name with every run of other characters than ASCII letters, digits
    and `_` turned into `_`. Columns that would share a name (`Price` and `price ` or `a-b` and
    `a b`) each get a short hash of their exact name appended, so no column is dropped or fed
    twice.
    """
    base = {c: "f_" + (re.sub(r"[^A-Za-z0-9_]+", "_", c).strip("_") or "column") for c in columns}
    shared = Counter(base.values())
    names = {c: name if shared[name] == 1 else f"{name}_{_digest(c)}" for c, name in base.items()}
    if len(set(names.values())) < len(names):
        clash = [c for c in columns if list(names.values()).count(names[c]) > 1]
        raise ParamsError(f"data.features: columns {clash} cannot get distinct model input names")
    return names


def _legacy_names(columns: list[str]) -> dict[str, str]:
    """How models written before signatures were recorded named their inputs."""
    return {c: "f_" + re.sub(r"\W+", "_", c).strip("_").lower() for c in columns}


def build(meta: dict, names=input_names) -> dict:
    """The signature of a prepared dataset (`meta.json` of the prepare stage): its input
    kind, task, target and what the task records of its outputs (`tasks.problems`)."""
    from tasks.problems import problem

    task = meta.get("task", "classification")
    about = {"kind": meta["kind"], "task": task, "target": meta["target"]}
    about |= problem(task).signature_part(meta)
    if meta["kind"] == "image":
        spec = {"column": IMAGE_INPUT, "name": IMAGE_INPUT, "dtype": "uint8"}
        spec |= {"shape": list(meta["image_shape"])}
        if "resize" in meta:
            spec["resize"] = meta["resize"]
        return about | {"inputs": [spec]}
    numeric, categorical = meta["features"]["numeric"], meta["features"]["categorical"]
    text = meta["features"].get("text", [])
    folded = set(meta.get("normalized", {}).get("categories", []))
    named = names([*numeric, *categorical, *text])
    inputs = [{"column": c, "name": named[c], "dtype": NUMERIC, "shape": [1]} for c in numeric]
    for column in [*categorical, *text]:
        spec = {"column": column, "name": named[column], "dtype": TEXT, "shape": [1]}
        spec |= FREE_TEXT if column in text else {}
        inputs.append(spec | FOLDED if column in folded else spec)
    return about | {"inputs": inputs}


def signature_of(meta: dict) -> dict:
    """The recorded signature; for a model saved before signatures existed, its derivation."""
    return meta.get("signature") or build(meta, _legacy_names)


def image_resize(signature: dict) -> str:
    """How raw images are resized for a model of this image signature (`data.resize`)."""
    return signature["inputs"][0].get("resize", LEGACY_RESIZE)


def numeric_inputs(signature: dict) -> list[dict]:
    return [spec for spec in signature["inputs"] if spec["dtype"] == NUMERIC]


def is_free_text(spec: dict) -> bool:
    return spec.get("role") == FREE_TEXT["role"]


def category_inputs(signature: dict) -> list[dict]:
    """String inputs that are categories (looked up in a vocabulary of values)."""
    return [s for s in signature["inputs"] if s["dtype"] == TEXT and not is_free_text(s)]


def free_text_inputs(signature: dict) -> list[dict]:
    """String inputs of free text (split into words and vectorised)."""
    return [spec for spec in signature["inputs"] if is_free_text(spec)]


def describe(signature: dict) -> str:
    """One line: `images 8x8x1 -> 10 classes of 'label'`, `a table of 7 columns -> a
    number, 'price'`."""
    from tasks.problems import problem_of

    outputs = problem_of(signature).outputs(signature)
    if signature["kind"] == "image":
        shape = "x".join(map(str, signature["inputs"][0]["shape"]))
        return f"images {shape} -> {outputs}"
    text = len(free_text_inputs(signature))
    texts = f" ({text} of text)" if text else ""
    return f"a table of {len(signature['inputs'])} columns{texts} -> {outputs}"


def _input_differences(champion: dict, challenger: dict) -> list[str]:
    theirs = {s["column"]: s for s in champion["inputs"]}
    ours = {s["column"]: s for s in challenger["inputs"]}
    found = []
    if gone := [c for c in theirs if c not in ours]:
        found.append(f"inputs only the champion takes: {few(gone)}")
    if new := [c for c in ours if c not in theirs]:
        found.append(f"inputs only the challenger takes: {few(new)}")
    for column in (c for c in ours if c in theirs):
        a, b = theirs[column], ours[column]
        if (a["dtype"], a["shape"]) != (b["dtype"], b["shape"]):
            found.append(
                f"input '{column}': champion {a['dtype']} {a['shape']}, "
                f"challenger {b['dtype']} {b['shape']}"
            )
        elif is_free_text(a) != is_free_text(b):
            found.append(
                f"input '{column}': {'free text' if is_free_text(a) else 'a category'} for the "
                f"champion, {'free text' if is_free_text(b) else 'a category'} for this model "
                "(data.text_columns)"
            )
        elif {"resize"} <= a.keys() & b.keys() and a["resize"] != b["resize"]:
            found.append(
                f"input '{column}': the champion's images are resized by {a['resize']}, "
                f"this model's by {b['resize']} (data.resize)"
            )
    return found


def differences(champion: dict, challenger: dict) -> list[str]:
    """What differs between two signatures, in words; empty when a comparison is fair.

    Input names are not compared (a model keeps its own naming), only columns, dtypes and
    shapes, the task, the label column and what the task compares (the classes in their
    order: the probability columns).
    """
    from tasks.problems import problem_of

    if champion["kind"] != challenger["kind"]:
        return [f"kind: the champion takes {describe(champion)}, this model {describe(challenger)}"]
    theirs, ours = problem_of(champion), problem_of(challenger)
    if theirs is not ours:
        return [
            f"task: the champion predicts {describe(champion)}, this model {describe(challenger)}"
        ]
    found = []
    if champion["target"] != challenger["target"]:
        found.append(
            f"label column: champion '{champion['target']}', this model '{challenger['target']}'"
        )
    found += ours.differences(champion, challenger)
    return found + _input_differences(champion, challenger)
