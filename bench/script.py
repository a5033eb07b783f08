"""A whole run against the Keras script a user would write instead.

Two datasets, written here (no downloads), each trained the same way on both sides: the same
model, epochs and batch size, no early stopping.

- photos: 1,200 photo-like 640x480 JPEGs of two classes, a CNN [32, 64] at 96x96, 10 epochs.
  The script: `keras.utils.image_dataset_from_directory` (70/30 split), Rescaling, the CNN,
  `fit`, `evaluate`. trainflow: `trainflow run --force --no-register` (every stage), and
  after a `train:` params change (train and evaluate rerun).
- table: 300,000 rows of 20 numbers and one category in a CSV, an MLP [64, 32], 5 epochs.
  The script: pandas, `train_test_split`, Normalization and StringLookup inside the model,
  `fit`, `evaluate`. trainflow: a first run of a fresh workspace, and `--force`.

Both against a Prefect server already running. Figures: wall time and peak memory (of the
process tree), trainflow / script, medians over the repeats. Goals: photos all stages <= 1.25,
after a params change <= 1.15; the table's first run <= 1.10; peak memory <= 1.2. The profile
says where the rest goes: each stage's task in the flow against its bare command, the flow's
start-up, time outside its tasks and shut-down, and each stage module's import time.

    BENCH_SCRIPT_PHOTOS=1200 BENCH_SCRIPT_ROWS=300000 python -m bench script
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import (
    BIN,
    base_env,
    env_int,
    figure,
    fresh_workspace,
    measure,
    prefect_server,
    repeats,
    run_phases,
    say,
    stage_commands,
)
from tasks.common.params import write_overrides

GOALS = {"photos, all stages": 1.25, "photos, params change": 1.15, "table, first run": 1.10}
MEMORY_GOAL = 1.2
GATE = ["evaluate.gate.min_accuracy=0.0", "evaluate.gate.min_macro_f1=0.0", "flow.train_retries=0"]
PLAIN = ["train.early_stopping_patience=0", "train.reduce_lr_patience=0", *GATE]
PHOTO_PARAMS = [
    "data.image_size=[96, 96]",
    "data.channels=3",
    "data.resize=stretch",  # what image_dataset_from_directory does
    "train.epochs=10",
    "train.cnn.filters=[32, 64]",
    "train.cnn.dense_units=64",
    *PLAIN,
]
TABLE_PARAMS = ["data.target=label", "train.epochs=5", "train.mlp.units=[64, 32]", *PLAIN]

PHOTO_SCRIPT = """
import keras
folder = {folder!r}
common = dict(validation_split=0.3, seed=1, image_size=(96, 96), batch_size=32)
train = keras.utils.image_dataset_from_directory(folder, subset="training", **common)
test = keras.utils.image_dataset_from_directory(folder, subset="validation", **common)
layers = keras.layers
model = keras.Sequential([
    keras.Input((96, 96, 3)), layers.Rescaling(1 / 255),
    layers.Conv2D(32, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
    layers.Conv2D(64, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
    layers.Flatten(), layers.Dropout(0.2), layers.Dense(64, activation="relu"),
    layers.Dropout(0.2), layers.Dense(2, activation="softmax"),
])
model.compile(keras.optimizers.Adam(0.002), "sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(train, epochs=10, validation_data=test, verbose=0)
print(model.evaluate(test, verbose=0))
model.save("model.keras")
"""

TABLE_SCRIPT = """
import keras, pandas as pd, tensorflow as tf
from sklearn.model_selection import train_test_split
frame = pd.read_csv({source!r})
rest, test = train_test_split(frame, test_size=0.15, random_state=42)
train, val = train_test_split(rest, test_size=0.15 / 0.85, random_state=42)
numbers = [c for c in frame.columns if c.startswith("x")]
classes = sorted(frame["label"].unique())
def data(part, shuffle=False):
    x = {{"numbers": part[numbers].to_numpy("float32"), "segment": part[["segment"]].to_numpy()}}
    y = part["label"].map({{c: i for i, c in enumerate(classes)}}).to_numpy()
    found = tf.data.Dataset.from_tensor_slices((x, y))
    return (found.shuffle(10_000) if shuffle else found).batch(32).prefetch(2)
norm = keras.layers.Normalization()
norm.adapt(train[numbers].to_numpy("float32"))
lookup = keras.layers.StringLookup(output_mode="one_hot")
lookup.adapt(train["segment"].to_numpy())
inputs = {{"numbers": keras.Input((len(numbers),)), "segment": keras.Input((1,), dtype="string")}}
segments = keras.layers.Flatten()(lookup(inputs["segment"]))
x = keras.layers.Concatenate()([norm(inputs["numbers"]), segments])
for units in (64, 32):
    x = keras.layers.Dropout(0.1)(keras.layers.Dense(units, activation="relu")(x))
model = keras.Model(inputs, keras.layers.Dense(len(classes), activation="softmax")(x))
model.compile(keras.optimizers.Adam(0.002), "sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(data(train, True), epochs=5, validation_data=data(val), verbose=0)
print(model.evaluate(data(test), verbose=0))
model.save("model.keras")
"""


def write_table(path: Path, rows: int, seed: int = 0) -> Path:
    """20 numbers, a category and a label that depends on some of them, as a CSV."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    numbers = rng.normal(size=(rows, 20)).round(4)
    segment = rng.choice([f"s{i}" for i in range(8)], rows)
    score = numbers[:, 0] + 0.5 * numbers[:, 1] - 0.3 * numbers[:, 2] + (segment == "s3")
    frame = pd.DataFrame(numbers, columns=[f"x{i:02d}" for i in range(20)])
    frame["segment"] = segment
    frame["label"] = np.where(score + rng.normal(0, 0.5, rows) > 0.3, "yes", "no")
    frame.to_csv(path, index=False)
    return path


def script(code: str, work: Path, env: dict[str, str]):
    work.mkdir(parents=True, exist_ok=True)
    (work / "script.py").write_text(code)
    return measure(["python", "script.py"], work, env)


def run(repo: Path, env: dict[str, str], *args: str):
    """`trainflow run ARGS` and its phase profile from the Prefect run's records."""
    started = time.time()
    done = measure([str(BIN / "trainflow"), "run", "--no-register", *args], repo, env)
    return done, run_phases(started, time.time())


def bare(repo: Path, env: dict[str, str]) -> dict[str, float]:
    """Each stage's command alone, and the import of its module alone, in seconds."""
    found = {}
    for stage, command in stage_commands(repo):
        found[f"bare {stage}"] = measure(command, repo, env).seconds
        module = command.split()[-1]
        found[f"import {stage}"] = measure(["python", "-c", f"import {module}"], repo, env).seconds
    return found


def write_photos(folder: Path, count: int, seed: int = 0) -> Path:
    """`folder/<class>/<n>.jpg`: 640x480 photo-like textures of two classes, in threads."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image

    from tests.photos import texture

    def one(index: int) -> None:
        label = ("checks", "stripes")[index % 2]
        pixels = texture(label, np.random.default_rng([seed, index]), 480, 640)
        (folder / label).mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(folder / label / f"{index}.jpg", quality=90)

    with ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(one, range(count)))
    return folder


def photos(root: Path, env: dict[str, str], count: int, turn: int) -> dict:
    folder = root / "photos"
    if not folder.exists():
        write_photos(folder, count)
    repo = root / f"photos-{turn}"
    fresh_workspace(repo, [f"data.source={folder}", *PHOTO_PARAMS])
    mine = script(PHOTO_SCRIPT.format(folder=str(folder)), root / f"photo-script-{turn}", env)
    say("script", "photos: the Keras script", mine.seconds)
    run(repo, env)  # the first run: outputs for --force and the params change to start from
    every, phases = run(repo, env, "--force")
    say("script", "photos: trainflow run --force", every.seconds)
    write_overrides(repo / "params.yaml", ["train.learning_rate=0.0021"])
    changed, _ = run(repo, env)
    say("script", "photos: trainflow run after a train params change", changed.seconds)
    return {
        "script": mine,
        "photos, all stages": every,
        "photos, params change": changed,
        "phases": phases | bare(repo, env),
    }


def table(root: Path, env: dict[str, str], rows: int, turn: int) -> dict:
    source = root / "table.csv"
    if not source.exists():
        write_table(source, rows)
    mine = script(TABLE_SCRIPT.format(source=str(source)), root / f"table-script-{turn}", env)
    say("script", "table: the Keras script", mine.seconds)
    repo = fresh_workspace(root / f"table-{turn}", [f"data.source={source}", *TABLE_PARAMS])
    first, phases = run(repo, env)
    say("script", "table: trainflow run, first", first.seconds)
    again, _ = run(repo, env, "--force")
    say("script", "table: trainflow run --force", again.seconds)
    return {
        "script": mine,
        "table, first run": first,
        "table, --force": again,
        "phases": phases | bare(repo, env),
    }


def figures(name: str, runs: list[dict], goals: dict) -> list[dict]:
    """Time and peak memory of each trainflow run / the script's, medians over repeats."""
    found = []
    for what in (k for k in runs[0] if k not in ("script", "phases")):
        times = [r[what].seconds / r["script"].seconds for r in runs]
        detail = {
            "seconds": round(statistics.median(r[what].seconds for r in runs), 1),
            "script_seconds": round(statistics.median(r["script"].seconds for r in runs), 1),
        }
        found.append(figure(f"{what} / script (time)", times, goals.get(what), detail))
        memory = [r[what].peak_mb / r["script"].peak_mb for r in runs]
        peaks = {"peak_mb": round(statistics.median(r[what].peak_mb for r in runs))}
        found.append(figure(f"{what} / script (peak memory)", memory, MEMORY_GOAL, peaks))
    script_seconds = statistics.median(r["script"].seconds for r in runs)
    for phase in runs[0]["phases"]:
        seconds = [r["phases"][phase] for r in runs]
        shares = [s / script_seconds for s in seconds]
        median = round(statistics.median(seconds), 2)
        found.append(figure(f"{name} profile: {phase} / script", shares, None, {"seconds": median}))
    return found


def main() -> dict:
    count = env_int("BENCH_SCRIPT_PHOTOS", 1200)
    rows = env_int("BENCH_SCRIPT_ROWS", 300_000)
    with tempfile.TemporaryDirectory(prefix="bench-script-") as name, prefect_server() as api:
        root, env = Path(name), base_env(PREFECT_API_URL=api)
        photo_runs = [photos(root, env, count, turn) for turn in range(repeats())]
        table_runs = [table(root, env, rows, turn) for turn in range(repeats())]
    return {
        "name": "script",
        "figures": figures("photos", photo_runs, GOALS) + figures("table", table_runs, GOALS),
        "photos": count,
        "rows": rows,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
