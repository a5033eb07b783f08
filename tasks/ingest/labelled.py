"""Ingest of a folder of images or text files with a labels table (`data.labels`).

Images are copied to `<raw>/images/<path>` with `<raw>/labels.parquet` naming each one's target;
text files become the table a folder of text files becomes, its target from the labels table.
Both keep what the join found in `<raw>/labels.json`, for validate (`tasks.data.labels`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tasks.common.errors import ParamsError
from tasks.common.params import DataParams
from tasks.data.labels import describe, labelled_files, write_findings, write_image_labels
from tasks.data.layout import image_files, text_files


def copy_labelled_images(data: DataParams, files: list[Path], out: Path) -> int:
    labelled = labelled_files(data, files)
    (out / "images").mkdir(parents=True)
    for path, name in zip(labelled.paths, labelled.names, strict=True):
        target = out / "images" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    write_image_labels(labelled, out)
    write_findings(labelled.findings, out)
    print(f"ingest: {data.source}: {describe(labelled.findings)}")
    return len(labelled.paths)


def write_labelled_texts(data: DataParams, files: list[Path], out: Path) -> int:
    from tasks.ingest import write_texts

    labelled = labelled_files(data, files)
    found = [(path, "") for path in labelled.paths]
    source = Path(data.source)
    count = write_texts(found, source, out, data.target, labelled.targets)
    write_findings(labelled.findings, out)
    print(f"ingest: {data.source}: {describe(labelled.findings)}")
    return count


def ingest_labelled(data: DataParams, out: Path) -> int:
    """The `data.source` folder's images (or else text files) and their labels into `out`.

    Raises:
        ParamsError: `data.source` is not a folder of images or text files, or the labels
            table is missing or lacks a column (`tasks.data.labels.read_labels`).
    """
    source = Path(data.source)
    if not source.is_dir():
        raise ParamsError(
            f"data.source: {source} is not a folder; with data.labels it must be the folder "
            "of the files the labels table names"
        )
    if images := image_files(source):
        return copy_labelled_images(data, images, out)
    if texts := text_files(source):
        return write_labelled_texts(data, texts, out)
    raise ParamsError(
        f"data.source: {source} holds no images and no text files (.txt) for the labels in "
        f"{data.labels} (data.labels)"
    )
