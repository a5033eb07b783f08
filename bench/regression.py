"""Regression: the example's model against scikit-learn on the same split, and its speed.

Quality: examples/regression.yaml, copied over params.yaml as the docs say, runs the stage
commands of dvc.yaml on (a) scikit-learn's bundled diabetes table and (b) a larger table this
module writes (numbers with missing values, two categories, a skewed target; with
`train.target_transform: log`). Its test R² is set against RidgeCV (numbers imputed and
standardised, categories one-hot) and HistGradientBoostingRegressor (categories native),
both fitted on the same training and validation rows (the model trains on the first and stops
early on the second) and scored on the same test rows, with the same target transform.
Goals: at least RidgeCV's R² on both; within 0.03 of HGB's on the larger table.

Throughput: the train stage's fit path (`tasks.train.fit` with its callbacks) on the larger
table's prepared splits against a bare `model.fit` of the same model on a `tf.data` dataset
of the same arrays, as a user would write it. Goal >= 0.95, as for classification.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import ROOT, base_env, figure, fresh_workspace, measure, say, stage_commands
from tasks.common.params import write_overrides

ROWS = 20_000
EXAMPLE = ROOT / "examples" / "regression.yaml"
HGB_MARGIN = 0.03
THROUGHPUT_GOAL = 0.95


def houses(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    """A larger table: a price from numbers (some missing) and categories, log-normal noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 6))
    district = rng.choice(["north", "south", "east", "west", "centre"], rows)
    kind = rng.choice(["flat", "house", "villa"], rows, p=[0.6, 0.3, 0.1])
    effect = pd.Series(district).map({"north": 0.1, "south": -0.2, "east": 0.0, "west": 0.15})
    uplift = pd.Series(kind).map({"flat": 0.0, "house": 0.3, "villa": 0.8}).to_numpy()
    log_price = (
        11.5
        + 0.4 * x[:, 0]
        + 0.25 * x[:, 1] * x[:, 2]
        + 0.3 * np.tanh(2 * x[:, 3])
        + effect.fillna(0.3).to_numpy()
        + uplift
        + rng.normal(0, 0.15, rows)
    )
    frame = pd.DataFrame({f"x{i}": x[:, i].round(3) for i in range(6)})
    for column in ("x1", "x4"):
        frame.loc[rng.random(rows) < 0.05, column] = np.nan
    return frame.assign(district=district, kind=kind, price=np.exp(log_price).round(0))


def workspace(root: Path, overrides: list[str]) -> Path:
    """A fresh workspace with the example copied over params.yaml, then `overrides`."""
    repo = fresh_workspace(root, [])
    shutil.copyfile(EXAMPLE, repo / "params.yaml")
    write_overrides(repo / "params.yaml", overrides)
    return repo


def run_stages(repo: Path, name: str) -> float:
    """Every stage command of dvc.yaml, in order; the test R² evaluate wrote."""
    env = base_env()
    for stage, command in stage_commands(repo):
        done = measure(command, repo, env)
        say("regression", f"{name}: {stage}", done.seconds)
    return json.loads((repo / "reports/metrics.json").read_text())["r2"]


def baselines(prepared: Path, log: bool) -> dict[str, float]:
    """Test R² of RidgeCV and HistGradientBoostingRegressor on the prepared splits."""
    from sklearn.compose import TransformedTargetRegressor, make_column_transformer
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    meta = json.loads((prepared / "meta.json").read_text())
    features, target = meta["features"], meta["target"]
    numeric, text = features["numeric"], features["categorical"]
    frames = {n: pd.read_parquet(prepared / f"{n}.parquet") for n in ("train", "val", "test")}
    fit = pd.concat([frames["train"], frames["val"]])
    linear = make_column_transformer(
        (make_pipeline(SimpleImputer(), StandardScaler()), numeric),
        (OneHotEncoder(handle_unknown="ignore"), text),
    )
    ordinal = make_column_transformer(
        (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), text),
        remainder="passthrough",
    )
    models = {
        "ridge": make_pipeline(linear, RidgeCV(alphas=np.logspace(-3, 3, 13))),
        "hgb": make_pipeline(
            ordinal,
            HistGradientBoostingRegressor(
                categorical_features=list(range(len(text))), random_state=0
            ),
        ),
    }
    found = {}
    for name, model in models.items():
        if log:
            model = TransformedTargetRegressor(model, func=np.log1p, inverse_func=np.expm1)
        model.fit(fit[numeric + text], fit[target].astype(float))
        predicted = model.predict(frames["test"][numeric + text])
        found[name] = float(r2_score(frames["test"][target].astype(float), predicted))
    return found


def quality(root: Path) -> tuple[list[dict], Path]:
    """The example's test R² against the baselines on both tables; the larger workspace."""
    houses(ROWS).to_parquet(root / "houses.parquet", index=False)
    tables = {
        "diabetes": [],
        f"houses ({ROWS:,} rows)": [
            f"data.source={root / 'houses.parquet'}",
            "data.target=price",
            "train.target_transform=log",
            "register.artifact=houses",
        ],
    }
    figures, larger = [], None
    for index, (name, overrides) in enumerate(tables.items()):
        repo = workspace(root / f"repo{index}", overrides)
        ours = run_stages(repo, name)
        theirs = baselines(repo / "data/prepared", log=bool(overrides))
        print(
            f"regression: {name}: r2 {ours:.4f}, "
            + ", ".join(f"{k} {v:.4f}" for k, v in theirs.items()),
            flush=True,
        )
        detail = {"r2": round(ours, 4)} | {k: round(v, 4) for k, v in theirs.items()}
        figures.append(figure(f"R² RidgeCV - model, {name}", [theirs["ridge"] - ours], 0, detail))
        if overrides:
            figures.append(
                figure(f"R² HGB - model, {name}", [theirs["hgb"] - ours], HGB_MARGIN, detail)
            )
            larger = repo
    return figures, larger


def bare_fit(folder: Path, p) -> float:
    """examples/s of the same model's `model.fit` on a tf.data dataset of the arrays."""
    import tensorflow as tf

    from bench.train_throughput import EpochTimer, rate
    from tasks.model.reader import Split, table_stats
    from tasks.problems import problem_of
    from tasks.train import build
    from tasks.train.devices import place

    meta = json.loads((folder / "meta.json").read_text())
    train, val = (Split(folder / f"{n}.parquet", meta) for n in ("train", "val"))
    model, problem = build(meta, table_stats(train), p), problem_of(meta)
    objective = problem.compile_args(p, problem.fit_target(train, p))
    model.compile(optimizer=p.optimizer, jit_compile=place(p).jit_compile, **objective)
    (x, y), (vx, vy) = train.read(), val.read()
    data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(y)).batch(p.batch_size)
    checks = tf.data.Dataset.from_tensor_slices((vx, vy)).batch(p.batch_size)
    timer = EpochTimer()
    model.fit(data.prefetch(2), epochs=p.epochs, validation_data=checks, callbacks=[timer])
    return rate(len(y), timer.seconds)


def throughput(repo: Path, work: Path) -> dict:
    """The stage's fit path against the bare fit, in alternating rounds."""
    from bench.train_throughput import stage_fit
    from tasks.common.params import load_params

    p = load_params(repo / "params.yaml").train.model_copy(
        update={"epochs": 4, "early_stopping_patience": 0, "reduce_lr_patience": 0}
    )
    folder, ratios, rates = repo / "data/prepared", [], {"stage": [], "bare": []}
    for turn in range(3):
        rates["stage"].append(stage_fit(folder, p, work / f"stage{turn}"))
        rates["bare"].append(bare_fit(folder, p))
        ratios.append(rates["stage"][-1] / rates["bare"][-1])
    detail = {k: [round(v) for v in values] for k, values in rates.items()}
    name = "bare fit / train stage examples/s, houses"
    return figure(name, [1 / r for r in ratios], round(1 / THROUGHPUT_GOAL, 3), detail)


def main() -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-regression-") as name:
        root = Path(name)
        figures, larger = quality(root)
        figures.append(throughput(larger, root))
    return {"name": "regression", "figures": figures}


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
