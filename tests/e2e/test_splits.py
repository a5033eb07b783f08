"""A table that grows from one day to the next: stable splits and a fair gate, for real."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasks.common.errors import ExitCode
from tests.conftest import git_tags, trainflow

pytestmark = pytest.mark.e2e
SPECIES = np.array(["adelie", "chinstrap", "gentoo"])
FEATURES = ["bill_length", "bill_depth", "flipper", "island"]
TABULAR = [
    "data.source=penguins.csv",
    "data.target=species",
    "train.epochs=8",
    "flow.train_retries=0",
    "evaluate.gate.min_accuracy=0.5",
    "evaluate.gate.min_macro_f1=0.3",
    "evaluate.gate.max_serving_difference=null",  # infra validation: test_serving.py
    "evaluate.gate.max_regression=1.0",  # this test is about which rows are compared
]


def penguins(rows: int = 420, seed: int = 0) -> pd.DataFrame:
    """A penguin-like table: three species told apart by their measurements and island."""
    rng = np.random.default_rng(seed)
    species = rng.integers(0, 3, rows)
    centre = np.array([[39.0, 18.3, 190.0], [48.8, 18.4, 196.0], [47.5, 15.0, 217.0]])
    sizes = centre[species] + rng.normal(0, [2.5, 1.0, 6.0], (rows, 3))
    islands = np.array([["torgersen", "biscoe"], ["dream", "dream"], ["biscoe", "biscoe"]])
    return pd.DataFrame(
        {
            "bill_length": sizes[:, 0].round(1),
            "bill_depth": sizes[:, 1].round(1),
            "flipper": sizes[:, 2].round(0),
            "island": islands[species, rng.integers(0, 2, rows)],
            "species": SPECIES[species],
        }
    )


def sets(*items: str) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def samples(workspace: Path, *names: str) -> set[tuple]:
    """The prepared rows of these splits, as a person would compare them: feature values."""
    frames = [pd.read_parquet(workspace / f"data/prepared/{name}.parquet") for name in names]
    rows = pd.concat(frames)[FEATURES].astype(str)
    return set(map(tuple, rows.values))


def accuracy_of(workspace: Path, env, version: str, split: str) -> float:
    """A registered version's accuracy on a prepared split, by `trainflow predict`."""
    found = trainflow(
        workspace, env, "predict", f"data/prepared/{split}.parquet", "--model", version
    )
    assert found.returncode == 0, found.stderr
    table = pd.read_csv(io.StringIO(found.stdout))
    return float((table["predicted"] == table["actual"]).mean())


def test_a_growing_table_keeps_its_splits_and_the_champion_meets_only_rows_it_never_saw(
    workspace, env
):
    whole = penguins()
    whole.iloc[:250].to_csv(workspace / "penguins.csv", index=False)  # day 1
    first = trainflow(workspace, env, "run", *sets(*TABULAR))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "by a hash of its feature values (seed 42; val 0.15, test 0.15)" in first.stdout
    day1_seen = samples(workspace, "train", "val")

    whole.sample(frac=1, random_state=1).to_csv(workspace / "penguins.csv", index=False)
    second = trainflow(workspace, env, "run")
    assert second.returncode == 0, second.stdout + second.stderr
    # The terminal's look for changes ingested; the flow it then started did not ingest again.
    assert second.stdout.count("Running stage 'ingest'") == 1, second.stdout
    day2_test = samples(workspace, "test")
    assert day2_test and not day2_test & day1_seen  # no test row of day 2 trained on day 1
    gate = json.loads((workspace / "reports/gate.json").read_text())
    tested = len(pd.read_parquet(workspace / "data/prepared/test.parquet"))
    assert gate["champion"] == "v0.1.0" and gate["blessed"]
    assert gate["comparison"] | {"reason": None} == {
        "rows": tested,
        "left_out": 0,
        "min_rows": 30,
        "reason": None,
        "champion": "v0.1.0",
    }
    metrics = json.loads((workspace / "reports/metrics.json").read_text())
    champion = accuracy_of(workspace, env, "v0.1.0", "test")
    assert metrics["champion"]["accuracy"] == pytest.approx(champion, abs=1e-9)

    # Each prediction names its row in the source file, as `trainflow predict` names it.
    predictions = pd.read_csv(workspace / "reports/predictions.csv")
    source = pd.read_csv(workspace / "penguins.csv")
    rows = predictions["id"].str.removeprefix("penguins.csv:").astype(int)
    assert (source["species"].iloc[rows].to_numpy() == predictions["actual"].to_numpy()).all()
    served = trainflow(workspace, env, "predict", "penguins.csv", "--model", "v0.2.0")
    assert served.returncode == 0, served.stderr
    by_id = pd.read_csv(io.StringIO(served.stdout)).set_index("id")
    assert (by_id.loc[predictions["id"], "predicted"].to_numpy() == predictions["predicted"]).all()

    # A new seed draws a fresh test set: the champion, split by seed 42, is compared only on
    # the test rows it never trained or validated on.
    day2_seen = samples(workspace, "train", "val")
    fresh = ("prepare.seed=7", "evaluate.min_comparison_rows=5")
    reseeded = trainflow(workspace, env, "run", "--no-register", *sets(*fresh))
    assert reseeded.returncode == 0, reseeded.stdout + reseeded.stderr
    gate = json.loads((workspace / "reports/gate.json").read_text())
    test = pd.read_parquet(workspace / "data/prepared/test.parquet")[FEATURES].astype(str)
    seen = sum(tuple(row) in day2_seen for row in test.values)
    assert gate["comparison"]["left_out"] == seen > 0
    assert gate["comparison"]["rows"] == len(test) - seen
    assert f"compared on {len(test) - seen} of {len(test)} test rows" in reseeded.stdout

    refused = trainflow(
        workspace, env, "run", "--no-register", *sets("evaluate.min_comparison_rows=1000")
    )
    out = refused.stdout + refused.stderr
    assert refused.returncode == ExitCode.MODEL_REFUSED, out
    assert f"can be compared on {len(test) - seen} of {len(test)} test rows" in out
    assert "--set evaluate.compare_champion=false" in out
    assert sorted(git_tags(workspace)) == [
        "model#staging#1",
        "model#staging#2",
        "model@v0.1.0",
        "model@v0.2.0",
    ]
