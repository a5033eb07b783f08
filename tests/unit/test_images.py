"""Decoding photos as they come, and the one resize training and serving share."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tasks.common.errors import DataValidationError
from tasks.data.images import load_image, load_images, open_photo
from tests.photos import save, texture

RED, BLUE = (255, 0, 0), (0, 0, 255)


def halves(height: int = 60, width: int = 40) -> np.ndarray:
    """Red above, blue below: which way is up is visible in every format."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[: height // 2] = RED
    pixels[height // 2 :] = BLUE
    return pixels


@pytest.mark.parametrize("kind", ["jpg", "png", "webp", "bmp", "gif", "exif", "cmyk", "JPG"])
def test_every_format_decodes_upright_to_the_same_picture(tmp_path, kind):
    path = save(halves(), tmp_path, "photo", kind)
    pixels = load_image(path, (60, 40), 3, "stretch").astype(int)
    top, bottom = pixels[5:25, 5:35].mean((0, 1)), pixels[35:55, 5:35].mean((0, 1))
    np.testing.assert_allclose(top, RED, atol=40)
    np.testing.assert_allclose(bottom, BLUE, atol=40)


def test_exif_orientation_is_applied_before_the_resize(tmp_path):
    path = save(halves(60, 40), tmp_path, "sideways", "exif")
    with Image.open(path) as stored:
        assert stored.size == (60, 40)  # stored landscape, shown portrait
    assert open_photo(path).size == (40, 60)
    assert load_image(path, (30, 20), 3)[2, 10].tolist() == pytest.approx(RED, abs=40)


def test_grayscale_16_bit_and_alpha_become_the_requested_channels(tmp_path):
    gray = save(halves(), tmp_path, "gray", "gray")
    deep = save(halves(), tmp_path, "deep", "png16")
    assert load_image(gray, (60, 40), 3).shape == (60, 40, 3)
    as_gray = load_image(deep, (60, 40), 1)
    assert as_gray.shape == (60, 40, 1)
    assert 60 < as_gray[10, 20, 0] < 100  # red's luma (76), not clipped to 255 by 16 bits
    transparent = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    transparent.save(tmp_path / "clear.png")
    assert load_image(tmp_path / "clear.png", (20, 20), 3).min() == 255  # shown on white


def test_first_frame_of_an_animated_gif(tmp_path):
    path = save(halves(), tmp_path, "anim", "gif")
    with Image.open(path) as image:
        assert image.n_frames == 2
    assert load_image(path, (60, 40), 3)[10, 20].tolist() == pytest.approx(RED, abs=40)


def wide(tmp_path):
    """A 200x100 picture: red left quarter, green middle half, blue right quarter."""
    pixels = np.zeros((100, 200, 3), np.uint8)
    pixels[:, :50], pixels[:, 50:150], pixels[:, 150:] = RED, (0, 255, 0), BLUE
    Image.fromarray(pixels).save(tmp_path / "wide.png")
    return tmp_path / "wide.png"


def test_crop_keeps_the_centre_pad_keeps_everything_stretch_distorts(tmp_path):
    path = wide(tmp_path)
    crop = load_image(path, (50, 50), 3, "crop")
    assert (crop[:, :, 1] > 200).all()  # the square centre is all green
    pad = load_image(path, (50, 50), 3, "pad")
    assert pad[:10].max() == 0 and pad[-10:].max() == 0  # black bars above and below
    assert pad[25, 2].tolist() == list(RED) and pad[25, 47].tolist() == list(BLUE)
    stretch = load_image(path, (50, 50), 3, "stretch")
    assert stretch[25, 2].tolist() == list(RED) and stretch[:10].min() == 0


def test_large_jpegs_decode_at_a_reduced_scale_close_to_a_full_decode(tmp_path):
    pixels = texture("stripes", np.random.default_rng(0), 1200, 1600)
    Image.fromarray(pixels).save(tmp_path / "big.jpg", quality=95)
    with Image.open(tmp_path / "big.jpg") as image:
        image.load()
        full = np.asarray(image.resize((64, 48), Image.Resampling.BILINEAR)).astype(int)
    drafted = load_image(tmp_path / "big.jpg", (48, 64), 3, "stretch").astype(int)
    assert np.abs(drafted - full).mean() < 8  # one picture, not a different one


def test_load_images_decodes_in_order_in_threads_and_names_a_bad_file(tmp_path):
    rng = np.random.default_rng(1)
    paths = []
    for index in range(70):  # more than one chunk
        paths.append(save(texture("dots", rng, 30, 30), tmp_path, f"{index:02d}", "png"))
    decoded = list(load_images(paths, (16, 16), 3, threads=2))
    assert len(decoded) == 70
    for path, pixels in zip(paths[::23], decoded[::23], strict=True):
        np.testing.assert_array_equal(pixels, load_image(path, (16, 16), 3))
    broken = tmp_path / "broken.jpg"
    data = io.BytesIO()
    Image.fromarray(halves()).save(data, format="JPEG")
    broken.write_bytes(data.getvalue()[:200])  # truncated mid-scan
    with pytest.raises(DataValidationError, match=r"broken\.jpg: not a readable image"):
        list(load_images([paths[0], broken], (16, 16), 3))
