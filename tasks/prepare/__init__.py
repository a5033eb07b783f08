"""Prepare stage: train/val/test splits that never change as data grows, as Parquet files.

Each sample goes to the split a stable hash of its identity says (`tasks.common.splits`): its
key columns (`prepare.split_key`), else its feature values (a table row), or its decoded pixels
(an image). So identical samples share a split, and a row of yesterday keeps its split when
today's rows arrive. prepare reports each split's class shares, and writes `reference.json`,
statistics of the training split that validate later compares new data with (drift).

Nothing is fitted here. Preprocessing (normalisation, category lookup, rescaling) is fitted
by the train stage on the training split only and saved inside the model, so the registered
model takes raw inputs. Images are decoded and resized once, by `tasks.data.images.load_image`, the
same function `trainflow predict` uses, and streamed into their splits (`tasks.prepare.images`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tasks.common.errors import DataValidationError, stage_entry
from tasks.common.io import atomic_dir, read_json, write_json
from tasks.common.params import Params, load_params
from tasks.common.signature import build as build_signature
from tasks.common.signature import few
from tasks.common.splits import SPLITS, assign, rule_of
from tasks.common.splits import describe as describe_rule
from tasks.data.drift import reference_stats
from tasks.data.layout import raw_kind, read_raw_table, table_sources
from tasks.data.manifest import IMAGE_CATEGORICAL, IMAGE_NUMERIC, image_view
from tasks.prepare.images import image_frame, training_order, write_split
from tasks.prepare.tables import table_frame

LABEL = "label"


def class_counts(labels: pd.Series, splits: dict[str, np.ndarray]) -> dict[str, dict]:
    """Rows of each class in each split, classes in sorted order."""
    classes = sorted(labels.unique().tolist())
    return {
        name: labels.iloc[rows].value_counts().reindex(classes, fill_value=0).astype(int).to_dict()
        for name, rows in splits.items()
    }


def check_classes(counts: dict[str, dict], target: str) -> list[str]:
    """Warnings for classes missing from val or test; an error for one missing from train.

    Raises:
        DataValidationError: a class with no training row (the model could never learn it).
    """
    absent = {name: [c for c, n in found.items() if not n] for name, found in counts.items()}
    if absent["train"]:
        total = [f"{c}: {sum(found[c] for found in counts.values())}" for c in absent["train"]]
        raise DataValidationError(
            f"prepare: no training row of class {few(absent['train'])} of '{target}' "
            f"(rows in all: {few(total)}): add rows of it, or raise "
            "validate.min_rows_per_class so validation stops such data"
        )
    return [
        f"class {few(classes)} of '{target}' has no row in the {name} split: its {name} "
        "metrics leave it out"
        for name, classes in absent.items()
        if classes
    ]


def share_spread(counts: dict[str, dict]) -> float:
    """The largest gap, in points, between a class's share in a split and in all the data."""
    table = pd.DataFrame(counts)
    overall = table.sum(axis=1) / max(int(table.to_numpy().sum()), 1)
    shares = table / table.sum(axis=0).clip(lower=1)
    return round(100 * float((shares.sub(overall, axis=0)).abs().to_numpy().max()), 1)


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


def samples(params: Params, raw: Path):
    """The samples (rows, or image paths and labels), their prepared meta, their identities,
    what those identities are, and for images the manifest (sizes and pixel hashes)."""
    if raw_kind(raw) == "image":
        frame, meta, images = image_frame(raw / "images", params.data)
        identities = np.array([int(h, 16) for h in images["hash"]], dtype=np.uint64)
        return frame, meta | {"kind": "image"}, identities, "pixels", images
    key = params.prepare.split_key
    frame, meta, identities = table_frame(read_raw_table(raw), params.data, key)
    meta |= {"kind": "table", "sources": table_sources(raw)}
    return frame, meta, identities, "key" if key else "features", None


def run(params: Params) -> dict:
    raw = Path(params.paths.raw)
    refuse_failed_validation(params.paths.reports)
    frame, meta, identities, identity, images = samples(params, raw)
    splits = assign(identities, params.prepare)
    target = meta["target"]
    counts = class_counts(frame[target], splits)
    notes = check_classes(counts, target)
    train = splits["train"]
    stats = reference(frame.iloc[train], meta, None if images is None else images.iloc[train])
    meta |= {
        "classes": sorted(frame[target].unique().tolist()),
        "rows": {name: len(idx) for name, idx in splits.items()},
        "class_counts": counts,
        "duplicate_samples": int(len(identities) - len(pd.unique(identities))),
        "split": rule_of(params.prepare, identity),
    }
    meta["signature"] = build_signature(meta)
    write_splits(params, raw, frame, splits, meta, stats)
    for column, reason in meta.get("excluded_columns", {}).items():
        print(f"prepare: warning: column '{column}' left out of the features: {reason}")
    for line in notes:
        print(f"prepare: warning: {line}")
    rows = "/".join(str(meta["rows"][name]) for name in SPLITS)
    print(
        f"prepare: {rows} rows (train/val/test) by {describe_rule(meta['split'])}; "
        f"{len(meta['classes'])} classes, each split's shares within "
        f"{share_spread(counts)} points of the whole data's -> {params.paths.prepared}"
    )
    return meta


def write_splits(
    params: Params, raw: Path, frame: pd.DataFrame, splits: dict, meta: dict, stats: dict
) -> None:
    """Each split as Parquet (images decoded a row group at a time), meta.json, reference.json."""
    with atomic_dir(params.paths.prepared) as out:
        for name, idx in splits.items():
            if meta["kind"] == "table":
                frame.iloc[idx].to_parquet(out / f"{name}.parquet", index=False)
                continue
            rows = training_order(idx, params.prepare.seed) if name == "train" else idx
            write_split(out / f"{name}.parquet", raw / "images", frame.iloc[rows], params.data)
        write_json(out / "meta.json", meta)
        write_json(out / "reference.json", stats | {"signature": meta["signature"]})


@stage_entry("prepare")
def main() -> None:
    run(load_params())
