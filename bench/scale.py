"""Scale: an N-row, 20-column table through ingest, validate, prepare and one training epoch.

The benchmark writes the table as Parquet part files (N from BENCH_SCALE_ROWS, 5,000,000 by
default), points `data.source` at them in a fresh workspace, and runs each stage's command
from dvc.yaml as its own process, as DVC would. The kernel's peak resident memory of each stage
process is compared with the size of the data on disk. Goal: no stage above 3x. The peak of a
process that only imports the stage's module is shown next to it: the fixed cost of Python,
pandas and TensorFlow, which dominates the ratio for small N. The train stage decides itself
whether to hold the training split in memory (`held`); the same epoch streamed
(`train.cache_max_mb=0`) is measured too.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.common import (
    base_env,
    env_int,
    figure,
    fresh_workspace,
    measure,
    say,
    stage_commands,
)
from tasks.common.params import write_overrides

DEFAULT_ROWS = 5_000_000
PART_ROWS = 500_000
NUMERIC = 17  # + an integer count, a text category and the label: 20 columns
GOAL = 3.0
LAST_STAGE = "train"
SEGMENTS = np.array([f"segment-{i}" for i in range(8)])
CLASSES = np.array(["low", "mid", "high"])


def part(rows: int, rng: np.random.Generator) -> pa.Table:
    """A learnable table: the label depends on two numbers and the category, plus noise."""
    numbers = rng.normal(size=(rows, NUMERIC))
    segment = rng.integers(0, len(SEGMENTS), size=rows)
    score = numbers[:, 0] + 0.5 * numbers[:, 1] + 0.2 * segment + rng.normal(scale=0.5, size=rows)
    columns = {f"x{i:02d}": numbers[:, i] for i in range(NUMERIC)}
    columns |= {
        "visits": rng.poisson(3, size=rows),
        "segment": SEGMENTS[segment],
        "target": CLASSES[np.digitize(score, [0.2, 1.2])],
    }
    return pa.table(columns)


def write_source(folder: Path, rows: int, seed: int = 0) -> int:
    """Write `rows` rows as part files of at most PART_ROWS; return their bytes on disk."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for index, start in enumerate(range(0, rows, PART_ROWS)):
        pq.write_table(
            part(min(PART_ROWS, rows - start), rng), folder / f"part-{index:04d}.parquet"
        )
    return sum(path.stat().st_size for path in folder.iterdir())


def params(source: Path) -> list[str]:
    """One epoch in large batches: the memory of a training pass, in minutes not hours."""
    return [
        f"data.source={source}",
        "data.target=target",
        "train.epochs=1",
        "train.batch_size=1024",
        "flow.train_retries=0",
        "train.tensorboard=false",
    ]


def imports_only(command: str, repo: Path, env: dict[str, str]) -> float:
    """Peak RSS of a process that only imports the stage's module: the part no data causes."""
    module = re.search(r"-m\s+(\S+)", command)
    return measure(f"python -c 'import {module[1]}'", repo, env).peak_mb if module else 0.0


def main() -> dict:
    rows = env_int("BENCH_SCALE_ROWS", DEFAULT_ROWS)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as name:
        tmp = Path(name)
        size = write_source(tmp / "source", rows)
        repo = fresh_workspace(tmp / "repo", params(tmp / "source"))
        env, stages = base_env(), {}
        for stage, command in stage_commands(repo):
            done = measure(command, repo, env)
            stages[stage] = {
                "seconds": round(done.seconds, 1),
                "peak_mb": round(done.peak_mb),
                "import_mb": round(imports_only(command, repo, env)),
            }
            if stage == LAST_STAGE:  # the stage's own decision, from its output
                stages[stage]["held"] = "train in memory" in done.output
            say("scale", f"{stage} (peak {stages[stage]['peak_mb']} MB)", done.seconds)
            if stage == LAST_STAGE:
                break
        # The same epoch with the training split streamed from disk instead of held in memory.
        write_overrides(repo / "params.yaml", ["train.cache_max_mb=0"])
        streamed = measure(command, repo, env)
        say("scale", f"{stage}, streamed (peak {streamed.peak_mb:.0f} MB)", streamed.seconds)
        stages[f"{stage}, streamed (train.cache_max_mb=0)"] = {
            "seconds": round(streamed.seconds, 1),
            "peak_mb": round(streamed.peak_mb),
        }
    data_mb = size / 2**20
    figures = [
        figure(f"peak RSS / data on disk: {stage}", [got["peak_mb"] / data_mb], GOAL, got)
        for stage, got in stages.items()
    ]
    return {
        "name": "scale",
        "figures": figures,
        "rows": rows,
        "columns": NUMERIC + 3,
        "data_mb": round(data_mb, 1),
        "notes": "each stage's command from dvc.yaml as its own process; peak RSS via wait4;"
        " import_mb: the same module imported and nothing else",
    }


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
