"""The raw image layout: which files are images of which class."""

from __future__ import annotations

import numpy as np

from tasks.data.layout import image_files, list_images, table_chunks
from tasks.data.manifest import manifest
from tests.photos import junk, save, texture


def test_images_in_any_case_are_listed_and_hidden_files_and_folders_are_not(tmp_path):
    rng = np.random.default_rng(0)
    for label, kind in (("cat", "JPG"), ("dog", "webp")):
        (tmp_path / label / "nested").mkdir(parents=True)
        save(texture("dots", rng, 40, 40), tmp_path / label, "a", kind)
        save(texture("dots", rng, 40, 40), tmp_path / label / "nested", "b", "png")
        (tmp_path / label / "notes.txt").write_text("not an image")
    junk(tmp_path)  # .DS_Store, ._000.jpg resource forks, .ipynb_checkpoints/x.png
    found = [
        (path.relative_to(tmp_path).as_posix(), label) for path, label in list_images(tmp_path)
    ]
    assert found == [
        ("cat/a.JPG", "cat"),
        ("cat/nested/b.png", "cat"),
        ("dog/a.webp", "dog"),
        ("dog/nested/b.png", "dog"),
    ]
    assert [p.name for p in image_files(tmp_path / "cat")] == ["a.JPG", "b.png"]


def test_the_manifest_names_an_undecodable_file_and_reads_the_others(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "cat").mkdir()
    save(texture("dots", rng, 40, 30), tmp_path / "cat", "upright", "exif")
    (tmp_path / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    rows = manifest(tmp_path).set_index("path")
    assert not rows.loc["cat/broken.png", "decodable"]
    assert rows.loc["cat/upright.jpeg", "decodable"]
    assert (rows.loc["cat/upright.jpeg", "height"], rows.loc["cat/upright.jpeg", "width"]) == (
        40,
        30,
    )


def test_large_photos_are_surveyed_at_a_reduced_scale_but_read_to_the_end(tmp_path):
    from PIL import Image

    (tmp_path / "cat").mkdir()
    pixels = texture("stripes", np.random.default_rng(1), 1200, 1600)
    save(pixels, tmp_path / "cat", "big", "exif")  # stored 1600 high, shown 1200 high
    whole = (tmp_path / "cat" / "big.jpeg").read_bytes()
    (tmp_path / "cat" / "cut.jpeg").write_bytes(whole[: len(whole) * 2 // 3])
    rows = manifest(tmp_path).set_index("path")
    assert rows.loc["cat/big.jpeg", "decodable"] and not rows.loc["cat/cut.jpeg", "decodable"]
    assert (rows.loc["cat/big.jpeg", "height"], rows.loc["cat/big.jpeg", "width"]) == (1200, 1600)
    with Image.open(tmp_path / "cat" / "big.jpeg") as image:
        full = float(np.asarray(image.convert("L")).mean())
    assert abs(rows.loc["cat/big.jpeg", "intensity"] - full) < 1.0


def test_a_parquet_table_is_read_in_chunks_in_memory_that_stays_flat(tmp_path):
    """A table scored a chunk at a time (`trainflow predict`) holds a few row groups, not
    every one read so far: pyarrow's pre-buffering would keep the whole file by the end."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    groups, rows, columns = 40, 25_000, 8
    values = np.arange(groups * rows, dtype="float64")
    table = pa.table({f"x{i}": values + i for i in range(columns)})
    pq.write_table(table, tmp_path / "big.parquet", row_group_size=rows)
    group_bytes = rows * columns * 8  # 1.5 MiB
    del table
    held, firsts = [], []
    for chunk in table_chunks(tmp_path / "big.parquet", rows):
        held.append(pa.total_allocated_bytes())
        firsts.append(float(chunk["x0"].iloc[0]))
        del chunk
    assert firsts == [float(group * rows) for group in range(groups)]
    early, late = max(held[:5]), max(held[-5:])
    assert late <= early + group_bytes, f"{early / 2**20:.0f} MiB -> {late / 2**20:.0f} MiB"
