"""Labels from a file: a folder of images or text files and a labels table beside it.

The layout labelling tools and public datasets export: `data.source` is a folder of files (any
subfolders are part of each file's path), `data.labels` a CSV or Parquet table with one row per
file, its path relative to `data.source` in `data.labels_file_column` and its target in
`data.target` (a class, or a number: the only way to give images a numeric target).

Ingest joins the table with the folder (`join`) and writes what it found into the raw data
(`<raw>/labels.json`, `tasks.data.layout`): validate names each finding and decides. Labels of
files that are not in the folder and files labelled twice with different targets fail
validation; files without a label are left out and files labelled twice alike are kept once,
each with a warning. A row with an empty target stays, as a table row would: validate's check
of missing targets judges it.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

import pandas as pd

from tasks.common.errors import DataValidationError, ParamsError
from tasks.common.io import read_json, write_json
from tasks.common.params import DataParams
from tasks.data.layout import list_images, read_table_file

FINDINGS = "labels.json"  # <raw>/labels.json: what joining the labels table found
TABLE = "labels.parquet"  # <raw>/labels.parquet: path (under <raw>/images) and target per image
PATH = "path"
LABEL = "label"


@dataclass
class Findings:
    """What joining a labels table with its folder found, each list in the table's order."""

    labels: str  # the labels table, as data.labels names it
    column: str  # the column naming the files (data.labels_file_column)
    files: int = 0  # files in the folder
    labelled: int = 0  # files kept, each with one label
    missing: list[str] = field(default_factory=list)  # labelled, not in the folder
    unlabelled: list[str] = field(default_factory=list)  # in the folder, no label: left out
    repeated: list[str] = field(default_factory=list)  # labelled twice alike: kept once
    conflicting: list[str] = field(default_factory=list)  # labelled twice differently


@dataclass
class Labelled:
    """The files that have a label, in the folder's order, and what the join found."""

    paths: list[Path]
    names: list[str]  # each file relative to data.source, as the labels table names it
    targets: pd.Series
    findings: Findings


def file_name(value: object) -> str:
    """A labels table's file entry as a relative POSIX path (`./a\\b.png` is `a/b.png`)."""
    text = str(value).strip().replace("\\", "/")
    return PurePosixPath(text).as_posix().removeprefix("./")


def read_labels(data: DataParams) -> pd.DataFrame:
    """The labels table: its file column as relative paths, and its target column.

    Raises:
        ParamsError: the file does not exist, or lacks either column (naming the key).
    """
    path = Path(data.labels or "")
    if not path.is_file():
        raise ParamsError(f"data.labels: {path} does not exist")
    try:
        table = read_table_file(path)
    except DataValidationError as err:
        raise ParamsError(f"data.labels: {err}") from None
    for key, column in (("labels_file_column", data.labels_file_column), ("target", data.target)):
        if column not in table.columns:
            raise ParamsError(
                f"data.{key}: no column '{column}' in {path} (its columns: "
                f"{', '.join(map(str, table.columns))})"
            )
    files = table[data.labels_file_column]
    named = files.notna() & (files.astype(str).str.strip() != "")
    table = table.loc[named]
    return pd.DataFrame(
        {PATH: table[data.labels_file_column].map(file_name), LABEL: table[data.target]}
    ).reset_index(drop=True)


def join(table: pd.DataFrame, files: list[Path], source: Path, findings: Findings) -> Labelled:
    """The labelled files among `files` (under `source`), one target each, in their order.

    Args:
        table: `read_labels`'s table (path, label).
        files: the folder's files of the input kind (images, or text files).
        source: the folder the paths are relative to.
        findings: filled in with what the join found.
    """
    names = {path.relative_to(source).as_posix(): path for path in files}
    counts = table.groupby(PATH, sort=False)[LABEL].agg(["size", lambda v: v.nunique(False)])
    counts.columns = ["entries", "targets"]
    findings.files = len(names)
    findings.missing = [name for name in counts.index if name not in names]
    findings.conflicting = counts.index[counts["targets"] > 1].tolist()
    findings.repeated = counts.index[(counts["entries"] > 1) & (counts["targets"] == 1)].tolist()
    findings.unlabelled = [name for name in names if name not in counts.index]
    kept = table.drop_duplicates(PATH).set_index(PATH)[LABEL]
    chosen = [name for name in names if name in kept.index and name not in findings.conflicting]
    findings.labelled = len(chosen)
    targets = kept.loc[chosen].reset_index(drop=True)
    return Labelled([names[name] for name in chosen], chosen, targets, findings)


def labelled_files(data: DataParams, files: list[Path]) -> Labelled:
    """`files` of the `data.source` folder joined with the `data.labels` table."""
    findings = Findings(labels=str(data.labels), column=data.labels_file_column)
    return join(read_labels(data), files, Path(data.source), findings)


def write_findings(findings: Findings, raw: str | os.PathLike[str]) -> None:
    write_json(Path(raw) / FINDINGS, asdict(findings))


def read_findings(raw: str | os.PathLike[str]) -> Findings | None:
    """What ingest's join found, or None for data without a labels table."""
    path = Path(raw) / FINDINGS
    return Findings(**read_json(path)) if path.is_file() else None


def write_image_labels(labelled: Labelled, raw: Path) -> None:
    """`<raw>/labels.parquet`: each copied image's path under `<raw>/images` and target."""
    table = pd.DataFrame({PATH: labelled.names, LABEL: labelled.targets.to_numpy()})
    table.to_parquet(raw / TABLE, index=False)


def image_labels(images_root: str | os.PathLike[str]) -> list[tuple[Path, object]] | None:
    """(path, target) of every image a labels table names (`<raw>/labels.parquet`, beside the
    images folder), in its order; None for class folders."""
    root = Path(images_root)
    path = root.parent / TABLE
    if not path.is_file():
        return None
    table = pd.read_parquet(path)
    return [(root / name, label) for name, label in zip(table[PATH], table[LABEL], strict=True)]


def describe(findings: Findings) -> str:
    """`300 files, 298 labelled; 2 without a label (validate names them)`: what ingest prints."""
    line = f"{findings.files} files, {findings.labelled} labelled by {findings.labels}"
    found = {
        "labels of missing files": findings.missing,
        "files without a label": findings.unlabelled,
        "files labelled twice alike": findings.repeated,
        "files labelled twice differently": findings.conflicting,
    }
    notes = [f"{len(names)} {what}" for what, names in found.items() if names]
    return line + (f"; {', '.join(notes)} (validate names them)" if notes else "")


def raw_images(images_root: str | os.PathLike[str]) -> list[tuple[Path, object]]:
    """(path, target) of every raw image: from the labels table when there is one, else
    from the class folders (`tasks.data.layout.list_images`)."""
    labelled = image_labels(images_root)
    return list_images(images_root) if labelled is None else labelled
