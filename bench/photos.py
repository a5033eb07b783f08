"""Benchmark: a folder of photos through prepare and the train stage vs a bare `model.fit`.

Photos: N photo-like JPEGs of three classes, 640x480 in both orientations (tests/photos.py
textures). Model: MobileNetV3Small at 160x160 from a weights file, the head phase on the
frozen backbone: the recipe of examples/photos.yaml at a size two CPU cores train quickly.

Throughput. "stage": the prepare stage (decode, EXIF, resize, split, Parquet; timed) then the
train stage's fit with its callbacks (DVCLive, TensorBoard, backup, epoch log). "bare": the
same model, compiled the same, `model.fit` on the training split's pixels decoded beforehand
(untimed), same validation data. A fit's images/s is its fastest epoch after the first (the
first traces the model; the fastest is the least disturbed by other jobs on the machine).
Figures are medians over rounds (order rotating) of bare / stage images/s, so at most 1.11
means the stage keeps at least 0.9 of a bare fit's speed (the stage without its callbacks is
shown too: the data path alone, so the rest is the per-epoch backup and curves):
- per epoch, augmentation off (goal <= 1.11): what every epoch costs once photos are prepared;
- the whole path for E epochs (decode once, then E epochs; E = 20, the head + fine-tune
  epochs of examples/photos.yaml), computed from the measured prepare seconds and epoch rate;
- per epoch with augmentation (flip, rotation, zoom, contrast) against a bare fit of the same
  augmented model (its cost on the CPU, where augmentation runs inside the train step).
Decoding alone (decode + resize) is timed with one thread and with one per core.

Memory: fresh processes run prepare, then one streamed training epoch, on 1x and 10x the
photos (320x240 here: memory follows their number); peak RSS may grow by at most 20%.

    python -m bench.photos [--photos N] [--epochs E] [--memory-photos N] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from bench.common import ROOT, figure, peak_mib, repeats, rotated

SIZE, BACKBONE = 160, "mobilenet_v3_small"
WHOLE_EPOCHS = 20  # examples/photos.yaml: 10 epochs on the frozen backbone + 10 fine-tuning
AUGMENT = {"flip": "horizontal", "rotation": 0.05, "zoom": 0.1, "contrast": 0.1}
CHILD = "from bench.photos import child; child()"


def write_photos(
    images: Path, count: int, size: tuple[int, int], seed: int = 0, suffixes=("jpg",)
) -> Path:
    """`images/<class>/<n>.<suffix>`, landscape and portrait, generated in threads; the
    suffixes (jpg, png) take turns."""
    from PIL import Image

    from tests.photos import CLASSES, texture

    def one(index: int) -> None:
        rng = np.random.default_rng([seed, index])
        label = CLASSES[index % len(CLASSES)]
        height, width = size if index % 4 else size[::-1]
        folder = images / label
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{index}.{suffixes[index % len(suffixes)]}"
        Image.fromarray(texture(label, rng, height, width)).save(path)

    with ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(one, range(count)))
    return images


def params_for(root: Path, epochs: int, weights: Path, augment: bool):
    from tasks.common.params import validate

    backbone = {"name": BACKBONE, "weights": str(weights), "fine_tune_epochs": 0}
    train = {"epochs": epochs, "early_stopping_patience": 0, "reduce_lr_patience": 0}
    train |= {"backbone": backbone, "augment": AUGMENT if augment else {}}
    train["backup_dir"] = str(root / "backup")
    paths = {"raw": "raw", "prepared": "prepared", "model": "model", "reports": "reports"}
    paths = {name: str(root / folder) for name, folder in paths.items()}
    return validate(
        {"paths": paths, "data": {"image_size": [SIZE, SIZE], "channels": 3}} | {"train": train}
    )


def prepare_photos(root: Path, photos: Path, params) -> dict:
    """The prepare stage on `photos` (linked in as the raw images of workspace `root`)."""
    from tasks import prepare

    (root / "raw").mkdir(parents=True)
    (root / "raw" / "images").symlink_to(photos)
    return prepare.run(params)


def stage(
    root: Path, photos: Path, epochs: int, weights: Path, augment: bool, report: bool = True
) -> dict:
    """Prepare seconds and the train stage's fit: training rows and fastest epoch's images/s.

    `report` False leaves out the stage's callbacks (backup, curves, log): the data path alone.
    """
    from bench.train_throughput import EpochTimer, rate
    from tasks.train import fit, monitors
    from tasks.train.devices import place

    params = params_for(root, epochs, weights, augment)
    started = time.perf_counter()
    rows = prepare_photos(root, photos, params)["rows"]["train"]
    prepared = time.perf_counter() - started
    p, timer = params.train, EpochTimer()
    callbacks = monitors(p, rows, root / "reports", root / "backup") if report else []
    fit(Path(params.paths.prepared), p, place(p), [*callbacks, timer])
    return {"prepare_seconds": prepared, "rows": rows, "rate": rate(rows, timer.seconds)}


def bare(prepared: Path, epochs: int, weights: Path, augment: bool) -> float:
    """The fastest epoch's images/s of the same model's `model.fit` on decoded arrays."""
    from bench.train_throughput import EpochTimer, rate
    from tasks.model.reader import Split
    from tasks.problems import problem_of
    from tasks.train import build
    from tasks.train.devices import place
    from tasks.train.phases import compile_phase, plan

    p = params_for(prepared.parent, epochs, weights, augment).train
    meta = json.loads((prepared / "meta.json").read_text())
    (x, y), val = (Split(prepared / f"{n}.parquet", meta).read() for n in ("train", "val"))
    model, placement, timer = build(meta, None, p), place(p), EpochTimer()
    objective = problem_of(meta).compile_args(p, None)
    compile_phase(model, p, placement, -(-len(x) // p.batch_size), plan(p)[0], objective)
    model.fit(x, y, p.batch_size, epochs, validation_data=val, callbacks=[timer], verbose=0)
    return rate(len(x), timer.seconds)


def whole_path(run: dict, epochs: int) -> float:
    """Images/s of prepare once, then `epochs` epochs at the measured epoch rate."""
    images = run["rows"] * epochs
    return images / (run["prepare_seconds"] + images / run["rate"])


def decoding(photos: Path) -> dict:
    """Photos/s of decode + resize with one thread and with one per core."""
    from tasks.data.images import load_images, workers
    from tasks.data.layout import list_images

    files = [path for path, _ in list_images(photos)]
    found = {}
    for threads in (1, workers()):
        started = time.perf_counter()
        for _ in load_images(files, (SIZE, SIZE), 3, "crop", threads):
            pass
        found[f"threads_{threads}"] = round(len(files) / (time.perf_counter() - started), 1)
    return found


def throughput(root: Path, count: int, epochs: int) -> dict:
    from tasks.common.params import BackboneParams
    from tasks.model.vision import backbone

    photos = write_photos(root / "photos", count, (480, 640))
    weights = root / "backbone.weights.h5"
    backbone([SIZE, SIZE, 3], BackboneParams(name=BACKBONE, weights=None)).save_weights(weights)
    prepare_photos(root / "reference", photos, params_for(root / "reference", 2, weights, False))
    prepared = root / "reference" / "prepared"  # what the bare fits read, decoded up front
    runs: dict[str, list] = {
        name: [] for name in ("stage", "quiet", "bare", "stage_aug", "bare_aug")
    }
    for turn in range(repeats()):
        for name in rotated(list(runs), turn):
            augment, work = name.endswith("_aug"), root / f"{name}{turn}"
            if name == "quiet":
                runs[name].append(stage(work, photos, epochs, weights, False, report=False))
            elif name.startswith("stage"):
                runs[name].append(stage(work, photos, epochs, weights, augment))
            else:
                runs[name].append(bare(prepared, epochs, weights, augment))
    pairs = list(zip(runs["bare"], runs["stage"], strict=True))
    per_epoch = [b / s["rate"] for b, s in pairs]
    whole = [b / whole_path(s, WHOLE_EPOCHS) for b, s in pairs]
    augmented = [b / s["rate"] for b, s in zip(runs["bare_aug"], runs["stage_aug"], strict=True)]
    seconds = [s["prepare_seconds"] for s in runs["stage"]]
    quiet = [b / q["rate"] for b, q in zip(runs["bare"], runs["quiet"], strict=True)]
    rates = {
        "stage": [round(s["rate"], 1) for s in runs["stage"]],
        "stage_without_callbacks": [round(q["rate"], 1) for q in runs["quiet"]],
        "bare": [round(b, 1) for b in runs["bare"]],
        "stage_augmented": [round(s["rate"], 1) for s in runs["stage_aug"]],
        "bare_augmented": [round(b, 1) for b in runs["bare_aug"]],
    }
    detail = {name: float(np.median(values)) for name, values in rates.items()}
    prepare_rate = count / float(np.median(seconds))
    return {
        "figures": [
            figure("bare / stage images/s per epoch, augmentation off", per_epoch, 1.11, detail),
            figure(
                f"bare / stage images/s, whole path ({WHOLE_EPOCHS} epochs)",
                whole,
                1.11,
                {"prepare_photos_per_second": round(prepare_rate, 1)},
            ),
        ],
        "ratio_augmented_per_epoch": round(float(np.median(augmented)), 3),
        "ratio_without_callbacks_per_epoch": round(float(np.median(quiet)), 3),
        "images_per_second": rates,
        "prepare_seconds": [round(v, 2) for v in seconds],
        "decoding_photos_per_second": decoding(photos),
        "photos": count,
        "epochs": epochs,
    }


def child() -> None:
    """In a fresh process: prepare (argv[2] = "prepare") or one streamed epoch ("train") of
    the workspace argv[1]; prints the peak resident memory."""
    root, what = Path(sys.argv[1]), sys.argv[2]
    params = params_for(root, 1, root / "backbone.weights.h5", False)
    if what == "prepare":
        from tasks import prepare

        prepare.run(params)  # raw/images is already in place
    else:
        from tasks.train import fit
        from tasks.train.devices import place

        p = params.train.model_copy(update={"cache_max_mb": 0.0, "shuffle_buffer": 256})
        fit(Path(params.paths.prepared), p, place(p))
    print(json.dumps({"peak_mib": peak_mib()}))


def measure(root: Path, what: str) -> float:
    env = os.environ | {"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), what], env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"{what} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])["peak_mib"]


def memory(root: Path, count: int) -> dict:
    from tasks.common.params import BackboneParams
    from tasks.model.vision import backbone

    found: dict[str, dict[str, float]] = {"prepare": {}, "train_streamed": {}}
    for scale in (1, 10):
        work = root / f"memory{scale}x"
        write_photos(work / "raw" / "images", count * scale, (240, 320), seed=scale)
        net = backbone([SIZE, SIZE, 3], BackboneParams(name=BACKBONE, weights=None))
        net.save_weights(work / "backbone.weights.h5")
        found["prepare"][f"{scale}x"] = round(measure(work, "prepare"), 1)
        found["train_streamed"][f"{scale}x"] = round(measure(work, "train"), 1)
    figures = [
        figure(f"peak RSS 10x / 1x photos: {what}", [runs["10x"] / runs["1x"]], 1.2, runs)
        for what, runs in found.items()
    ]
    return {"figures": figures, "photos": {"1x": count, "10x": 10 * count}, "peak_mib": found}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=600, help="photos (throughput)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per fit (throughput)")
    parser.add_argument("--memory-photos", type=int, default=600, help="1x photos (memory)")
    parser.add_argument("--out", help="write the JSON result here too")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="trainflow-bench-photos-") as tmp:
        speed = throughput(Path(tmp), args.photos, args.epochs)
        held = memory(Path(tmp), args.memory_photos)
    result = speed | {"memory": held, "figures": speed["figures"] + held["figures"]}
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
