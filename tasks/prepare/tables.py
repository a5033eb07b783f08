"""Tables for prepare: which columns are features, normalised labels and text, row hashes.

The suspect columns and spellings are decided by `tasks.data.columns`, the functions validate
reports with, so the features the model gets are the ones `reports/validation.json` lists.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.common.brief import listing
from tasks.common.errors import DataValidationError
from tasks.common.params import DataParams
from tasks.data.columns import features_after, normalized, suspects_of
from tasks.data.manifest import row_hashes


def feature_types(frame: pd.DataFrame, features: list[str]) -> dict[str, list[str]]:
    """Numeric columns are normalised by the model; everything else is a category."""
    numeric = [
        c
        for c in features
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    return {"numeric": numeric, "categorical": [c for c in features if c not in numeric]}


def choose_features(frame: pd.DataFrame, data: DataParams) -> tuple[list[str], dict[str, str]]:
    """The model's feature columns, and the suspect ones, decided as validate reports them.

    Raises:
        DataValidationError: suspect columns with `data.suspect_columns: fail`, or no
            feature left once they are excluded.
    """
    wanted = data.features or [c for c in frame.columns if c != data.target]
    suspects = suspects_of(frame, wanted)
    named = listing((f"'{c}': {reason}" for c, reason in suspects.items()), sep="; ", each=100)
    if suspects and data.suspect_columns == "fail":
        raise DataValidationError(f"prepare: suspect columns (data.suspect_columns: fail): {named}")
    features = features_after(wanted, suspects, data.suspect_columns)
    if not features:
        raise DataValidationError(
            f"prepare: no feature column left: {named}; set data.suspect_columns: keep to use them"
        )
    return features, suspects


def table_frame(frame: pd.DataFrame, data: DataParams) -> tuple[pd.DataFrame, dict, np.ndarray]:
    """Normalise labels and text as asked, choose the features, drop rows without a label;
    return the frame, its feature typing (and what was left out or folded) and row hashes."""
    wanted = data.features or [c for c in frame.columns if c != data.target]
    frame = normalized(frame, data, wanted)
    features, suspects = choose_features(frame, data)
    kept = frame.loc[frame[data.target].notna(), [*features, data.target]].reset_index(drop=True)
    keys = row_hashes(kept, features)
    kept[data.target] = kept[data.target].astype(str)
    types = feature_types(kept, features)
    for column in types["categorical"]:
        kept[column] = kept[column].astype("string")
    meta = {
        "target": data.target,
        "features": types,
        "null_targets_dropped": len(frame) - len(kept),
        "excluded_columns": {c: r for c, r in suspects.items() if c not in features},
        "normalized": {
            "labels": data.normalize_labels,
            "categories": types["categorical"] if data.normalize_categories else [],
        },
    }
    return kept, meta, keys
