"""A folder of text files per class: `<source>/<class>/*.txt`, read as a table of free text.

The layout of Keras's `text_dataset_from_directory`: each file is one sample, its class folder
its label. Ingest reads the folder into the raw table, one row per file: the file's text in the
column `text` and its class in `data.target`. So validate, prepare, train, evaluate and serving
treat it as what it is, a table whose only feature is free text, and name each row by its file.

Each file is decoded as a CSV is (`tasks.data.encoding`): UTF-8, UTF-16 with a BOM, or the code
page charset-normalizer finds (Windows-1252 from an old editor). A file that is text in none of
them (an image renamed .txt, a binary with NUL bytes) becomes a row without text, which
validate names by its path, as it names an image it cannot decode; an empty file becomes a
row of empty text, which validate names too. `trainflow predict` reads files through the same
`read_text`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tasks.common.errors import DataValidationError, ParamsError
from tasks.data.encoding import best_encoding, encoding_of

TEXT = "text"  # the raw table's column of the files' text
SAMPLE_BYTES = 1 << 20  # bytes the encoding is told from (the whole file is then decoded)
EXPECTED = "a text file (.txt)"


def decode(path: Path, data: bytes) -> tuple[str, str]:
    """The text of a file's bytes and the encoding it was read in.

    Raises:
        DataValidationError: the bytes are not text in any encoding tried.
    """
    encoding = encoding_of(path, data[:SAMPLE_BYTES], EXPECTED)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:  # UTF-8 in its first megabyte, not after
        encoding = best_encoding(data) or encoding
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as err:
            raise DataValidationError(f"{path}: not text in any encoding tried ({err})") from None
    if "\x00" in text:
        raise DataValidationError(f"{path}: holds NUL bytes, not text; expected {EXPECTED}")
    return text, encoding


def read_text(path: Path) -> tuple[str, str]:
    """The text of one file (empty for an empty file) and its encoding.

    Raises:
        DataValidationError: the file is not text.
    """
    data = path.read_bytes()
    return decode(path, data) if data else ("", "utf-8")


@dataclass
class TextFolder:
    """The raw table of a folder of text files, each file's name, and how they were read."""

    frame: pd.DataFrame
    names: list[str]
    encodings: Counter = field(default_factory=Counter)
    not_text: list[str] = field(default_factory=list)


def read_folder(files: list[tuple[Path, str]], source: Path, target: str) -> TextFolder:
    """One row per (file, class): its text (None when it is not text) and its class.

    Raises:
        ParamsError: `data.target` is the text column's own name.
    """
    if target == TEXT:
        raise ParamsError(
            f"data.target: '{TEXT}' is the column of a text folder's texts; name the class "
            "column otherwise (the default, label)"
        )
    texts, encodings, not_text = [], Counter(), []
    names = [path.relative_to(source).as_posix() for path, _ in files]
    for (path, _), name in zip(files, names, strict=True):
        try:
            text, encoding = read_text(path)
        except DataValidationError:
            text, encoding = None, None
            not_text.append(name)
        texts.append(text)
        encodings[encoding] += 1
    frame = pd.DataFrame({TEXT: texts, target: [label for _, label in files]}, dtype="string")
    return TextFolder(frame, names, encodings, not_text)


def describe(found: TextFolder) -> str:
    """`120 files: 118 utf-8, 2 cp1252; 1 not text (bad.txt)`: what ingest prints."""
    read = ", ".join(f"{n} {e}" for e, n in found.encodings.most_common() if e)
    line = f"{len(found.names)} files: {read or 'none read'}"
    if found.not_text:
        line += f"; {len(found.not_text)} not text (validate names them)"
    return line
