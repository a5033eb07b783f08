"""Decoding photos as they come, and the one resize that training and serving share.

A photo folder holds JPEG, PNG, WebP, BMP and GIF files of any size, some rotated by their EXIF
orientation, some grayscale, with transparency, 16-bit or CMYK. `open_photo` turns any of them
into upright pixels the same way everywhere: the manifest that validation checks (`survey`),
the prepare stage and `trainflow predict` all decode through it, so a file validation passed
is a file prepare can read, and serving sees the pixels training saw.

`load_image` then converts to `data.channels` and resizes to `data.image_size`, keeping the
aspect ratio by a centre crop (`crop`, the default) or by padding with black (`pad`), or not
keeping it (`stretch`, how models recorded before `data.resize` existed were fed). Large JPEGs
are decoded at a reduced scale (libjpeg's DCT scaling, `Image.draft`) when that still leaves at
least the pixels the resize needs: several times faster for phone photos, identical at training
and serving time. Pillow releases the GIL while it decodes and resizes, so `load_images` decodes
in threads, a bounded chunk at a time.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np
from PIL import Image, ImageOps

from tasks.common.errors import DataValidationError

Resize = Literal["crop", "pad", "stretch"]
# What a corrupt or truncated file raises from Pillow: the file is unreadable, not a bug.
UNREADABLE = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    struct.error,
    Image.DecompressionBombError,
)
BACKGROUND = (255, 255, 255)  # transparent pixels are shown on white, as a viewer shows them
ROTATED = {5, 6, 7, 8}  # EXIF orientations that swap width and height
ORIENTATION = 0x0112
CHUNK = 64  # images decoded together: bounds the pixels held while a chunk is written
SURVEY_SIDE = 256  # a manifest reads large JPEGs at a scale that keeps this short side


def workers() -> int:
    """Decoding threads: the cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _upright_size(image: Image.Image) -> tuple[int, int]:
    """(height, width) of the picture as shown, from the header (nothing decoded yet)."""
    width, height = image.size
    return (width, height) if image.getexif().get(ORIENTATION, 1) in ROTATED else (height, width)


def _draft(image: Image.Image, size: tuple[int, int], resize: Resize) -> None:
    """Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the resize keeps enough pixels."""
    if image.format != "JPEG":
        return
    turned = _upright_size(image) != (image.height, image.width)
    height, width = size[::-1] if turned else size
    scale = {"crop": max, "pad": min}.get(resize)
    if scale is None:
        needed = (width, height)
    else:
        factor = scale(width / image.width, height / image.height)
        needed = (math.ceil(image.width * factor), math.ceil(image.height * factor))
    image.draft(None, needed)


def _open(
    path: str | os.PathLike[str], size: tuple[int, int] | None, resize: Resize
) -> tuple[Image.Image, tuple[int, int]]:
    with Image.open(path) as image:
        shown = _upright_size(image)
        if size is not None:
            _draft(image, size, resize)
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
    return image, shown


def open_photo(
    path: str | os.PathLike[str],
    size: tuple[int, int] | None = None,
    resize: Resize = "crop",
) -> Image.Image:
    """The first frame of an image file, loaded and turned upright by its EXIF orientation.

    Args:
        path: the file; its extension does not matter, its content does.
        size: (height, width) the caller will resize to; a JPEG may then decode smaller.
        resize: how the caller will resize (crop needs more pixels than pad).

    Raises:
        One of UNREADABLE when the file is not an image Pillow can decode.
    """
    return _open(path, size, resize)[0]


def survey(path: str | os.PathLike[str]) -> tuple[Image.Image, tuple[int, int]]:
    """The upright picture, a large JPEG at reduced scale (at least SURVEY_SIDE pixels on
    the short side), and the (height, width) of the full picture.

    What a manifest needs (decodable, size, intensity, a pixel hash) at a fraction of the
    cost: a 12-megapixel photo decodes several times faster, and every byte of it is still
    read, so a truncated or corrupt file is found all the same.
    """
    return _open(path, (SURVEY_SIDE, SURVEY_SIDE), "crop")


def to_channels(image: Image.Image, channels: int) -> Image.Image:
    """8-bit grayscale (1) or RGB (3) from any mode: 16-bit scaled, alpha over white, CMYK."""
    if image.mode.startswith("I;16"):
        image = Image.fromarray((np.asarray(image, dtype=np.uint16) >> 8).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, BACKGROUND)
        image.paste(rgba, mask=rgba.getchannel("A"))
    return image.convert("L" if channels == 1 else "RGB")


def fit_size(image: Image.Image, size: tuple[int, int], resize: Resize) -> Image.Image:
    """Resize to (height, width): centre crop, pad with black, or stretch."""
    target = (size[1], size[0])
    if image.size == target:
        return image
    method = Image.Resampling.BILINEAR
    if resize == "crop":
        return ImageOps.fit(image, target, method)
    if resize == "pad":
        return ImageOps.pad(image, target, method, color=0)
    return image.resize(target, method)


def load_image(
    path: str | os.PathLike[str], size: tuple[int, int], channels: int, resize: Resize = "crop"
) -> np.ndarray:
    """Decode one image file to uint8 pixels of shape (height, width, channels).

    The single decode + resize used by `prepare` and by `trainflow predict`, so training and
    serving see identical pixels; everything after this (augmentation, rescaling, a backbone's
    own preprocessing) lives inside the model.
    """
    image = fit_size(to_channels(open_photo(path, size, resize), channels), size, resize)
    return np.asarray(image, dtype=np.uint8).reshape(size[0], size[1], channels)


def load_images(
    paths: Iterable[str | os.PathLike[str]],
    size: tuple[int, int],
    channels: int,
    resize: Resize = "crop",
    threads: int | None = None,
) -> Iterator[np.ndarray]:
    """`load_image` of every path, in order, decoded by a pool of threads.

    Paths are taken CHUNK at a time, so however many there are, only about one chunk of
    decoded pixels waits for the consumer.

    Raises:
        DataValidationError naming the first file that is not a readable image.
    """

    def load(path: str | os.PathLike[str]) -> np.ndarray:
        try:
            return load_image(path, size, channels, resize)
        except UNREADABLE as err:
            raise DataValidationError(f"{path}: not a readable image ({err})") from None

    pending = iter(paths)
    with ThreadPoolExecutor(threads or workers()) as pool:
        while chunk := [path for _, path in zip(range(CHUNK), pending, strict=False)]:
            yield from pool.map(load, chunk)
