"""Benchmark: the train stage's fit path vs. a bare `model.fit` on NumPy arrays; flat memory.

Throughput: the same model (the default CNN) and batch size train on the same digits-like
8x8 images, once through `tasks.train.fit` with the stage's callbacks (DVCLive, TensorBoard,
backup, epoch log) reading the prepared Parquet, once with `model.fit(x, y)` on in-memory
arrays and no callbacks. A run's examples/s is its fastest epoch after the first (tracing),
the least disturbed by other processes sharing the CPUs; runs are interleaved in rounds, and
a ratio is the median over rounds of stage / bare. The goal is >= 0.95 for the in-memory path;
the streamed path (splits over `train.cache_max_mb`) is shown too.

Memory: fresh processes train one epoch, streamed, on 1x and on 10x as many rows of 16x16 RGB
images; their peak resident memory (VmHWM) should grow by less than 20%. The same with the split
held in memory shows what streaming saves.

    python -m bench.train_throughput [--rows N] [--epochs N] [--rounds N] [--memory-rows N]
                                     [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.common import ROOT, peak_mib

CHILD = "from bench.train_throughput import child; child()"
SMALL_MODEL = {"filters": [8], "dense_units": 16}


def write_split(path: Path, rows: int, shape: tuple[int, int, int], seed: int) -> None:
    """Random pixels and labels in the prepared layout, written 10,000 rows at a time."""
    rng, size = np.random.default_rng(seed), int(np.prod(shape))
    schema = pa.schema([("path", pa.string()), ("label", pa.string()), ("pixels", pa.binary())])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, 10_000):
            count = min(10_000, rows - start)
            pixels = rng.integers(0, 256, (count, size), dtype=np.uint8)
            labels = rng.integers(0, 10, count).astype(str)
            writer.write_table(
                pa.table(
                    {
                        "path": [f"{i}.png" for i in range(start, start + count)],
                        "label": labels,
                        "pixels": [row.tobytes() for row in pixels],
                    },
                    schema=schema,
                )
            )


def prepared(folder: Path, rows: int, shape=(8, 8, 1), val_rows: int = 2000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_split(folder / "train.parquet", rows, shape, seed=0)
    write_split(folder / "val.parquet", val_rows, shape, seed=1)
    meta = {"kind": "image", "target": "label", "image_shape": list(shape)}
    meta |= {"classes": [str(d) for d in range(10)], "rows": {"train": rows, "val": val_rows}}
    (folder / "meta.json").write_text(json.dumps(meta))
    return folder


class EpochTimer(keras.callbacks.Callback):
    """Seconds of every epoch (training and validation)."""

    def on_train_begin(self, logs=None):
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.started)


def rate(rows: int, seconds: list[float]) -> float:
    """The fastest epoch after the first: the least disturbed by other processes."""
    return rows / min(seconds[1:])


def stage_fit(folder: Path, p, work: Path) -> float:
    """examples/s of `tasks.train.fit` with the callbacks `python -m tasks.train` uses."""
    from tasks.train import fit, monitors
    from tasks.train.devices import place

    timer = EpochTimer()
    callbacks = monitors(p, rows_of(folder), work / "reports", work / "backup") + [timer]
    fit(folder, p, place(p), callbacks)
    return rate(rows_of(folder), timer.seconds)


def bare_fit(folder: Path, p) -> float:
    """examples/s of the same model and batch size fitted on NumPy arrays."""
    from tasks.model.build import compile_model
    from tasks.model.reader import Split
    from tasks.problems import problem_of
    from tasks.train import build
    from tasks.train.devices import place

    meta = json.loads((folder / "meta.json").read_text())
    (x, y), (vx, vy) = (Split(folder / f"{n}.parquet", meta).read() for n in ("train", "val"))
    model = build(meta, None, p)
    problem = problem_of(meta)
    target = problem.fit_target(Split(folder / "train.parquet", meta), p)
    objective = problem.compile_args(p, target)
    steps = -(-len(x) // p.batch_size)
    compile_model(model, p, steps_per_epoch=steps, jit=place(p).jit_compile, objective=objective)
    timer = EpochTimer()
    model.fit(x, y, p.batch_size, p.epochs, validation_data=(vx, vy), callbacks=[timer], verbose=0)
    return rate(len(x), timer.seconds)


def rows_of(folder: Path) -> int:
    return pq.ParquetFile(folder / "train.parquet").metadata.num_rows


def throughput(root: Path, rows: int, epochs: int, rounds: int) -> dict:
    """Rounds of one run of each path, in rotating order; ratios are medians over rounds."""
    from tasks.common.params import TrainParams

    folder = prepared(root / "digits", rows)
    common = {"epochs": epochs, "early_stopping_patience": 0, "reduce_lr_patience": 0}
    cached, streamed = TrainParams(**common), TrainParams(**common, cache_max_mb=0)
    runs = {
        "bare": lambda r: bare_fit(folder, cached),
        "stage": lambda r: stage_fit(folder, cached, root / f"stage{r}"),
        "stage_streamed": lambda r: stage_fit(folder, streamed, root / f"streamed{r}"),
    }
    found: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(rounds):
        names = list(runs)[r % 3 :] + list(runs)[: r % 3]
        for name in names:
            found[name].append(runs[name](r))
    ratios = {
        name: float(np.median(np.divide(found[name], found["bare"])))
        for name in ("stage", "stage_streamed")
    }
    return {
        "rows": rows,
        "epochs": epochs,
        "rounds": rounds,
        "batch_size": cached.batch_size,
        "examples_per_second": {name: round(max(v), 1) for name, v in found.items()},
        "runs": {name: [round(v, 1) for v in values] for name, values in found.items()},
        "ratio": round(ratios["stage"], 3),
        "ratio_streamed": round(ratios["stage_streamed"], 3),
    }


def child() -> None:
    """One epoch of the stage's fit path on argv[1]; cache_max_mb argv[2]; prints examples/s."""
    from tasks.common.params import TrainParams
    from tasks.train import fit
    from tasks.train.devices import place

    folder, cache_max_mb = Path(sys.argv[1]), float(sys.argv[2])
    p = TrainParams(epochs=1, batch_size=256, cache_max_mb=cache_max_mb, cnn=SMALL_MODEL)
    timer = EpochTimer()
    fit(folder, p, place(p), [timer])
    rate = rows_of(folder) / timer.seconds[0]
    print(json.dumps({"examples_per_second": rate, "peak_mib": peak_mib()}))


def measure(folder: Path, cache_max_mb: float) -> dict:
    """Peak resident memory (MiB), wall seconds and examples/s of a fresh training process."""
    env = os.environ | {"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-c", CHILD, str(folder), str(cache_max_mb)]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"training child failed:\n{done.stderr[-3000:]}")
    found = json.loads(done.stdout.splitlines()[-1])
    return {
        "peak_mib": round(found["peak_mib"], 1),
        "seconds": round(time.perf_counter() - started, 1),
        "examples_per_second": round(found["examples_per_second"]),
    }


def memory(root: Path, rows: int) -> dict:
    shape = (16, 16, 3)
    sizes = {
        "1x": prepared(root / "1x", rows, shape),
        "10x": prepared(root / "10x", rows * 10, shape),
    }
    found = {
        mode: {size: measure(folder, cache) for size, folder in sizes.items()}
        for mode, cache in (("streamed", 0.0), ("in_memory", 1e6))
    }
    data_mib = {
        size: round(rows_of(f) * int(np.prod(shape)) / 2**20, 1) for size, f in sizes.items()
    }
    growth = {
        mode: round(runs["10x"]["peak_mib"] / runs["1x"]["peak_mib"] - 1, 3)
        for mode, runs in found.items()
    }
    return {
        "rows": {"1x": rows, "10x": rows * 10},
        "pixel_mib": data_mib,
        **found,
        "growth": growth,
    }


def report(result: dict) -> str:
    t, m = result["throughput"], result["memory"]
    ex = t["examples_per_second"]
    lines = [
        f"train_throughput: {t['rows']:,} rows of 8x8 digits, batch {t['batch_size']}, "
        f"{t['epochs']} epochs; best examples/s of {t['rounds']} interleaved runs each, "
        "ratios: median over runs",
        f"  bare model.fit on NumPy arrays    {ex['bare']:>9,.0f} examples/s",
        f"  train stage, split in memory      {ex['stage']:>9,.0f} examples/s  "
        f"ratio {t['ratio']:.3f} (goal >= 0.95)",
        f"  train stage, split streamed       {ex['stage_streamed']:>9,.0f} examples/s  "
        f"ratio {t['ratio_streamed']:.3f}",
        f"memory: one epoch of 16x16x3 images, {m['rows']['1x']:,} vs {m['rows']['10x']:,} rows "
        f"({m['pixel_mib']['1x']} vs {m['pixel_mib']['10x']} MiB of pixels)",
    ]
    for mode in ("streamed", "in_memory"):
        one, ten = m[mode]["1x"], m[mode]["10x"]
        lines.append(
            f"  {mode:<10} peak {one['peak_mib']:>7.0f} -> {ten['peak_mib']:>7.0f} MiB  "
            f"growth {m['growth'][mode]:+.1%}" + ("  (goal < 20%)" if mode == "streamed" else "")
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="training rows (throughput)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5, help="runs of each path, interleaved")
    parser.add_argument("--memory-rows", type=int, default=20_000, help="1x rows (memory)")
    parser.add_argument("--out", help="write the JSON result here instead of stdout")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="trainflow-bench-") as tmp:
        result = {
            "throughput": throughput(Path(tmp), args.rows, args.epochs, args.rounds),
            "memory": memory(Path(tmp), args.memory_rows),
        }
    print(report(result))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    else:
        print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
