"""The raw data layout: what the ingest stage writes and every later reader expects.

Raw data (the ingest stage's output) has one of two layouts:

- images: `<raw>/images/<class>/<file>` (the `image_dataset_from_directory` layout), or, from
  a folder with a labels table (`data.labels`, `tasks.data.labels`), `<raw>/images/<file>` (each
  file at its path under `data.source`) and `<raw>/labels.parquet` (`path`, `label`: each
  image's path under `<raw>/images` and its target, in a stable order);
- tables: `<raw>/table/part-NNNNN.parquet`, one part per source file, and
  `<raw>/table/sources.json` naming each part's file and its rows (what row ids refer to).

A source folder of text files per class (the `text_dataset_from_directory` layout) is
ingested as a table of one text column and the class (`tasks.data.textfiles`); its
sources.json names every file, each one row (`"whole": true`), so a row is named by its file.
A folder of text files with a labels table is ingested alike, its target from the table.
Raw data from a labels table also holds `<raw>/labels.json`: what joining the table with the
folder found (labels of missing files, files without a label, files labelled twice), which
validate reports.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from tasks.common.errors import DataValidationError

if TYPE_CHECKING:  # pandas loads where a table is read: copying photos never pays for it
    import pandas as pd

Kind = Literal["image", "table"]
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"})
TABLE_SUFFIXES = frozenset({".csv", ".parquet", ".pq"})
TEXT_SUFFIXES = frozenset({".txt", ".text"})
SOURCES = "table/sources.json"  # the source file of each part, in part order


def raw_kind(raw: str | os.PathLike[str]) -> Kind:
    """Which layout the ingested data has."""
    return "image" if (Path(raw) / "images").is_dir() else "table"


def read_table_file(path: str | os.PathLike[str]) -> pd.DataFrame:
    """One CSV or Parquet file. Training (ingest) and serving (`trainflow predict`) both read
    through here, so a CSV's dialect is detected the same way on both sides."""
    import pandas as pd

    path = Path(path)
    if path.suffix.lower() == ".csv":
        from tasks.data.csvfile import read_csv

        return read_csv(path)
    import pyarrow as pa

    try:
        return pd.read_parquet(path)
    except pa.ArrowException as err:
        raise DataValidationError(f"{path}: not a readable Parquet file ({err})") from None


def table_chunks(path: str | os.PathLike[str], rows: int) -> Iterator[pd.DataFrame]:
    """A CSV or Parquet file `rows` at a time (about: Parquet keeps its row groups' sizes),
    read as `read_table_file` reads it whole.

    Parquet is read without pyarrow's pre-buffering, which keeps every row group read so far
    until the file is closed: memory would grow with the file (170 MB more on 20 million rows).
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        from tasks.data.csvfile import read_csv_chunks

        yield from read_csv_chunks(path, rows)
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=rows):
            yield batch.to_pandas()
    except pa.ArrowException as err:
        raise DataValidationError(f"{path}: not a readable Parquet file ({err})") from None


def table_parts(raw: str | os.PathLike[str]) -> list[Path]:
    return sorted((Path(raw) / "table").glob("part-*.parquet"))


def table_sources(raw: str | os.PathLike[str]) -> list[dict]:
    """`{"file", "rows"}` per part, in order: the source file each part was read from (raw
    data ingested before ingest recorded them: the part files themselves)."""
    recorded = Path(raw) / SOURCES
    if recorded.exists():
        return json.loads(recorded.read_text())
    import pyarrow.parquet as pq

    return [
        {"file": part.name, "rows": pq.ParquetFile(part).metadata.num_rows}
        for part in table_parts(raw)
    ]


def read_raw_table(raw: str | os.PathLike[str]) -> pd.DataFrame:
    import pandas as pd

    parts = [pd.read_parquet(part) for part in table_parts(raw)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def hidden(path: Path, root: Path) -> bool:
    """A file or folder under `root` whose name (or a parent's) starts with a dot.

    That covers `.DS_Store`, macOS's `._IMG_0001.jpg` resource forks (they end in .jpg but
    are not images) and folders such as `.ipynb_checkpoints`, which must not become classes.
    """
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def class_files(folder: str | os.PathLike[str], suffixes: frozenset[str]) -> list[Path]:
    """Every file under `folder` (any depth) whose extension, in any case, is one of
    `suffixes`, hidden ones left out, in a stable order."""
    folder = Path(folder)
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in suffixes and path.is_file() and not hidden(path, folder)
    )


def image_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Every image file under `folder`, hidden ones left out, in a stable order."""
    return class_files(folder, IMAGE_SUFFIXES)


def text_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Every text file (.txt) under `folder`, hidden ones left out, in a stable order."""
    return class_files(folder, TEXT_SUFFIXES)


def per_class(root: Path, files: Callable[[Path], list[Path]]) -> list[tuple[Path, str]]:
    """`files(folder)` of every class folder under `root`, as (path, class)."""
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not hidden(p, root))
    return [(path, folder.name) for folder in classes for path in files(folder)]


def list_images(root: str | os.PathLike[str]) -> list[tuple[Path, str]]:
    """Every image under `root/<class>/`, as (path, class), in a stable order."""
    return per_class(Path(root), image_files)


def list_texts(root: str | os.PathLike[str]) -> list[tuple[Path, str]]:
    """Every text file under `root/<class>/`, as (path, class), in a stable order."""
    return per_class(Path(root), text_files)


def file_names(sources: list[dict]) -> list[str] | None:
    """The file of each row when every source file is one row (a folder of text files),
    else None (rows of tables are named `file:row`)."""
    if sources and all(source.get("whole") for source in sources):
        return [source["file"] for source in sources]
    return None
