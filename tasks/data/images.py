"""Decoding and resizing images: the one function training and serving share."""

from __future__ import annotations

import os

import numpy as np


def load_image(path: str | os.PathLike[str], size: tuple[int, int], channels: int) -> np.ndarray:
    """Decode and resize one image to uint8 (height, width, channels).

    The single resize used by `prepare` and by `trainflow predict`, so training and serving
    see identical pixels; everything after this (rescaling) lives inside the model.
    """
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("L" if channels == 1 else "RGB")
        if image.size != (size[1], size[0]):
            image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        pixels = np.asarray(image, dtype=np.uint8)
    return pixels.reshape(size[0], size[1], channels)
