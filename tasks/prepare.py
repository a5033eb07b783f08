"""Prepare stage: deterministic stratified train/val/test splits as Parquet files.

Nothing is fitted here. Preprocessing (normalisation, category lookup, rescaling) is fitted
by the train stage on the training split only and saved inside the model, so the registered
model takes raw inputs. Images are decoded and resized once, by `tasks.io.load_image`, the
same function `trainflow predict` uses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tasks.errors import DataValidationError, stage_entry
from tasks.io import atomic_dir, list_images, load_image, raw_kind, read_raw_table, write_json
from tasks.params import DataParams, Params, PrepareParams, load_params

SPLITS = ("train", "val", "test")
LABEL = "label"


def split_indices(labels: pd.Series, p: PrepareParams) -> dict[str, np.ndarray]:
    """Stratified, seeded split of row positions into train/val/test."""
    from sklearn.model_selection import train_test_split

    positions = np.arange(len(labels))
    try:
        rest, test = train_test_split(
            positions, test_size=p.test_size, stratify=labels, random_state=p.seed
        )
        train, val = train_test_split(
            rest,
            test_size=p.val_size / (1 - p.test_size),
            stratify=labels.iloc[rest],
            random_state=p.seed,
        )
    except ValueError as err:
        raise DataValidationError(
            f"prepare: cannot split {len(labels)} rows by class: {err}"
        ) from None
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


def feature_types(frame: pd.DataFrame, features: list[str]) -> dict[str, list[str]]:
    """Numeric columns are normalised by the model; everything else is a category."""
    numeric = [
        c
        for c in features
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    return {"numeric": numeric, "categorical": [c for c in features if c not in numeric]}


def table_frame(frame: pd.DataFrame, data: DataParams) -> tuple[pd.DataFrame, dict]:
    """Drop rows without a label; return the frame and its feature typing."""
    features = data.features or [c for c in frame.columns if c != data.target]
    kept = frame.loc[frame[data.target].notna(), [*features, data.target]].reset_index(drop=True)
    kept[data.target] = kept[data.target].astype(str)
    types = feature_types(kept, features)
    for column in types["categorical"]:
        kept[column] = kept[column].astype("string")
    return kept, {
        "target": data.target,
        "features": types,
        "null_targets_dropped": len(frame) - len(kept),
    }


def image_frame(images_root: Path, data: DataParams) -> tuple[pd.DataFrame, dict]:
    """Decode every image to fixed-size uint8 pixels (bytes in a column)."""
    rows = [
        {
            "path": str(path.relative_to(images_root)),
            LABEL: label,
            "pixels": load_image(path, data.image_size, data.channels).tobytes(),
        }
        for path, label in list_images(images_root)
    ]
    shape = [*data.image_size, data.channels]
    return pd.DataFrame(rows), {"target": LABEL, "image_shape": shape, "null_targets_dropped": 0}


def run(params: Params) -> dict:
    raw = Path(params.paths.raw)
    kind = raw_kind(raw)
    if kind == "image":
        frame, meta = image_frame(raw / "images", params.data)
    else:
        frame, meta = table_frame(read_raw_table(raw), params.data)
    target = meta["target"]
    splits = split_indices(frame[target], params.prepare)
    meta |= {
        "kind": kind,
        "classes": sorted(frame[target].unique().tolist()),
        "rows": {name: len(idx) for name, idx in splits.items()},
    }
    with atomic_dir(params.paths.prepared) as out:
        for name, idx in splits.items():
            frame.iloc[idx].to_parquet(out / f"{name}.parquet", index=False)
        write_json(out / "meta.json", meta)
    print(
        f"prepare: {meta['rows']} rows, {len(meta['classes'])} classes -> {params.paths.prepared}"
    )
    return meta


@stage_entry("prepare")
def main() -> None:
    run(load_params())


if __name__ == "__main__":
    main()
