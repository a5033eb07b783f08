"""A photo-like folder, generated: what a user's folder of everyday photos looks like to us.

Three classes of textures (stripes, dots, checks) in random colours, under uneven lighting and
sensor noise, at varied sizes and aspect ratios, written in every format a phone, a scanner or
the web produces: JPEG (also grayscale, CMYK and EXIF-rotated), PNG with transparency, 16-bit
PNG, WebP, BMP, animated GIF, extensions in upper case, plus the junk a copied folder carries
(`.DS_Store`, macOS `._` resource forks, hidden folders). Learnable at 32x32 in a few epochs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ("checks", "dots", "stripes")
FORMATS = ("jpg", "png", "webp", "bmp", "gif", "gray", "exif", "cmyk", "JPG", "png16")
ORIENTATION = 0x0112


def _colours(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    light = rng.uniform(150, 255, 3)
    return light, light * rng.uniform(0.1, 0.45)


def texture(kind: str, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """An RGB uint8 image of one class: the pattern scales with the image, as in a photo."""
    yy, xx = np.mgrid[0:height, 0:width].astype(float)
    light, dark = _colours(rng)
    period = min(height, width) / rng.uniform(3.5, 6)
    if kind == "stripes":
        angle = rng.uniform(0, np.pi)
        mask = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period) > 0
    elif kind == "checks":
        mask = ((xx // (period / 2)) + (yy // (period / 2))) % 2 == 0
    else:
        canvas = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(canvas)
        for _ in range(int(height * width / period**2 * 1.5)):
            cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), period * 0.22
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
        mask = np.asarray(canvas) > 0
    pixels = np.where(mask[..., None], light, dark)
    lighting = 0.75 + 0.25 * (xx / width * rng.uniform(-1, 1) + yy / height * rng.uniform(-1, 1))
    pixels = pixels * lighting[..., None] + rng.normal(0, 6, pixels.shape)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def save(pixels: np.ndarray, folder: Path, stem: str, kind: str) -> Path:
    """Write one image in the format `kind` (see FORMATS); the decoded, upright image is
    `pixels` (up to format losses)."""
    image = Image.fromarray(pixels)
    if kind == "png":  # a transparent frame around the picture
        alpha = np.full(pixels.shape[:2], 255, np.uint8)
        alpha[:3], alpha[-3:], alpha[:, :3], alpha[:, -3:] = 0, 0, 0, 0
        image.putalpha(Image.fromarray(alpha))
    if kind == "png16":
        gray = np.asarray(image.convert("L")).astype(np.uint16) * 257
        image, kind = Image.fromarray(gray), "png"
    if kind == "gif":  # animated: only the first frame counts
        other = Image.fromarray(255 - pixels)
        path = folder / f"{stem}.gif"
        image.save(path, save_all=True, append_images=[other], duration=100)
        return path
    if kind == "exif":  # stored sideways; orientation 6 tells viewers to turn it upright
        exif = Image.Exif()
        exif[ORIENTATION] = 6
        path = folder / f"{stem}.jpeg"
        image.transpose(Image.Transpose.ROTATE_90).save(path, exif=exif, quality=92)
        return path
    converted = {"gray": image.convert("L"), "cmyk": image.convert("CMYK")}.get(kind, image)
    suffix = {"gray": "jpg", "cmyk": "jpg"}.get(kind, kind)
    path = folder / f"{stem}.{suffix}"
    converted.save(path, **({"quality": 92} if suffix.lower() == "jpg" else {}))
    return path


def junk(root: Path) -> None:
    """What a folder copied from a Mac or a notebook also holds; none of it is an image."""
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / ".ipynb_checkpoints").mkdir(exist_ok=True)
    Image.new("RGB", (40, 40)).save(root / ".ipynb_checkpoints" / "x.png")
    for folder in (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
        (folder / "._000.jpg").write_bytes(b"\x00\x05\x16\x07 resource fork")


def photo_folder(
    root: Path, per_class: int | dict[str, int] = 60, seed: int = 0, sizes=(40, 160)
) -> Path:
    """`root/<class>/<n>.<ext>`: `per_class` photos of each class (or as many as the mapping
    says, for imbalanced classes), formats in rotation."""
    rng = np.random.default_rng(seed)
    counts = per_class if isinstance(per_class, dict) else dict.fromkeys(CLASSES, per_class)
    for label in CLASSES:
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(counts[label]):
            height, width = rng.integers(*sizes, 2)
            pixels = texture(label, rng, int(height), int(width))
            save(pixels, folder, f"{index:03d}", FORMATS[(index + len(label)) % len(FORMATS)])
    junk(root)
    return root
