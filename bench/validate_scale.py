"""Benchmark: the validate stage on a 1,000,000 x 20 table vs. pandas read + describe().

Both run as fresh processes on the same Parquet file, so each pays its own imports and its
peak memory (max RSS, from `os.wait4`) is its own. validate checks the suite that
`trainflow suite init` drafts from the same data (about 90 expectations), rows per class,
duplicates, and builds the Data Docs page, reading the table in batches of
`validate.batch_rows` rows.

    python -m bench.validate_scale [--rows N] [--batch-rows N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = 20
BASELINE = (
    "import sys, pandas as pd; frame = pd.read_parquet(sys.argv[1]); frame.describe(include='all')"
)
DRAFT = (
    "from tasks.common.params import load_params; from flows.suite import init_suite; "
    "init_suite(load_params())"
)


def table(rows: int, seed: int = 0) -> pd.DataFrame:
    """17 float columns, an int, a category and a label: 20 columns."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"x{i}": rng.normal(i, 1 + i / 10, rows) for i in range(COLUMNS - 3)})
    frame["count"] = rng.integers(0, 1000, rows)
    frame["color"] = rng.choice(["red", "green", "blue", "cyan"], rows)
    frame["label"] = rng.choice(["churn", "stay"], rows, p=[0.3, 0.7])
    return frame


def measure(args: list[str], cwd: Path) -> dict:
    """Wall seconds and peak resident memory (MiB) of one child process."""
    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    start = time.perf_counter()
    child = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    stderr = child.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{stderr}")
    return {"seconds": round(seconds, 2), "peak_mib": round(usage.ru_maxrss / 1024, 1)}


def workspace(root: Path, rows: int, batch_rows: int | None) -> Path:
    """A project folder with params.yaml and the table as the ingest stage lays it out."""
    (root / "data" / "raw" / "table").mkdir(parents=True)
    part = root / "data" / "raw" / "table" / "part-00000.parquet"
    table(rows).to_parquet(part, index=False)
    batches = f"  batch_rows: {batch_rows}\n" if batch_rows else ""
    (root / "params.yaml").write_text(
        f"data:\n  source: bench\n  target: label\nvalidate:\n  suite: bench\n{batches}"
    )
    return part


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-rows", type=int, help="validate.batch_rows (default: params)")
    args = parser.parse_args(argv)
    rows = args.rows
    with tempfile.TemporaryDirectory(prefix="trainflow-bench-") as tmp:
        root = Path(tmp)
        part = workspace(root, rows, args.batch_rows)
        measure([sys.executable, "-c", DRAFT], root)
        baseline = measure([sys.executable, "-c", BASELINE, str(part)], root)
        validate = measure([sys.executable, "-m", "tasks.validate"], root)
        gx_import = measure([sys.executable, "-c", "import great_expectations"], root)
    result = {
        "rows": rows,
        "columns": COLUMNS,
        "pandas_read_describe": baseline,
        "validate": validate,
        "great_expectations_import": gx_import,
        "time_ratio": round(validate["seconds"] / baseline["seconds"], 2),
        "memory_ratio": round(validate["peak_mib"] / baseline["peak_mib"], 2),
    }
    print(
        f"validate_scale: {rows:,} rows x {COLUMNS} columns\n"
        f"  pandas read_parquet + describe: {baseline['seconds']:.2f} s, "
        f"peak {baseline['peak_mib']:.0f} MiB\n"
        f"  python -m tasks.validate:       {validate['seconds']:.2f} s, "
        f"peak {validate['peak_mib']:.0f} MiB "
        f"(of which importing great_expectations: {gx_import['seconds']:.2f} s)\n"
        f"  ratio: {result['time_ratio']}x time, {result['memory_ratio']}x peak memory"
    )
    return result


if __name__ == "__main__":
    main()
