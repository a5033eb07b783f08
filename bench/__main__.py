"""`python -m bench` (`make bench`): run every benchmark, print a table, write bench/results.json.

    python -m bench [NAME ...] [--repeats N] [--scale-rows N] [--out PATH]

A benchmark is any module of this package with a top-level `main()`; each runs in a process of
its own, so one's imports and peak memory never colour another's figures. What `main()`
returns (a dict) is collected; failing that, the last JSON object it printed, or JSON files it
wrote under bench/. The scale benchmark takes minutes per million rows, so it runs only when
asked for: by name, with --scale-rows, or with BENCH_SCALE_ROWS set.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.table import markdown

HERE = Path(__file__).resolve().parent
OPT_IN = {"scale": "BENCH_SCALE_ROWS"}
LAST = ("scale",)


def discover() -> list[str]:
    """Modules of bench/ that define `main()` at top level (helpers define none)."""
    found = []
    for path in sorted(HERE.glob("*.py")):
        if path.stem.startswith("_"):
            continue
        tree = ast.parse(path.read_text())
        if any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body):
            found.append(path.stem)
    return sorted(found, key=lambda name: (name in LAST, name))


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--repeats", type=int, help="repeats per figure (BENCH_REPEATS, 3)")
    parser.add_argument("--scale-rows", type=int, help="rows of the scale benchmark (5000000)")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def child(name: str, out: Path) -> None:
    """In the benchmark's own process: call its main() and keep a dict it returns."""
    import importlib

    sys.argv = [f"bench.{name}"]
    result = importlib.import_module(f"bench.{name}").main()
    if isinstance(result, dict):
        out.write_text(json.dumps(result, default=str))


def printed_json(output: str) -> dict | None:
    """The last JSON object in a benchmark's output (pretty-printed or on one line)."""
    lines = output.splitlines()
    for start in reversed(range(len(lines))):
        if lines[start].lstrip().startswith("{"):
            try:
                found = json.loads("\n".join(lines[start:]))
            except json.JSONDecodeError:
                continue
            if isinstance(found, dict):
                return found
    return None


def json_files() -> dict[Path, float]:
    return {path: path.stat().st_mtime for path in HERE.rglob("*.json")}


def run_one(name: str, env: dict[str, str]) -> dict:
    """Run one benchmark in a child process, echoing its output; return what it reported."""
    before = json_files()
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [sys.executable, "-m", "bench", "--child", name, "--out", out.name]
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        lines = []
        for line in process.stdout:
            print(line, end="", flush=True)
            lines.append(line)
        process.wait()
        returned = Path(out.name).read_text()
    output, seconds = "".join(lines), round(time.perf_counter() - started, 1)
    if process.returncode:
        return {"error": f"exit code {process.returncode}", "tail": output[-2000:]}
    written = {
        str(path.relative_to(HERE)): json.loads(path.read_text())
        for path, mtime in json_files().items()
        if before.get(path) != mtime
    }
    result = json.loads(returned) if returned else printed_json(output) or {}
    return result | ({"files": written} if written else {}) | {"seconds": seconds}


def machine() -> dict:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(memory / 2**30, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def selected(args: argparse.Namespace, known: list[str]) -> list[str]:
    if args.names:
        return args.names
    return [n for n in known if n not in OPT_IN or args.scale_rows or os.environ.get(OPT_IN[n])]


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    if args.child:
        child(args.child, args.out)
        return 0
    env = dict(os.environ)
    if args.repeats:
        env["BENCH_REPEATS"] = str(args.repeats)
    if args.scale_rows:
        env["BENCH_SCALE_ROWS"] = str(args.scale_rows)
    known = discover()
    names = selected(args, known)
    results = {"machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    results["skipped"] = [n for n in known if n not in names]
    results["benchmarks"] = {}
    for name in names:
        print(f"== bench {name}", flush=True)
        found = run_one(name, env) if name in known else {"error": "no such benchmark module"}
        results["benchmarks"][name] = found
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\n{markdown(results)}\nwrote {args.out}")
    return int(any("error" in found for found in results["benchmarks"].values()))


if __name__ == "__main__":
    sys.exit(main())
