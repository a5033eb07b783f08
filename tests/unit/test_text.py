"""Categories folded by prepare are folded by the model too, so serving raw text agrees."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd

from tasks.common.params import MlpParams
from tasks.common.signature import build as signature
from tasks.data.columns import fold
from tasks.model.build import TableStats, mlp
from tasks.model.pipeline import model_outputs
from tasks.model.text import FoldText
from tests.prepared import probabilities

WRITTEN = ["Red ", "RED", "\tred\n", "Straße", "İstanbul", "ÄPFEL", "\xa0nbsp"]


def test_the_model_folds_text_exactly_as_prepare_does():
    folded = FoldText()(np.array(WRITTEN, dtype=object).reshape(-1, 1))
    assert [v.decode() for v in np.asarray(folded).ravel()] == fold(pd.Series(WRITTEN)).tolist()


def test_a_saved_model_reads_any_spelling_of_a_known_category(tmp_path):
    meta = {"kind": "table", "target": "y", "classes": ["no", "yes"]}
    meta["features"] = {"numeric": [], "categorical": ["color"]}
    meta["normalized"] = {"labels": False, "categories": ["color"]}
    stats = TableStats(mean=[], std=[], vocabularies={"color": ["blue", "red"]})
    model = mlp(stats, signature(meta), probabilities(2), MlpParams(units=[8]))
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    colors = np.array([["red"], ["Red "], ["RED"], ["blue"], ["purple"]], dtype=object)
    proba = model_outputs(loaded, {"f_color": colors})
    np.testing.assert_allclose(proba[1:3], proba[[0, 0]], rtol=1e-6)
    assert not np.allclose(proba[0], proba[3]) and not np.allclose(proba[0], proba[4])
