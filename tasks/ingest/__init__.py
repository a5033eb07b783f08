"""Ingest stage: copy the configured source into data/raw, byte for byte deterministically.

The stage is `always_changed` in dvc.yaml because `data.source` may be a builtin name rather
than a path DVC could hash. Identical source data produces identical bytes, so DVC skips every
stage after this one when nothing changed, and reruns them when the data did.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from tasks.common.errors import DataValidationError, ParamsError, stage_entry
from tasks.common.io import atomic_dir, write_json
from tasks.common.params import DataParams, Params, load_params
from tasks.data.layout import SOURCES, TABLE_SUFFIXES, list_images, list_texts, read_table_file

if TYPE_CHECKING:  # NumPy and pandas load for tables: an ingest of photos (every run) skips them
    import numpy as np
    import pandas as pd

BUILTINS = ("sklearn:digits", "sklearn:breast_cancer", "sklearn:diabetes")


def digits_png(pixels: np.ndarray) -> bytes:
    """Encode one 8x8 digit (values 0..16) as an 8-bit grayscale PNG."""
    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    scaled = np.round(pixels * (255 / 16)).astype(np.uint8)
    Image.fromarray(scaled, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def write_digits(out: Path) -> int:
    from sklearn.datasets import load_digits

    digits = load_digits()
    for index, (pixels, label) in enumerate(zip(digits.images, digits.target, strict=True)):
        folder = out / "images" / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{index:05d}.png").write_bytes(digits_png(pixels))
    return len(digits.target)


def breast_cancer_frame(target: str) -> pd.DataFrame:
    import pandas as pd
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.drop(columns="target")
    frame[target] = pd.Categorical.from_codes(bunch.target, bunch.target_names).astype(str)
    return frame


def diabetes_frame(target: str) -> pd.DataFrame:
    """scikit-learn's bundled diabetes table in its original units (age in years, sex 1 or 2,
    ...), the disease progression a year later as `target`: a number to predict."""
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes(as_frame=True, scaled=False)
    return bunch.data.assign(**{target: bunch.target})


def table_files(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    return sorted(p for p in source.rglob("*") if p.suffix.lower() in TABLE_SUFFIXES)


def write_table(frames: list[pd.DataFrame], out: Path, names: list[str]) -> int:
    """One part per source file, and which file each part came from (the rows' ids)."""
    from tasks.data.tables import write_part

    (out / "table").mkdir(parents=True)
    for index, frame in enumerate(frames):
        write_part(frame, out / "table" / f"part-{index:05d}.parquet")
    sources = [{"file": name, "rows": len(f)} for name, f in zip(names, frames, strict=True)]
    write_json(out / SOURCES, sources)
    return sum(len(frame) for frame in frames)


def write_texts(
    files: list[tuple[Path, object]], source: Path, out: Path, target: str, targets=None
) -> int:
    """A folder of text files as a one-part table, each file a source of one row; `targets`
    (a labels table's, in the files' order) replace the class folder names, keeping their
    type (numbers stay numbers)."""
    from tasks.data.tables import write_part
    from tasks.data.textfiles import describe, read_folder

    found = read_folder(files, source, target)
    if targets is not None:
        found.frame[target] = targets.reset_index(drop=True)
    (out / "table").mkdir(parents=True)
    write_part(found.frame, out / "table" / "part-00000.parquet")
    write_json(out / SOURCES, [{"file": name, "rows": 1, "whole": True} for name in found.names])
    print(f"ingest: {source}: {describe(found)}")
    return len(found.names)


def source_name(path: Path, source: Path) -> str:
    """How a row's id names its file: relative to the source folder, or the file's name."""
    return path.name if source.is_file() else path.relative_to(source).as_posix()


def read_tables(files: list[Path]) -> list[pd.DataFrame]:
    """Every source file as a frame; a CSV written other than plain UTF-8 with ',' and '.'
    says how it was read."""
    from tasks.data.csvfile import Dialect

    plain, frames = Dialect("utf-8", ",").describe(), []
    for path in files:
        try:
            frame = read_table_file(path)
        except DataValidationError as err:
            raise DataValidationError(f"data.source: {err}") from None
        dialect = frame.attrs.pop("csv_dialect", None)
        if dialect and dialect != plain:
            print(f"ingest: {path}: read with {dialect}")
        frames.append(frame)
    return frames


def copy_images(source: Path, out: Path) -> int:
    images = list_images(source)
    for path, label in images:
        target = out / "images" / label / path.relative_to(source / label)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return len(images)


def ingest(data: DataParams, out: Path) -> int:
    """Write the source into `out` in the raw layout; return the number of samples."""
    if data.labels is not None:
        from tasks.ingest.labelled import ingest_labelled

        return ingest_labelled(data, out)
    if data.source == "sklearn:digits":
        return write_digits(out)
    if data.source == "sklearn:breast_cancer":
        return write_table([breast_cancer_frame(data.target)], out, [data.source])
    if data.source == "sklearn:diabetes":
        return write_table([diabetes_frame(data.target)], out, [data.source])
    if data.source.startswith("sklearn:"):
        raise ParamsError(f"data.source: unknown builtin {data.source!r}; one of {BUILTINS}")
    source = Path(data.source)
    if not source.exists():
        raise ParamsError(f"data.source: {source} does not exist")
    files = table_files(source)
    if files:
        names = [source_name(path, source) for path in files]
        return write_table(read_tables(files), out, names)
    if source.is_dir() and list_images(source):
        return copy_images(source, out)
    if source.is_dir() and (texts := list_texts(source)):
        return write_texts(texts, source, out, data.target)
    raise ParamsError(
        f"data.source: {source} holds no CSV/Parquet files and no class folders of images "
        "or of text files (.txt)"
    )


def run(params: Params) -> int:
    with atomic_dir(params.paths.raw) as out:
        count = ingest(params.data, out)
    print(f"ingest: {count} samples from {params.data.source} -> {params.paths.raw}")
    return count


@stage_entry("ingest")
def main() -> None:
    run(load_params())
