"""Images whose number is plain to see, generated: a bright square on a noisy dark ground,
its side (in pixels, times 1.25) the target a labels table gives each file.

What a folder exported by a labelling tool looks like to us: files at the top and in a
subfolder, a labels.csv beside them naming each file relative to the folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

SIDE = 16  # pixels of each image
SCALE = 1.25  # target per pixel of the square's side: fractional, so a number to regress


def square(rng: np.random.Generator, side: int) -> np.ndarray:
    pixels = rng.integers(0, 60, (SIDE, SIDE)).astype(np.uint8)
    x, y = rng.integers(0, SIDE - side + 1, 2)
    pixels[y : y + side, x : x + side] = rng.integers(200, 256)
    return pixels


def square_folder(
    folder: Path, count: int, seed: int = 0, target: str = "size"
) -> tuple[Path, pd.DataFrame]:
    """`count` PNGs under `folder` (every third in `folder/more/`), and the labels table
    (`file`, `target`) written to `folder/labels.csv`, one row per file in file order."""
    rng = np.random.default_rng(seed)
    (folder / "more").mkdir(parents=True, exist_ok=True)
    rows = []
    for index in range(count):
        side = int(rng.integers(2, 13))
        name = f"more/{index:04d}.png" if index % 3 == 0 else f"{index:04d}.png"
        Image.fromarray(square(rng, side), mode="L").save(folder / name)
        rows.append((name, side * SCALE))
    labels = pd.DataFrame(rows, columns=["file", target])
    labels.to_csv(folder / "labels.csv", index=False)
    return folder, labels
