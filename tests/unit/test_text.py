"""Text inside the model: categories folded as prepare folds them, free text vectorised from
the training split, so a saved model takes raw strings."""

from __future__ import annotations

import json

import keras
import numpy as np
import pandas as pd
import pytest

from tasks.common.params import MlpParams, TextParams
from tasks.common.signature import build as signature
from tasks.data.columns import fold
from tasks.model.build import TableStats, mlp
from tasks.model.pipeline import model_outputs
from tasks.model.text import FoldText, fit_text
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


def text_meta() -> dict:
    meta = {"kind": "table", "target": "y", "classes": ["no", "yes"]}
    meta["features"] = {"numeric": ["stars"], "categorical": [], "text": ["review"]}
    return meta


@pytest.mark.parametrize("mode", ["tf_idf", "multi_hot", "embedding"])
def test_text_is_vectorised_inside_the_saved_model_from_the_training_words(tmp_path, mode):
    p = TextParams(output_mode=mode, max_tokens=50, sequence_length=8, embedding_dim=4)
    training = [np.array(["the cat sat", "a dog ran fast"], dtype=object), np.array(["cat cat"])]
    fitted = fit_text(iter(training), p)
    assert {"cat", "dog", "cat sat"} <= set(fitted["vocabulary"])
    assert ("idf_weights" in fitted) == (mode == "tf_idf")
    spec = signature(text_meta())
    assert [s.get("role") for s in spec["inputs"]] == [None, "text"]
    stats = TableStats(mean=[3.0], std=[1.0], vocabularies={}, texts={"review": fitted})
    model = mlp(stats, spec, probabilities(2), MlpParams(units=[8]), text_p=p)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    reviews = np.array([["The cat sat!"], [""], ["unseen words only"], ["a dog"]], dtype=object)
    inputs = {"f_stars": np.array([[4.0], [np.nan], [1.0], [2.0]]), "f_review": reviews}
    proba = model_outputs(loaded, inputs)
    assert np.isfinite(proba).all()  # an empty text is a vector too
    np.testing.assert_allclose(proba, model_outputs(model, inputs), rtol=1e-6)
    assert not np.allclose(proba[0], proba[3])


# Keras warns (to the user, in train's output) when the model is called with one tensor where
# it was built with named inputs: exporting the SavedModel of a one-column table did that.
@pytest.mark.filterwarnings("error:The structure of `inputs`:UserWarning")
def test_a_table_whose_only_feature_is_text_prepares_trains_and_predicts(tmp_path, monkeypatch):
    from flows.predict import predict, predict_batches
    from tasks import prepare, train
    from tasks.common.errors import DataValidationError
    from tasks.common.params import validate
    from tests.texts import reviews
    from tests.unit.test_validate import write_table

    monkeypatch.chdir(tmp_path)
    write_table(tmp_path, reviews(300)[["review", "sentiment"]])
    fast = {"epochs": 4, "tensorboard": False, "text": {"max_tokens": 500, "ngrams": 1}}
    params = validate({"data": {"target": "sentiment"}, "train": fast})
    meta = prepare.run(params)
    assert meta["features"] == {"numeric": [], "categorical": [], "text": ["review"]}
    reference = json.loads((tmp_path / "data/prepared/reference.json").read_text())
    assert reference["columns"]["review"]["measure"] == "words"
    train.run(params)
    test = pd.read_parquet(tmp_path / "data/prepared/test.parquet")
    test[["review"]].to_csv(tmp_path / "new.csv", index=False)
    served = predict(tmp_path / "models/model", tmp_path / "new.csv")
    assert (served["predicted"] == test["sentiment"]).mean() > 0.75
    chunks = list(predict_batches(tmp_path / "models/model", tmp_path / "new.csv", rows=7))
    assert len(chunks) == -(-len(test) // 7)  # read 7 rows at a time, ids running on
    whole = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(whole, served, check_exact=False, rtol=1e-5)
    (tmp_path / "empty.csv").write_text("review\n")
    with pytest.raises(DataValidationError, match="empty.csv: no rows to predict"):
        predict(tmp_path / "models/model", tmp_path / "empty.csv")
