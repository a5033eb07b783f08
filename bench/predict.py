"""Batch scoring at size: `trainflow predict`'s streaming path against a bare `model.predict`.

A model trained by dvc.yaml's stage commands on the regression benchmark's houses table
(examples/regression.yaml, 20,000 rows) scores a Parquet table of BENCH_PREDICT_ROWS rows
(200,000) and one of ten times as many, written as users' files are (pandas' defaults, so
row groups of up to a million rows). Each scoring is a process of its own with its peak RSS
from the kernel; it runs what `trainflow predict --out scores.parquet` runs after fetching the
model (`flows.predict.predict_batches` into `PredictionsFile`), timed from its first read to the
file in place. The baseline loads the same model, reads the whole table, casts it as the
model's signature says and times `model.predict` alone, on those arrays already in memory as
tensors, batched as the streaming path batches them (`flows.predict.BATCH`).

Figures: peak memory scoring 10x the rows / 1x (goal <= 1.2: flat), and bare rows/s /
streaming rows/s on the 1x table (goal <= 1.11, i.e. streaming at >= 0.9 of the bare predict,
reading, casting and writing included).
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from bench.common import env_int, figure, measure, repeats
from bench.regression import houses, run_stages, workspace

MEMORY_GOAL = 1.2
RATE_GOAL = round(1 / 0.9, 3)

STREAMING = """
import sys, time
from pathlib import Path
import keras, tasks.model.build
from flows.predict import PredictionsFile, predict_batches
started = time.perf_counter()
written = PredictionsFile(Path(sys.argv[2]))
for table in predict_batches(Path("models/model"), Path(sys.argv[1])):
    written.write(table)
written.close()
print("SECONDS", time.perf_counter() - started, "ROWS", written.rows)
"""

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


def timed(output: str) -> tuple[float, int]:
    found = re.search(r"SECONDS (\S+) ROWS (\d+)", output)
    return float(found.group(1)), int(found.group(2))


def score(repo: Path, script: str, table: Path) -> tuple[float, float]:
    """(rows/s, peak MiB) of one scoring process."""
    from bench.common import base_env

    done = measure(["python", "-c", script, str(table), "scores.parquet"], repo, base_env())
    seconds, rows = timed(done.output)
    return rows / seconds, done.peak_mb


def main() -> dict:
    rows = env_int("BENCH_PREDICT_ROWS", 200_000)
    with tempfile.TemporaryDirectory(prefix="bench-predict-") as name:
        root = Path(name)
        houses().to_parquet(root / "houses.parquet", index=False)
        overrides = [f"data.source={root / 'houses.parquet'}", "data.target=price"]
        repo = workspace(root / "repo", [*overrides, "train.epochs=5", "register.artifact=houses"])
        run_stages(repo, "houses")
        tables = {}
        for scale in (1, 10):
            tables[scale] = root / f"score-{scale}x.parquet"
            houses(rows * scale, seed=scale).drop(columns="price").to_parquet(tables[scale])
        memory, rates, detail = [], [], {"rows": rows, "streaming": [], "bare": [], "peak": []}
        for turn in range(repeats()):
            ours, small = score(repo, STREAMING, tables[1])
            bare, _ = score(repo, BARE, tables[1])
            _, large = score(repo, STREAMING, tables[10])
            print(f"predict: round {turn + 1}: {ours:,.0f} rows/s, bare {bare:,.0f}", flush=True)
            memory.append(large / small)
            rates.append(bare / ours)
            detail["streaming"].append(round(ours))
            detail["bare"].append(round(bare))
            detail["peak"].append([round(small), round(large)])
    return {
        "name": "predict",
        "figures": [
            figure("peak memory, predict 10x rows / 1x", memory, MEMORY_GOAL, detail),
            figure("bare predict / streaming predict rows/s", rates, RATE_GOAL, detail),
        ],
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
