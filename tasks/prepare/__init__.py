"""Prepare stage: train/val/test splits that never change as data grows, as Parquet files.

Each sample goes to the split a stable hash of its identity says (`tasks.common.splits`): its
key columns (`prepare.split_key`), else its feature values (a table row), or its decoded pixels
(an image). So identical samples share a split, and a row of yesterday keeps its split when
today's rows arrive. prepare decides the task (`data.task`, `tasks.problems`), reports how the
target came out in each split (class shares, or quantiles), and writes `reference.json`,
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
from tasks.common.params import DataParams, Params, load_params
from tasks.common.signature import build as build_signature
from tasks.common.splits import SPLITS, assign, rule_of
from tasks.common.splits import describe as describe_rule
from tasks.data.drift import reference_stats
from tasks.data.labels import read_findings
from tasks.data.layout import raw_kind, read_raw_table, table_sources
from tasks.data.manifest import IMAGE_CATEGORICAL, IMAGE_NUMERIC, image_view, manifest_file
from tasks.prepare.images import image_frame, labelled_rows, training_order, write_split
from tasks.prepare.tables import table_frame
from tasks.problems import TargetFacts, choose, class_folders_task, problem, problem_of

LABEL = "label"


def reference(frame: pd.DataFrame, meta: dict, images: pd.DataFrame | None) -> dict:
    """Statistics of the training split's samples, in the terms validate measures drift."""
    if images is not None:
        view = image_view(images)
        return reference_stats(view, IMAGE_NUMERIC, IMAGE_CATEGORICAL, kind="image", target=LABEL)
    types, target = meta["features"], meta["target"]
    numbers = problem_of(meta).numeric_target
    numeric = [*types["numeric"], *([target] if numbers else [])]
    categorical = [*types["categorical"], *([] if numbers else [target])]
    text = types.get("text", [])
    return reference_stats(frame, numeric, categorical, text, kind="table", target=target)


def refuse_failed_validation(reports: str) -> None:
    """Never split data that validation rejected, even when prepare is run by hand."""
    path = Path(reports) / "validation.json"
    if path.exists() and not read_json(path).get("success", True):
        raise DataValidationError(f"prepare: {path} says the raw data failed validation")


def task_of(table: pd.DataFrame, data: DataParams) -> str:
    """`data.task`, decided from the target column as validate decides it (`choose`)."""
    if data.target not in table.columns:
        raise DataValidationError(f"prepare: no column '{data.target}' (data.target) in the table")
    facts = TargetFacts()
    facts.add(table[data.target])
    return choose(data.task, facts, data.target)


def image_task_of(frame: pd.DataFrame, data: DataParams, raw: Path) -> str:
    """`data.task` for images: class folders are classes; a labels table's target is
    decided as a table's (`task_of`), as validate decides it."""
    if read_findings(raw) is None:
        return class_folders_task(data.task)
    return task_of(frame.rename(columns={LABEL: data.target}), data)


def samples(params: Params, raw: Path):
    """The samples (rows, or image paths and labels), their prepared meta, their identities,
    what those identities are, and for images the manifest (sizes and pixel hashes)."""
    if raw_kind(raw) == "image":
        surveyed_at = manifest_file(params.paths.reports)
        frame, meta, images = image_frame(raw / "images", params.data, surveyed_at)
        task = image_task_of(frame, params.data, raw)
        frame, images = labelled_rows(frame, images, problem(task), meta)
        identities = np.array([int(h, 16) for h in images["hash"]], dtype=np.uint64)
        meta |= {"kind": "image", "task": task}
        return frame, meta, identities, "pixels", images
    key, table = params.prepare.split_key, read_raw_table(raw)
    task = task_of(table, params.data)
    frame, meta, identities = table_frame(table, params.data, key, problem(task))
    meta |= {"kind": "table", "task": task, "sources": table_sources(raw)}
    return frame, meta, identities, "key" if key else "features", None


def run(params: Params) -> dict:
    raw = Path(params.paths.raw)
    refuse_failed_validation(params.paths.reports)
    frame, meta, identities, identity, images = samples(params, raw)
    splits = assign(identities, params.prepare)
    target, kind = meta["target"], problem_of(meta)
    report, notes, words = kind.split_report(frame[target], splits, target)
    train = splits["train"]
    stats = reference(frame.iloc[train], meta, None if images is None else images.iloc[train])
    meta |= kind.describe_target(frame[target]) | report
    meta |= {
        "rows": {name: len(idx) for name, idx in splits.items()},
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
        f"{kind.name}: {words} -> {params.paths.prepared}"
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
