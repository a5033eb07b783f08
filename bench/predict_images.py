"""The image side of the predict benchmark: a folder of photos against a bare `model.predict`.

The model: MobileNetV3Small at 160x160 (random weights from a local file, so no download; a
head phase of one epoch), trained by dvc.yaml's stage commands on 120 generated photos: the
recipe of examples/photos.yaml at the size bench/photos.py trains. The input: a folder of
BENCH_PREDICT_IMAGES generated photo-like 640x480 files (tests/photos.py textures, landscape
and portrait, one in ten a PNG, the rest JPEG) and one of ten times as many. The 10x folder
holds hard links to the 1x files under new names (ten sub-folders), so it costs no disk and
no generating time; predict opens, decodes and predicts each name like any file. Its pages are
in the OS cache as the 1x files' are (they were just written), and only its peak memory is
measured, which the page cache is no part of.

The baseline decodes the 1x folder beforehand (untimed, the same `load_images` as prepare and
predict) and times the same model's `model.predict` alone on those pixels, in
`flows.predict.BATCH["image"]` batches; the streaming side's time includes reading, decoding,
loading the model and writing the predictions.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.common import env_int, fresh_workspace, measure, say, stage_commands

RATE_GOAL = 1.25  # streaming at >= 0.8 of the bare predict, decoding included
PHOTOS = 1_000
SIZE, BACKBONE = 160, "mobilenet_v3_small"
TRAINING_PHOTOS = 120
SUFFIXES = ("png", *["jpg"] * 9)  # one in ten a PNG

BARE = """
import sys, time
from pathlib import Path
import keras, numpy as np, tasks.model.build
from flows.predict import BATCH
from tasks.common.io import read_json
from tasks.common.signature import image_resize, signature_of
from tasks.data.images import load_images
from tasks.data.layout import image_files
signature = signature_of(read_json("models/model/meta.json"))
height, width, channels = signature["inputs"][0]["shape"]
files = image_files(Path(sys.argv[1]))
pixels = np.stack(list(load_images(files, (height, width), channels, image_resize(signature))))
model = keras.saving.load_model("models/model/model.keras", safe_mode=True)
started = time.perf_counter()
outputs = model.predict(pixels, batch_size=BATCH["image"], verbose=0)
print("SECONDS", time.perf_counter() - started, "ROWS", len(outputs))
"""


def trained(root: Path) -> Path:
    """A workspace whose stage commands trained the photo model (models/model)."""
    from bench.common import base_env
    from bench.photos import write_photos
    from tasks.common.params import BackboneParams
    from tasks.model.vision import backbone

    photos = write_photos(root / "training-photos", TRAINING_PHOTOS, (240, 320))
    weights = root / "backbone.weights.h5"
    backbone([SIZE, SIZE, 3], BackboneParams(name=BACKBONE, weights=None)).save_weights(weights)
    overrides = [
        f"data.source={photos}",
        f"data.image_size=[{SIZE}, {SIZE}]",
        "data.channels=3",
        "train.epochs=1",
        "train.early_stopping_patience=0",
        "train.reduce_lr_patience=0",
        f"train.backbone.name={BACKBONE}",
        f"train.backbone.weights={weights}",
        "train.backbone.fine_tune_epochs=0",
        "evaluate.compare_champion=false",
        "evaluate.gate.min_accuracy=0",
        "evaluate.gate.min_macro_f1=0",
        "register.artifact=photos",
    ]
    repo = fresh_workspace(root / "images-repo", overrides)
    for stage, command in stage_commands(repo):
        say("predict", f"images: {stage}", measure(command, repo, base_env()).seconds)
    return repo


def folders(root: Path, count: int) -> dict[int, Path]:
    """The 1x folder of `count` photos, and the 10x folder of hard links to them."""
    from bench.photos import write_photos

    small = write_photos(root / "photos-1x", count, (480, 640), seed=1, suffixes=SUFFIXES)
    large = root / "photos-10x"
    files = [path for path in small.rglob("*") if path.is_file()]
    for copy in range(10):
        for path in files:
            target = large / f"copy{copy}" / path.relative_to(small)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)
    return {1: small, 10: large}


def images_side(root: Path) -> list[dict]:
    """The image figures (see the module docstring)."""
    from bench.scoring import compare

    count = env_int("BENCH_PREDICT_IMAGES", PHOTOS)
    repo = trained(root)
    return compare(repo, BARE, folders(root, count), "images", RATE_GOAL)
