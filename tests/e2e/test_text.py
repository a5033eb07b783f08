"""Text as input for real: reviews beside other columns, and a table whose only feature is text."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from tests.conftest import FAST, ROOT, git_tags, trainflow
from tests.texts import review_folder, reviews

pytestmark = pytest.mark.e2e
QUICK = ["train.epochs=5", "flow.train_retries=0", "data.target=sentiment"]
GATE = ["evaluate.gate.min_accuracy=0.7", "evaluate.gate.min_macro_f1=0.7"]


def sets(*items: str) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def predicted(workspace, env, source: str, version: str) -> pd.DataFrame:
    found = trainflow(workspace, env, "predict", source, "--model", version)
    assert found.returncode == 0, found.stderr
    return pd.read_csv(io.StringIO(found.stdout))


def test_reviews_beside_other_columns_train_and_serve_raw_strings(workspace, env):
    reviews(500).to_csv(workspace / "reviews.csv", index=False)
    done = trainflow(workspace, env, "run", *sets("data.source=reviews.csv", *QUICK, *GATE))
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "validate: 'review': text, " in out and "vectorised inside the model" in out
    assert "column 'order_id' left out of the features: looks like an identifier" in out
    report = json.loads((workspace / "reports/validation.json").read_text())
    assert report["features"] == ["review", "channel", "stars"]
    words = report["text_columns"]["review"]["words"]
    assert words["min"] >= 6 and words["max"] <= 21  # 6 to 20 words, and a smiley
    meta = json.loads((workspace / "models/model/meta.json").read_text())
    roles = {s["column"]: s.get("role") for s in meta["signature"]["inputs"]}
    assert roles == {"stars": None, "channel": None, "review": "text"}
    assert json.loads((workspace / "reports/metrics.json").read_text())["accuracy"] > 0.8

    # New reviews as a user writes them, in a CSV of raw strings: evaluate's own predictions.
    evaluated = pd.read_csv(workspace / "reports/predictions.csv")
    test = pd.read_parquet(workspace / "data/prepared/test.parquet")
    test[["review", "channel", "stars"]].to_csv(workspace / "new.csv", index=False)
    served = predicted(workspace, env, "new.csv", "v0.1.0")
    assert served["id"].tolist() == [f"new.csv:{i}" for i in range(len(test))]
    assert served["predicted"].tolist() == evaluated["predicted"].tolist()
    proba = ["p_negative", "p_positive"]
    np.testing.assert_allclose(served[proba], evaluated[proba], rtol=1e-4, atol=1e-6)


def test_a_folder_of_text_files_per_class_trains_registers_and_predicts_per_file(workspace, env):
    shutil.copyfile(ROOT / "examples/text-folder.yaml", workspace / "params.yaml")
    review_folder(workspace / "reviews", 300)
    tiny = ["data.source=reviews", "train.text.max_tokens=500", "train.text.ngrams=1"]
    done = trainflow(workspace, env, "run", *sets(*FAST, *tiny))
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "ingest: reviews: 300 files: 300 utf-8" in out
    assert "text-folder-classifier@v0.1.0" in git_tags(workspace)
    evaluated = pd.read_csv(workspace / "reports/predictions.csv")
    assert all((workspace / "reviews" / name).is_file() for name in evaluated["id"])

    new = review_folder(workspace / "new", 12, seed=1)
    (new / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    served = predicted(workspace, env, "new", "v0.1.0")
    files = sorted(p.relative_to(new).as_posix() for p in new.rglob("*.txt"))
    assert sorted(served["id"]) == files and len(files) == 12
    assert set(served["predicted"]) <= {"negative", "positive"}
