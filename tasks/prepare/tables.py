"""Tables for prepare: which columns are features, normalised labels and text, identities.

The suspect columns, free-text columns and spellings are decided by `tasks.data.columns`, the
functions validate reports with, so the features the model gets are the ones
`reports/validation.json` lists.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.common.brief import few, listing
from tasks.common.errors import DataValidationError, ParamsError
from tasks.common.params import DataParams
from tasks.common.samples import ROW, row_hashes
from tasks.data.columns import features_after, normalized, profile_of
from tasks.problems import Problem

MAX_EXAMPLES = 5


def feature_types(
    frame: pd.DataFrame, features: list[str], text: list[str] = ()
) -> dict[str, list[str]]:
    """Free text is vectorised by the model, numeric columns are normalised; everything else
    is a category."""
    numeric = [
        c
        for c in features
        if c not in text
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]
    categorical = [c for c in features if c not in numeric and c not in text]
    free = [c for c in features if c in text]
    return {"numeric": numeric, "categorical": categorical, "text": free}


def named_text(wanted: list[str], data: DataParams) -> None:
    """`data.text_columns` must name feature columns.

    Raises:
        ParamsError: a named column that is not a feature (or not in the table).
    """
    absent = [c for c in data.text_columns or [] if c not in wanted]
    if absent:
        raise ParamsError(
            f"data.text_columns: {few(map(repr, absent))} not among the feature columns "
            f"({few(map(repr, wanted))})"
        )


def choose_features(
    frame: pd.DataFrame, data: DataParams
) -> tuple[list[str], dict[str, str], list[str]]:
    """The model's feature columns, the suspect ones and the free-text ones, decided as
    validate reports them.

    Raises:
        DataValidationError: suspect columns with `data.suspect_columns: fail`, or no
            feature left once they are excluded.
    """
    wanted = data.features or [c for c in frame.columns if c != data.target]
    named_text(wanted, data)
    profile = profile_of(frame, wanted, data.text_columns)
    suspects = profile.suspects()
    named = listing((f"'{c}': {reason}" for c, reason in suspects.items()), sep="; ", each=100)
    if suspects and data.suspect_columns == "fail":
        raise DataValidationError(f"prepare: suspect columns (data.suspect_columns: fail): {named}")
    features = features_after(wanted, suspects, data.suspect_columns)
    if not features:
        raise DataValidationError(
            f"prepare: no feature column left: {named}; set data.suspect_columns: keep to use them"
        )
    return features, suspects, [c for c in profile.texts() if c in features]


def key_identities(frame: pd.DataFrame, key: list[str]) -> np.ndarray:
    """Identities of rows by their key columns (`prepare.split_key`), checked first.

    Raises:
        DataValidationError: a key column that is not in the table, or rows without a key.
    """
    absent = [column for column in key if column not in frame.columns]
    if absent:
        raise DataValidationError(
            f"prepare.split_key: no column {few(absent)} in the table (columns {few(list(frame))})"
        )
    missing = frame[key].isna().any(axis=1)
    if missing.any():
        rows = [f"row {i}" for i in np.flatnonzero(missing.to_numpy())[:MAX_EXAMPLES]]
        raise DataValidationError(
            f"prepare.split_key: {int(missing.sum())} rows have no value in {key}, e.g. "
            f"{', '.join(rows)}: a row without its key cannot keep its split"
        )
    return row_hashes(frame, key)


def table_frame(
    frame: pd.DataFrame, data: DataParams, key: list[str] | None, problem: Problem
) -> tuple[pd.DataFrame, dict, np.ndarray]:
    """Normalise labels and text as asked, choose the features, drop rows without a label;
    return the frame (with each row's raw position, `ROW`, and its key columns), its feature
    typing (and what was left out or folded) and each row's identity: its key, else the
    values of its features (so identical rows share one, whatever their labels say)."""
    wanted = data.features or [c for c in frame.columns if c != data.target]
    frame = normalized(frame, data, wanted)
    features, suspects, text = choose_features(frame, data)
    identities = key_identities(frame, key) if key else row_hashes(frame, features)
    labelled = frame[data.target].notna().to_numpy()
    extra = [c for c in key or [] if c not in features and c != data.target]
    kept = frame.loc[labelled, [*features, data.target, *extra]].reset_index(drop=True)
    kept[ROW] = np.flatnonzero(labelled)
    kept[data.target] = problem.encode(kept[data.target], data.target)
    types = feature_types(kept, features, text)
    for column in [*types["categorical"], *types["text"]]:
        kept[column] = kept[column].astype("string")
    meta = {
        "target": data.target,
        "features": types,
        "null_targets_dropped": len(frame) - len(kept),
        "excluded_columns": {c: r for c, r in suspects.items() if c not in features},
        "normalized": {
            "labels": data.normalize_labels,
            # folded here, so folded by the model too (text as well: it was folded alike)
            "categories": [*types["categorical"], *types["text"]]
            if data.normalize_categories
            else [],
        },
    }
    return kept, meta, identities[labelled]
