"""Benchmark: the validate stage against a pandas read + describe() of the same table.

A 20-column table (17 floats, an int, a category, a label) is written as the ingest stage lays
it out (part files of 1,000,000 rows in row groups), at 1M, 5M and 10M rows. At each size, in
fresh processes on the same files (order rotating each repeat): `python -m tasks.validate`
with the suite `trainflow suite init` drafts from the 1M table (about 90 expectations), and
`pandas.read_parquet(...).describe(include="all")`. Each process's peak memory is its own.

Printed per size: both times and peaks, the ratio, seconds per million rows, and where
validate's time goes (the stage's own phase profile, plus process start and imports before
it). Figures: the ratio at 1M rows (goal <= 2), the marginal ratio (seconds each extra million
rows costs validate vs pandas; goal <= 1.5), the flatness of validate's seconds per extra million
rows from 1-5M to 5-10M (goal <= 1.2), peak memory vs pandas at 1M (goal <= 1), and the
fixed cost: validate on a 1,000-row table of the same shape with the suite drafted from it,
less a fresh process's `import great_expectations` (goal <= 0.5 s; both times are printed).

    python -m bench.validate_scale [--rows 1000000,5000000,10000000]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import base_env, figure, measure, repeats, rotated, say

COLUMNS = 20
PART_ROWS = 1_000_000
SIZES = (1_000_000, 5_000_000, 10_000_000)
BASELINE = "import sys, pandas as pd; pd.read_parquet(sys.argv[1]).describe(include='all')"
DRAFT = (
    "from tasks.common.params import load_params; from flows.suite import init_suite; "
    "init_suite(load_params())"
)
IMPORT_GE = "import great_expectations"
FIXED_ROWS = 1_000
PHASES = re.compile(r"^validate: ([\d.]+) s \((.*)\)$", re.M)


def table(rows: int, seed: int) -> pd.DataFrame:
    """17 float columns (normal, cut at 4 sigma so every size fits the suite drafted from
    the first million rows), an int, a category and a label: 20 columns."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {f"x{i}": i + np.clip(rng.normal(0, 1, rows), -4, 4) * (1 + i / 10) for i in range(17)}
    )
    frame["count"] = rng.integers(0, 1000, rows)
    frame["color"] = rng.choice(["red", "green", "blue", "cyan"], rows)
    frame["label"] = rng.choice(["churn", "stay"], rows, p=[0.3, 0.7])
    return frame


def workspace(root: Path, rows: int) -> Path:
    """params.yaml and `rows` rows as ingest writes them (tasks.data.tables.write_part)."""
    from tasks.data.tables import write_part

    folder = root / "data" / "raw" / "table"
    folder.mkdir(parents=True)
    for index, start in enumerate(range(0, rows, PART_ROWS)):
        part = table(min(PART_ROWS, rows - start), seed=index)
        write_part(part, folder / f"part-{index:05d}.parquet")
    (root / "params.yaml").write_text(
        "data:\n  source: bench\n  target: label\nvalidate:\n  suite: bench\n"
    )
    return folder


def profile(output: str, seconds: float) -> dict[str, float]:
    """The stage's phase profile from its last line, plus what came before `run()`."""
    found = PHASES.findall(output)
    if not found:
        return {}
    total, phases = found[-1]
    profile = {"start and imports": round(seconds - float(total), 2)}
    for item in phases.split(", "):
        name, value = item.rsplit(" ", 1)
        profile[name] = float(value)
    return profile


VALIDATE = [sys.executable, "-m", "tasks.validate"]


def rounds(commands: dict[str, list[str]], root: Path, env: dict, rows: int) -> dict[str, list]:
    """Each command's fresh-process runs over the repeats, in rotating order."""
    runs: dict[str, list] = {name: [] for name in commands}
    for turn in range(repeats()):
        for name in rotated(list(commands), turn):
            runs[name].append(measure(commands[name], root, env))
            say("validate_scale", f"{rows:,} rows, {name}", runs[name][-1].seconds)
    return runs


def measure_size(root: Path, rows: int, suite: Path, env: dict) -> dict:
    """Repeated fresh-process timings of validate and the pandas baseline at one size."""
    folder = workspace(root, rows)
    (root / "gx").symlink_to(suite, target_is_directory=True)
    commands = {"validate": VALIDATE, "pandas": [sys.executable, "-c", BASELINE, str(folder)]}
    runs = rounds(commands, root, env, rows)
    median = {name: statistics.median(r.seconds for r in done) for name, done in runs.items()}
    phases = [profile(r.output, r.seconds) for r in runs["validate"]]
    return {
        "rows": rows,
        "seconds": {k: round(v, 2) for k, v in median.items()},
        "ratios": [v.seconds / p.seconds for v, p in zip(*runs.values(), strict=True)],
        "peak_mb": {k: round(max(r.peak_mb for r in done)) for k, done in runs.items()},
        "per_million_rows": round(median["validate"] / (rows / 1e6), 2),
        "profile": {k: round(statistics.median(p[k] for p in phases), 2) for k in phases[0]},
    }


def fixed_cost(root: Path, env: dict) -> dict:
    """Validate on FIXED_ROWS rows (the suite drafted from them: one drafted from a million
    rows expects a million) against a bare `import great_expectations`, each a fresh process,
    in rotating order: what validation costs beyond GE's import whatever the size."""
    workspace(root, FIXED_ROWS)
    measure([sys.executable, "-c", DRAFT], root, env)
    commands = {"validate": VALIDATE, IMPORT_GE: [sys.executable, "-c", IMPORT_GE]}
    runs = rounds(commands, root, env, FIXED_ROWS)
    return {name: [round(r.seconds, 2) for r in done] for name, done in runs.items()}


def marginal(sizes: list[dict], name: str) -> list[float]:
    """Seconds each extra million rows cost between consecutive sizes."""
    return [
        (b["seconds"][name] - a["seconds"][name]) / ((b["rows"] - a["rows"]) / 1e6)
        for a, b in zip(sizes, sizes[1:], strict=False)
    ]


def report(sizes: list[dict]) -> None:
    for size in sizes:
        s, m = size["seconds"], size["peak_mb"]
        print(
            f"validate_scale: {size['rows']:,} rows: validate {s['validate']:.2f} s "
            f"(peak {m['validate']} MiB), pandas read + describe {s['pandas']:.2f} s "
            f"(peak {m['pandas']} MiB), ratio {statistics.median(size['ratios']):.2f}, "
            f"{size['per_million_rows']:.2f} s per million rows\n"
            f"  where validate's time goes: {size['profile']}"
        )


def figures(sizes: list[dict], fixed: dict) -> list[dict]:
    first = sizes[0]
    found = [
        figure(
            f"validate on {FIXED_ROWS:,} rows - {IMPORT_GE}, seconds (fixed cost)",
            [a - b for a, b in zip(fixed["validate"], fixed[IMPORT_GE], strict=True)],
            0.5,
            {name: statistics.median(seconds) for name, seconds in fixed.items()},
        ),
        figure(
            f"validate / pandas read + describe, {first['rows']:,} rows",
            first["ratios"],
            2.0,
            {"seconds": first["seconds"]["validate"], "baseline": first["seconds"]["pandas"]},
        ),
        figure(
            f"peak memory validate / pandas, {first['rows']:,} rows",
            [first["peak_mb"]["validate"] / first["peak_mb"]["pandas"]],
            1.0,
            first["peak_mb"],
        ),
    ]
    if len(sizes) < 2:
        return found
    ours, theirs = marginal(sizes, "validate"), marginal(sizes, "pandas")
    found.append(
        figure(
            "validate / pandas, seconds per extra million rows",
            [a / b for a, b in zip(ours, theirs, strict=True)],
            1.5,
            {"validate": [round(x, 2) for x in ours], "pandas": [round(x, 2) for x in theirs]},
        )
    )
    if len(ours) > 1:
        found.append(
            figure(
                "validate seconds per extra million rows, last sizes / first sizes",
                [ours[-1] / ours[0]],
                1.2,
                {"per_million": [round(x, 2) for x in ours]},
            )
        )
    return found


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=",".join(map(str, SIZES)), help="comma-separated")
    args = parser.parse_args(argv)
    rows = sorted(int(n.replace("_", "")) for n in args.rows.split(","))
    env = base_env(PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    sizes = []
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        draft = Path(tmp) / "draft"
        workspace(draft, rows[0])
        measure([sys.executable, "-c", DRAFT], draft, env)
        fixed = fixed_cost(Path(tmp) / "fixed", env)
        for n in rows:
            sizes.append(measure_size(Path(tmp) / f"rows-{n}", n, draft / "gx", env))
    report(sizes)
    return {
        "name": "validate_scale",
        "figures": figures(sizes, fixed),
        "fixed_cost": fixed,
        "sizes": sizes,
        "columns": COLUMNS,
        "notes": "fresh processes; medians over repeats; profile = the stage's phases",
    }


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2, default=str))
