"""Text: accuracy against scikit-learn's TF-IDF + LogisticRegression, and train-stage speed.

The set: the summary line (first paragraph, up to a section header such as "Args:") of the
docstrings of public functions, classes and methods of seven installed libraries, labelled by
library: numpy, pandas, networkx, sqlalchemy, sympy, keras and prefect. It is read from their
source files with `ast` (nothing imported, nothing downloaded), so the same venv gives the same
set. It is a fair text task: short prose of 5 to ~60 words written by many authors, classes
that share much of their vocabulary ("Return the ... of the array/frame/graph/expression",
arrays in numpy, pandas, sympy and keras alike), no formatting to give the class away (only
the prose before the sections whose style differs per library), the libraries' own names
taken out, texts found in two libraries dropped, and each library cut to the same number of
texts (those with the lowest SHA-1 of their text), so a majority guess scores 1/7.

Quality: examples/text.yaml (the documented recipe: TF-IDF over words and word pairs, 30,000
tokens, dropout 0.2, weight decay 1e-4, up to 20 epochs with early stopping), copied over
params.yaml, runs the stage commands of dvc.yaml; its test accuracy (reports/metrics.json) is
set against TfidfVectorizer (words and word pairs, as the model) + LogisticRegression fitted on
the same training rows (prepare's train.parquet; the model also stops early on val.parquet) and
scored on the same test rows (test.parquet). Figure: sklearn / trainflow accuracy, goal <=
1/0.97.

Speed: texts/s of the train stage's epochs (its own per-epoch line: training texts over the
epoch's training seconds, validation left out) against a bare `model.fit` of the same built
model (same vectorisation, compiled the same) on the prepared arrays, verbose=0, the same
epochs and batch size, in a process of its own; a rate is the fastest epoch after the first
(the first traces the model). Figure: bare / stage texts/s, goal <= 1/0.95.

    python -m bench text        (BENCH_TEXT_PER_LIBRARY: texts per library, 600)
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import keras
import pandas as pd

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
    stage_commands,
)
from tasks.common.params import write_overrides

LIBRARIES = ("numpy", "pandas", "networkx", "sqlalchemy", "sympy", "keras", "prefect")
PER_LIBRARY = 600
MIN_WORDS = 5
EXAMPLE = ROOT / "examples" / "text.yaml"
ACCURACY_GOAL = 0.97
THROUGHPUT_GOAL = 0.95
SECTION = re.compile(r"^\s*(\w[\w ]*:|-{3,}|={3,})\s*$")  # "Args:", numpydoc underlines
NAMES = re.compile(r"\b(?:" + "|".join(LIBRARIES) + r"|np|pd|nx|sa)\b", re.IGNORECASE)
EPOCH = re.compile(r"^train: epoch (\d+)/\d+ .* (\d+) examples/s$", re.MULTILINE)
CHILD = "from bench.text import bare_child; bare_child()"


def summary(docstring: str) -> str:
    """The prose a docstring opens with: its first paragraph, up to a section header."""
    lines = []
    for line in docstring.strip().splitlines():
        if not line.strip() or SECTION.match(line):
            lines = lines[:-1] if line.strip().startswith(("---", "===")) else lines
            break
        lines.append(line)
    return " ".join(NAMES.sub(" ", " ".join(lines)).split())


def package_dir(library: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(library)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"bench text: package {library} is not installed in {sys.prefix}")
    return Path(next(iter(spec.submodule_search_locations)))


def public_file(path: Path, top: Path) -> bool:
    """Not a test, not a private module (a package's `__init__.py` is public)."""
    parts = path.relative_to(top).parts
    private = any(p.startswith("_") and p != "__init__.py" for p in parts)
    tests = any(p in {"tests", "test", "testing"} or p.startswith("test_") for p in parts)
    return not (private or tests or path.stem.endswith("_test"))


def summaries(library: str) -> set[str]:
    """Summary lines of the library's public functions, classes and methods."""
    top, found = package_dir(library), set()
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    for path in sorted(top.rglob("*.py")):
        if not public_file(path, top):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, kinds) and not node.name.startswith("_"):
                text = summary(ast.get_docstring(node) or "")
                if len(text.split()) >= MIN_WORDS:
                    found.add(text)
    return found


def docstrings(per_library: int = PER_LIBRARY) -> pd.DataFrame:
    """The set: `per_library` texts of each library, in a fixed order (columns text, library)."""
    found = {library: summaries(library) for library in LIBRARIES}
    seen: dict[str, int] = {}
    for texts in found.values():
        for text in texts:
            seen[text] = seen.get(text, 0) + 1
    rows = []
    for library, texts in found.items():
        unique = sorted((t for t in texts if seen[t] == 1), key=_digest)
        if len(unique) < per_library:
            raise RuntimeError(
                f"bench text: {library} has {len(unique)} texts, {per_library} asked"
            )
        rows += [(text, library) for text in unique[:per_library]]
    frame = pd.DataFrame(rows, columns=["text", "library"])
    return frame.iloc[frame["text"].map(_digest).argsort()].reset_index(drop=True)


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def workspace(root: Path, source: Path) -> Path:
    """A fresh workspace: examples/text.yaml over params.yaml, reading the set's CSV."""
    repo = fresh_workspace(root, [])
    shutil.copyfile(EXAMPLE, repo / "params.yaml")
    overrides = [f"data.source={source}", "data.target=library", "data.text_columns=[text]"]
    write_overrides(repo / "params.yaml", [*overrides, "evaluate.gate.min_accuracy=0.1"])
    return repo


def epoch_rate(output: str) -> float:
    """The fastest epoch after the first in the train stage's per-epoch lines (texts/s)."""
    rates = [float(rate) for epoch, rate in EPOCH.findall(output) if int(epoch) > 1]
    if not rates:
        raise RuntimeError(f"bench text: no epoch after the first in the train output:\n{output}")
    return max(rates)


def run_stages(repo: Path) -> float:
    """Every stage command of dvc.yaml, in order; the train stage's texts/s."""
    env, rate = base_env(), 0.0
    for stage, command in stage_commands(repo):
        done = measure(command, repo, env)
        say("text", stage, done.seconds)
        if stage == "train":
            rate = epoch_rate(done.output)
    return rate


def baseline(prepared: Path) -> float:
    """Test accuracy of TfidfVectorizer (words and word pairs) + LogisticRegression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score
    from sklearn.pipeline import make_pipeline

    train, test = (pd.read_parquet(prepared / f"{n}.parquet") for n in ("train", "test"))
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=2000))
    model.fit(train["text"].fillna(""), train["library"])
    return float(accuracy_score(test["library"], model.predict(test["text"].fillna(""))))


class TrainTimer(keras.callbacks.Callback):
    """Seconds of each epoch's training part, measured as the stage's epoch line does."""

    def on_train_begin(self, logs=None):
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.started, self.trained = time.perf_counter(), 0.0

    def on_test_begin(self, logs=None):
        self.trained = self.trained or time.perf_counter() - self.started

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(self.trained or time.perf_counter() - self.started)


def batches(x, y, batch_size: int, seed: int | None = None):
    """What a script would feed Keras: the arrays as a tf.data pipeline (strings stay strings),
    shuffled once per epoch when a seed is given, batched and prefetched."""
    import tensorflow as tf

    found = tf.data.Dataset.from_tensor_slices((x, y))
    if seed is not None:
        found = found.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    return found.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def bare_child() -> None:
    """In a process of its own: the workspace argv[1]'s model fitted bare for argv[2] epochs;
    prints the fastest epoch's texts/s after the first."""
    from tasks.common.io import read_json
    from tasks.common.params import load_params
    from tasks.model.reader import Split, table_stats
    from tasks.problems import problem_of
    from tasks.train import build
    from tasks.train.devices import place
    from tasks.train.phases import compile_phase, plan

    repo, epochs = Path(sys.argv[1]), int(sys.argv[2])
    p = load_params(repo / "params.yaml").train
    folder = repo / "data/prepared"
    meta = read_json(folder / "meta.json")
    train, val = (Split(folder / f"{n}.parquet", meta) for n in ("train", "val"))
    model, placement = build(meta, table_stats(train, text=p.text), p), place(p)
    problem = problem_of(meta)
    objective = problem.compile_args(p, problem.fit_target(train, p))
    (x, y), (val_x, val_y) = train.read(), val.read()
    compile_phase(model, p, placement, -(-len(y) // p.batch_size), plan(p)[0], objective)
    timer = TrainTimer()
    fitted, checks = batches(x, y, p.batch_size, p.seed), batches(val_x, val_y, p.batch_size)
    model.fit(fitted, epochs=epochs, validation_data=checks, callbacks=[timer], verbose=0)
    print(json.dumps({"texts_per_second": len(y) / min(timer.seconds[1:])}))


def bare_rate(repo: Path, epochs: int) -> float:
    command = [sys.executable, "-c", CHILD, str(repo), str(epochs)]
    done = measure(command, repo, base_env(PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2"))
    say("text", f"bare model.fit, {epochs} epochs", done.seconds)
    return json.loads(done.output.strip().splitlines()[-1])["texts_per_second"]


def stage_rate(repo: Path) -> float:
    """The train stage command alone again (its inputs are in place), as dvc.yaml runs it."""
    command = dict(stage_commands(repo))["train"]
    done = measure(command, repo, base_env())
    say("text", "train (again)", done.seconds)
    return epoch_rate(done.output)


def main() -> dict:
    per_library = env_int("BENCH_TEXT_PER_LIBRARY", PER_LIBRARY)
    with tempfile.TemporaryDirectory(prefix="bench-text-") as name:
        root = Path(name)
        started = time.perf_counter()
        texts = docstrings(per_library)
        texts.to_csv(root / "docstrings.csv", index=False)
        say(
            "text",
            f"{len(texts):,} docstrings of {len(LIBRARIES)} libraries",
            time.perf_counter() - started,
        )
        repo = workspace(root / "repo", root / "docstrings.csv")
        rates = {"stage": [run_stages(repo)], "bare": []}
        ours = json.loads((repo / "reports/metrics.json").read_text())["accuracy"]
        theirs = baseline(repo / "data/prepared")
        epochs = json.loads((repo / "reports/train.json").read_text())["epochs_run"]
        for turn in range(repeats()):
            for side in rotated(["bare", "stage"], turn):
                if side == "bare":
                    rates["bare"].append(bare_rate(repo, epochs))
                elif turn:  # the first run of the stage is the one that gave the accuracy
                    rates["stage"].append(stage_rate(repo))
        meta = json.loads((repo / "data/prepared/meta.json").read_text())
    print(f"text: accuracy {ours:.4f}, sklearn {theirs:.4f}", flush=True)
    quality = {"accuracy": round(ours, 4), "sklearn_accuracy": round(theirs, 4)}
    quality |= {f"{split}_rows": n for split, n in meta["rows"].items()} | {"texts": len(texts)}
    speed = {k: [round(v) for v in values] for k, values in rates.items()} | {"epochs": epochs}
    pairs = zip(rates["bare"], rates["stage"], strict=True)
    return {
        "name": "text",
        "figures": [
            figure(
                "sklearn / model test accuracy, docstrings",
                [theirs / ours],
                round(1 / ACCURACY_GOAL, 3),
                quality,
            ),
            figure(
                "bare fit / train stage texts/s, docstrings",
                [b / s for b, s in pairs],
                round(1 / THROUGHPUT_GOAL, 3),
                speed,
            ),
        ],
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
