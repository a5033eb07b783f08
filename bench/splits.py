"""Splits: the prepare stage with stable hashed splits against the one before them.

Stable splits (a seeded hash of each sample's identity, `tasks.common.splits`) replaced a
seeded stratified `train_test_split` of today's rows. This benchmark runs both prepare stages
on the same raw table of N rows (BENCH_SPLITS_ROWS, 1,000,000 by default; the table of
`bench.scale`), each as its own process, in alternating order: the current code, and the code
of the last commit before stable splits (`BEFORE`, from this repository's history). Goals:
time at most 1.10x the earlier stage's, and peak memory within 1.10x too.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from bench.common import (
    ROOT,
    base_env,
    env_int,
    figure,
    fresh_workspace,
    measure,
    repeats,
    rotated,
    say,
)
from bench.scale import params, write_source
from tasks.common.params import write_overrides

BEFORE = "11cb6f80f8c01ba8468d36a51df5d99546c25040"  # the last commit with random splits
DEFAULT_ROWS = 1_000_000
GOAL = 1.10
PREPARE = "python -m tasks.prepare"


def earlier_workspace(target: Path, overrides: list[str]) -> Path:
    """The project as it was at BEFORE, with the same params overrides."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", BEFORE], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    write_overrides(target / "params.yaml", overrides)
    return target


def main() -> dict:
    rows = env_int("BENCH_SPLITS_ROWS", DEFAULT_ROWS)
    with tempfile.TemporaryDirectory(prefix="bench-splits-") as name:
        tmp = Path(name)
        write_source(tmp / "source", rows)
        overrides = params(tmp / "source")
        now = fresh_workspace(tmp / "now", overrides)
        env = base_env()
        measure("python -m tasks.ingest", now, env)
        before = earlier_workspace(tmp / "before", overrides)
        shutil.copytree(now / "data/raw", before / "data/raw")
        runs: dict[str, list] = {"now": [], "before": []}
        for turn in range(repeats()):
            for which in rotated(["now", "before"], turn):
                done = measure(PREPARE, now if which == "now" else before, env)
                say("splits", f"prepare ({which}, peak {done.peak_mb:.0f} MB)", done.seconds)
                runs[which].append(done)
    pairs = list(zip(runs["now"], runs["before"], strict=True))
    seconds = {k: [round(d.seconds, 2) for d in v] for k, v in runs.items()}
    peaks = {k: [round(d.peak_mb) for d in v] for k, v in runs.items()}
    return {
        "name": "splits",
        "figures": [
            figure(
                f"prepare with stable splits / before, {rows:,} rows",
                [a.seconds / b.seconds for a, b in pairs],
                GOAL,
                {"seconds": seconds["now"], "before_seconds": seconds["before"]},
            ),
            figure(
                f"peak memory of prepare with stable splits / before, {rows:,} rows",
                [a.peak_mb / b.peak_mb for a, b in pairs],
                GOAL,
                {"peak_mb": peaks["now"], "before_peak_mb": peaks["before"]},
            ),
        ],
        "rows": rows,
        "before": BEFORE,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
