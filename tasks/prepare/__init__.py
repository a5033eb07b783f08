"""Prepare stage: deterministic stratified train/val/test splits as Parquet files.

Identical samples (same decoded pixels, or same feature values whatever their labels) are
grouped and always land in the same split, so no test sample was seen in training; the split
is verified before anything is written. prepare also writes `reference.json`, statistics of
the training split that validate later compares new data with (drift).

Nothing is fitted here. Preprocessing (normalisation, category lookup, rescaling) is fitted
by the train stage on the training split only and saved inside the model, so the registered
model takes raw inputs. Images are decoded and resized once, by `tasks.data.images.load_image`, the
same function `trainflow predict` uses, and streamed into their splits (`tasks.prepare.images`).
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.common.errors import DataValidationError, stage_entry
from tasks.common.io import atomic_dir, read_json, write_json
from tasks.common.params import Params, PrepareParams, load_params
from tasks.common.signature import build as build_signature
from tasks.data.drift import reference_stats
from tasks.data.layout import raw_kind, read_raw_table
from tasks.data.manifest import IMAGE_CATEGORICAL, IMAGE_NUMERIC, image_view
from tasks.prepare.images import image_frame, training_order, write_split
from tasks.prepare.tables import table_frame

SPLITS = ("train", "val", "test")
LABEL = "label"
MAX_EXAMPLES = 5


def split_indices(labels: pd.Series, p: PrepareParams) -> dict[str, np.ndarray]:
    """Stratified, seeded split of row positions into train/val/test."""
    from sklearn.model_selection import train_test_split

    positions = np.arange(len(labels))
    classes = pd.factorize(labels, sort=True)[0]  # the classes as np.unique orders them, fast
    try:
        rest, test = train_test_split(
            positions, test_size=p.test_size, stratify=classes, random_state=p.seed
        )
        train, val = train_test_split(
            rest,
            test_size=p.val_size / (1 - p.test_size),
            stratify=classes[rest],
            random_state=p.seed,
        )
    except ValueError as err:
        raise DataValidationError(
            f"prepare: cannot split {len(labels)} rows by class: {err}"
        ) from None
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


def split_groups(labels: pd.Series, keys: np.ndarray, p: PrepareParams) -> dict[str, np.ndarray]:
    """Stratified split of groups of identical samples: every copy lands in one split.

    Each group is split by its first sample's label; without duplicates this is exactly the
    row-wise stratified split.
    """
    codes, _ = pd.factorize(keys)
    first = np.unique(codes, return_index=True)[1]
    groups = split_indices(labels.iloc[first].reset_index(drop=True), p)
    return {name: np.flatnonzero(np.isin(codes, ids)) for name, ids in groups.items()}


def check_disjoint(
    keys: np.ndarray, splits: dict[str, np.ndarray], names: list[str] | None = None
) -> None:
    """Raise DataValidationError if any sample (by hash) appears in two splits.

    Args:
        keys: one hash per sample; identical samples share one.
        splits: row positions of each split.
        names: how a user finds a sample (file paths); row numbers when None.
    """
    leaks = []
    for a, b in combinations(SPLITS, 2):
        shared = np.intersect1d(
            pd.unique(keys[splits[a]]), pd.unique(keys[splits[b]]), assume_unique=True
        )
        if len(shared):
            where = np.flatnonzero(np.isin(keys, shared[:MAX_EXAMPLES]))[:MAX_EXAMPLES]
            found = [names[i] if names else f"row {i}" for i in where]
            leaks.append(f"{len(shared)} samples in both {a} and {b}, e.g. {found}")
    if leaks:
        raise DataValidationError("prepare: samples leak across splits: " + "; ".join(leaks))


def reference(frame: pd.DataFrame, meta: dict, images: pd.DataFrame | None) -> dict:
    """Statistics of the training split's samples, in the terms validate measures drift."""
    if images is not None:
        view = image_view(images)
        return reference_stats(view, IMAGE_NUMERIC, IMAGE_CATEGORICAL, kind="image", target=LABEL)
    types, target = meta["features"], meta["target"]
    categorical = [*types["categorical"], target]
    return reference_stats(frame, types["numeric"], categorical, kind="table", target=target)


def refuse_failed_validation(reports: str) -> None:
    """Never split data that validation rejected, even when prepare is run by hand."""
    path = Path(reports) / "validation.json"
    if path.exists() and not read_json(path).get("success", True):
        raise DataValidationError(f"prepare: {path} says the raw data failed validation")


def run(params: Params) -> dict:
    raw = Path(params.paths.raw)
    kind = raw_kind(raw)
    refuse_failed_validation(params.paths.reports)
    images = None
    if kind == "image":
        frame, meta, images = image_frame(raw / "images", params.data)
        keys, names = images["hash"].to_numpy(), images["path"].tolist()
    else:
        frame, meta, keys = table_frame(read_raw_table(raw), params.data)
        names = None
    target = meta["target"]
    splits = split_groups(frame[target], keys, params.prepare)
    check_disjoint(keys, splits, names)
    train = splits["train"]
    stats = reference(frame.iloc[train], meta, None if images is None else images.iloc[train])
    meta |= {
        "kind": kind,
        "classes": sorted(frame[target].unique().tolist()),
        "rows": {name: len(idx) for name, idx in splits.items()},
        "duplicate_samples": int(len(keys) - len(pd.unique(keys))),
    }
    meta["signature"] = build_signature(meta)
    with atomic_dir(params.paths.prepared) as out:
        for name, idx in splits.items():
            if images is None:
                frame.iloc[idx].to_parquet(out / f"{name}.parquet", index=False)
                continue
            rows = training_order(idx, params.prepare.seed) if name == "train" else idx
            write_split(out / f"{name}.parquet", raw / "images", frame.iloc[rows], params.data)
        write_json(out / "meta.json", meta)
        write_json(out / "reference.json", stats | {"signature": meta["signature"]})
    for column, reason in meta.get("excluded_columns", {}).items():
        print(f"prepare: warning: column '{column}' left out of the features: {reason}")
    print(
        f"prepare: {meta['rows']} rows, {len(meta['classes'])} classes -> {params.paths.prepared}"
    )
    return meta


@stage_entry("prepare")
def main() -> None:
    run(load_params())
