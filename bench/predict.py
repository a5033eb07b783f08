"""Batch scoring at size: `trainflow predict`'s streaming path against a bare `model.predict`.

Tables. A model trained by dvc.yaml's stage commands on the regression benchmark's houses
table (examples/regression.yaml, 20,000 rows) scores a Parquet table of BENCH_PREDICT_ROWS
rows (200,000) and one of ten times as many, written as users' files are (pandas' defaults,
so row groups of up to a million rows). The baseline loads the same model, reads the whole
table, casts it as the model's signature says and times `model.predict` alone, on those
arrays already in memory as tensors, batched as the streaming path batches them
(`flows.predict.BATCH`).

Images (bench/predict_images.py). A photo model trained by the stage commands scores a
folder of BENCH_PREDICT_IMAGES generated 640x480 JPEG and PNG photos (1,000; the issue's
size is 50,000: `BENCH_PREDICT_IMAGES=50000`, about 5 GB of files and 4 GB of decoded pixels
for the baseline) and one of ten times as many (hard links to the 1x files). The baseline
times `model.predict` on the 1x photos decoded beforehand.

Each scoring is a process of its own with its peak RSS from the kernel (bench/scoring.py); the
streaming side runs what `trainflow predict --out scores.parquet` runs after fetching the
model, timed from its first read to the file in place, model load included.

Figures: peak memory scoring 10x the input / 1x (goal <= 1.2: flat), and bare rows/s /
streaming rows/s on the 1x input, reading and writing included: tables goal <= 1.11
(streaming at >= 0.9 of the bare predict, casting included), images goal <= 1.25 (>= 0.8,
decoding included).

    BENCH_PREDICT_ROWS=2000000 BENCH_PREDICT_IMAGES=50000 python -m bench predict
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from bench.common import env_int
from bench.predict_images import images_side
from bench.regression import houses, run_stages, workspace
from bench.scoring import compare

RATE_GOAL = round(1 / 0.9, 3)

BARE = """
import sys, time
import keras, pandas as pd, tasks.model.build
from flows.predict import BATCH
from tasks.common.io import read_json
from tasks.common.signature import signature_of
from tasks.model.inputs import table_inputs
meta = read_json("models/model/meta.json")
model = keras.saving.load_model("models/model/model.keras", safe_mode=True)
import tensorflow as tf
inputs = table_inputs(pd.read_parquet(sys.argv[1]), signature_of(meta))
tensors = {k: tf.constant(v.astype(str) if v.dtype == object else v) for k, v in inputs.items()}
data = tf.data.Dataset.from_tensor_slices(tensors).batch(BATCH["table"])
started = time.perf_counter()
outputs = model.predict(data, verbose=0)
print("SECONDS", time.perf_counter() - started, "ROWS", len(outputs))
"""


def tables_side(root: Path) -> list[dict]:
    """The table figures (see the module docstring)."""
    rows = env_int("BENCH_PREDICT_ROWS", 200_000)
    houses().to_parquet(root / "houses.parquet", index=False)
    overrides = [f"data.source={root / 'houses.parquet'}", "data.target=price"]
    repo = workspace(root / "repo", [*overrides, "train.epochs=5", "register.artifact=houses"])
    run_stages(repo, "houses")
    tables = {}
    for scale in (1, 10):
        tables[scale] = root / f"score-{scale}x.parquet"
        houses(rows * scale, seed=scale).drop(columns="price").to_parquet(tables[scale])
    return compare(repo, BARE, tables, "rows", RATE_GOAL)


def main() -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-predict-") as name:
        root = Path(name)
        figures = tables_side(root / "tables")
        figures += images_side(root / "images")
    return {"name": "predict", "figures": figures}


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
