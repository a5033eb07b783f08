"""What both sides of the predict benchmark share: a timed scoring process and its figures.

Each scoring is a process of its own whose peak RSS comes from the kernel (`bench.common.
measure`). The streaming side runs what `trainflow predict --out scores.parquet` runs after
fetching the model (`flows.predict.predict_batches` into `PredictionsFile`), timed from its
first read to the file in place, model load included. A bare side is a script of the same
shape that prints `SECONDS <s> ROWS <n>` for a bare `model.predict`.
"""

from __future__ import annotations

import re
from pathlib import Path

from bench.common import base_env, figure, measure, repeats, rotated

MEMORY_GOAL = 1.2

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


def timed(output: str) -> tuple[float, int]:
    found = re.search(r"SECONDS (\S+) ROWS (\d+)", output)
    return float(found.group(1)), int(found.group(2))


def score(repo: Path, script: str, source: Path) -> tuple[float, float]:
    """(rows/s, peak MiB) of one scoring process of `source` in workspace `repo`."""
    done = measure(["python", "-c", script, str(source), "scores.parquet"], repo, base_env())
    seconds, rows = timed(done.output)
    return rows / seconds, done.peak_mb


def compare(repo: Path, bare: str, inputs: dict[int, Path], unit: str, goal: float) -> list:
    """Figures of streaming against `bare` on `inputs[1]`, and of memory on `inputs[10]`.

    Each repeat scores the 1x input streaming and bare and the 10x input streaming, in an
    order that rotates, so drift in the machine's load favours no side.
    """
    runs: dict[str, list[tuple[float, float]]] = {"streaming": [], "bare": [], "10x": []}
    scripts = {"streaming": (STREAMING, 1), "bare": (bare, 1), "10x": (STREAMING, 10)}
    for turn in range(repeats()):
        for name in rotated(list(runs), turn):
            script, scale = scripts[name]
            runs[name].append(score(repo, script, inputs[scale]))
        ours, theirs = runs["streaming"][-1][0], runs["bare"][-1][0]
        print(f"predict: {unit}: round {turn + 1}: {ours:,.0f}/s, bare {theirs:,.0f}/s", flush=True)
    rates = [rate for rate, _ in runs["streaming"]]
    bare_rates = [rate for rate, _ in runs["bare"]]
    small, large = [peak for _, peak in runs["streaming"]], [peak for _, peak in runs["10x"]]
    memory = {"peak_mib_1x": [round(v) for v in small], "peak_mib_10x": [round(v) for v in large]}
    speed = {"streaming": [round(v, 1) for v in rates], "bare": [round(v, 1) for v in bare_rates]}
    return [
        figure(
            f"peak memory, predict 10x {unit} / 1x",
            [b / a for a, b in zip(small, large, strict=True)],
            MEMORY_GOAL,
            memory,
        ),
        figure(
            f"bare predict / streaming predict {unit}/s",
            [b / a for a, b in zip(rates, bare_rates, strict=True)],
            goal,
            speed,
        ),
    ]
