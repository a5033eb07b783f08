"""A folder of everyday photos, end to end: `trainflow run`, the registry, `trainflow predict`.

The photos are generated (tests/photos.py): three texture classes in every format, size and
orientation a phone or the web produces, with the junk a copied folder carries. A small CNN
with augmentation and class weights must learn them; a pretrained backbone (a local weights
file, as a user without network access brings one) trains in two phases. Fed the raw files,
`trainflow predict` gives the evaluate stage's probabilities exactly.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from tasks.common.params import BackboneParams, Params, validate
from tasks.model.vision import backbone, backbone_of
from tests.conftest import BIN, ROOT, trainflow
from tests.photos import CLASSES, photo_folder, texture

pytestmark = pytest.mark.e2e
COUNTS = {"checks": 80, "dots": 80, "stripes": 40}  # imbalanced, as real folders are
PHOTOS = [
    "data.image_size=[32, 32]",
    "data.channels=3",
    "data.resize=crop",
    "train.epochs=40",
    "train.early_stopping_patience=8",
    "train.learning_rate=0.003",
    "train.class_weight=balanced",
    "train.augment.flip=horizontal_and_vertical",
    "train.augment.zoom=0.1",
    "train.augment.contrast=0.1",
    "train.cnn.filters=[16, 32]",
    "train.cnn.dense_units=32",
    "evaluate.gate.min_accuracy=0.9",
    "evaluate.gate.min_macro_f1=0.9",
    "flow.train_retries=0",
]
ENV = os.environ | {"DVC_NO_ANALYTICS": "1"}
GATE_OFF = {"compare_champion": False, "gate": {"min_accuracy": 0, "min_macro_f1": 0}}


def sets(*items: str) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def serving_parity(workspace: Path, env: dict, version: str) -> pd.DataFrame:
    """`trainflow predict` on the raw test photos equals evaluate's predictions exactly."""
    evaluated = pd.read_csv(workspace / "reports/predictions.csv")
    for relative in evaluated["id"]:
        target = workspace / "raw-test" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(workspace / "data/raw/images" / relative, target)
    served = trainflow(workspace, env, "predict", "raw-test", "--model", version, "--out", "p.csv")
    assert served.returncode == 0, served.stdout + served.stderr
    predicted = pd.read_csv(workspace / "p.csv").set_index("id").loc[evaluated["id"]]
    probabilities = [c for c in evaluated.columns if c.startswith("p_")]
    assert (predicted["predicted"].to_numpy() == evaluated["predicted"].to_numpy()).all()
    assert (predicted[probabilities].to_numpy() == evaluated[probabilities].to_numpy()).all()
    return evaluated


def test_photos_train_register_and_serve_with_augmentation_and_class_weights(
    workspace, env, tmp_path
):
    photos = photo_folder(tmp_path / "photos", per_class=COUNTS)
    first = trainflow(workspace, env, "run", *sets(f"data.source={photos}", *PHOTOS))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "version: model@v0.1.0 (new version)" in first.stdout
    validation = json.loads((workspace / "reports/validation.json").read_text())
    assert validation["success"] and validation["rows"] == 200  # no junk counted
    metrics = json.loads((workspace / "reports/metrics.json").read_text())
    assert metrics["accuracy"] >= 0.9 and metrics["macro_f1"] >= 0.9
    report = json.loads((workspace / "reports/train_setup.json").read_text())
    balance = [report["class_weight"][str(i)] for i in range(3)]  # checks, dots, stripes
    trained = json.loads((workspace / "data/prepared/meta.json").read_text())["class_counts"]
    counts = [trained["train"][name] for name in ("checks", "dots", "stripes")]
    assert balance == pytest.approx([sum(counts) / (3 * n) for n in counts])  # n / (k * count)
    assert balance[2] > 1.5 * balance[0]  # about half as many stripes
    served = serving_parity(workspace, env, "v0.1.0")
    assert set(served["id"].str.split("/").str[0]) == set(CLASSES)


def pretrained(path: Path) -> tuple[keras.Model, Path]:
    """A MobileNetV3Small weights file whose features vary from photo to photo.

    Freshly initialised, its features vanish (about 1e-11); one pass over photo-like images
    in training mode with BatchNorm momentum 0 sets each layer's statistics to theirs, which
    is all a frozen backbone needs to pass information on. Not ImageNet, but loaded the same.
    """
    keras.utils.set_random_seed(0)
    net = backbone([32, 32, 3], BackboneParams(name="mobilenet_v3_small", weights=None))
    rng = np.random.default_rng(7)
    images = np.stack([texture(label, rng, 32, 32) for label in CLASSES * 30]).astype("float32")
    for layer in net.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.0
    net(images, training=True)
    net.save_weights(path)
    return net, path


def stage_workspace(root: Path, photos: Path, train: dict) -> Params:
    """A git + DVC workspace with a params.yaml that points at `photos`."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty"]
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([str(BIN / "dvc"), "init", "-q"], cwd=root, check=True, env=ENV)
    subprocess.run([*git, "-m", "empty"], cwd=root, check=True)
    data = {"source": str(photos), "image_size": [32, 32], "channels": 1, "resize": "pad"}
    raw = {"data": data, "train": train, "evaluate": GATE_OFF}
    (root / "params.yaml").write_text(json.dumps(raw))  # JSON is YAML
    return validate(raw)


def test_a_pretrained_backbone_from_a_local_file_fine_tunes_and_serves_the_same(
    tmp_path, monkeypatch
):
    """ingest, prepare and train in-process, evaluate in its own process as DVC runs it:
    MobileNetV3 from a weights file, grayscale photos repeated to RGB, padded, augmented,
    trained in two phases."""
    from flows.predict import predict
    from tasks import ingest, prepare, train

    photos = photo_folder(tmp_path / "photos", per_class=20)
    source, weights = pretrained(tmp_path / "mobilenet_v3_small.weights.h5")
    tuned = {
        "epochs": 2,
        "augment": {"flip": "horizontal", "rotation": 0.05},
        "backbone": {"name": "mobilenet_v3_small", "weights": str(weights)}
        | {"fine_tune_epochs": 2, "fine_tune_layers": 20},
        "backup_dir": str(tmp_path / "backup"),
    }
    params = stage_workspace(tmp_path / "repo", photos, tuned)
    monkeypatch.chdir(tmp_path / "repo")
    for stage in (ingest, prepare, train):
        stage.run(params)
    scored = subprocess.run(
        [sys.executable, "-m", "tasks.evaluate"], env=ENV | {"PYTHONPATH": str(ROOT)}, check=False
    )
    assert scored.returncode == 0
    report = json.loads(Path("reports/train_setup.json").read_text())
    assert [phase.split(":")[0] for phase in report["phases"]] == ["head", "fine-tune"]
    assert json.loads(Path("reports/train.json").read_text())["epochs_run"] == 4
    model = keras.saving.load_model("models/model/model.keras", safe_mode=True)
    for layer, loaded in zip(backbone_of(model).layers[:-20], source.layers[:-20], strict=True):
        for ours, theirs in zip(layer.get_weights(), loaded.get_weights(), strict=True):
            np.testing.assert_array_equal(ours, theirs)  # loaded from the file, kept frozen

    evaluated = pd.read_csv("reports/predictions.csv")
    for relative in evaluated["id"]:
        target = Path("raw-test") / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(photos / relative, target)
    predict(Path("models/model"), Path("raw-test")).to_csv("served.csv", index=False)
    served = pd.read_csv("served.csv").set_index("id").loc[evaluated["id"]]
    probabilities = [c for c in evaluated.columns if c.startswith("p_")]
    assert evaluated[probabilities].std().min() > 1e-3  # a model that tells photos apart
    np.testing.assert_array_equal(served[probabilities].to_numpy(), evaluated[probabilities])
