"""How a CSV file is written (encoding, separator, decimal mark), found from its first lines.

Ingest (training) and `trainflow predict` (serving) both read CSV through `read_csv`, so a file
is parsed the same way on both sides. A European export (`;` between columns, `1,5` for one and
a half, Windows-1252 text) reads as numbers in named columns, not as one column called
`id;price;name`. When the layout cannot be told, the error says what the file looks like.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tasks.common.errors import DataValidationError
from tasks.data.encoding import best_encoding, encoding_of

SAMPLE_BYTES = 1 << 20
SAMPLE_LINES = 200
SEPARATORS = (",", ";", "\t", "|")
NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}
CSV = "a CSV file (text, one row per line) or Parquet"
CONSISTENT = 0.9  # share of sampled rows that must have the header's number of fields
DECIMAL_COMMA = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d*),\d+$")
DECIMAL_POINT = re.compile(r"^[+-]?\d*\.\d+$")
GROUPED_POINT = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$")


@dataclass(frozen=True)
class Dialect:
    """What `pandas.read_csv` needs to know about a file."""

    encoding: str
    separator: str
    decimal: str = "."
    thousands: str | None = None

    def describe(self) -> str:
        text = f"separator {NAMES[self.separator]}, decimal mark '{self.decimal}'"
        if self.thousands:
            text += f", thousands '{self.thousands}'"
        return f"{text}, encoding {self.encoding}"


def sample_rows(path: Path, encoding: str) -> list[str]:
    """The first complete lines of the file (a line cut by the sample's end is dropped)."""
    with open(path, encoding=encoding, errors="replace", newline="") as text:
        chunk = text.read(SAMPLE_BYTES)
    lines = chunk.splitlines(keepends=True)
    if len(chunk) == SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]
    return [line for line in lines[:SAMPLE_LINES] if line.strip()]


def field_counts(lines: list[str], separator: str) -> list[int]:
    return [len(row) for row in csv.reader(lines, delimiter=separator)]


def separator_of(path: Path, lines: list[str]) -> str:
    """The separator that splits the header and (nearly) every row into the same fields."""
    scores = {}
    for separator in SEPARATORS:
        counts = field_counts(lines, separator)
        rows = counts[1:] or counts
        share = sum(n == counts[0] for n in rows) / len(rows)
        if counts[0] > 1 and share >= CONSISTENT:
            scores[separator] = (share, counts[0])
    if scores:
        return max(scores, key=lambda s: scores[s])
    if not any(s in lines[0] for s in SEPARATORS):
        return ","  # a single column
    raise DataValidationError(f"{path}: cannot tell how the columns are separated: {looks(lines)}")


def looks(lines: list[str]) -> str:
    """What a file looks like, for a message: its first line and the fields per separator."""
    seen = []
    for separator in SEPARATORS:
        counts = field_counts(lines[:20], separator)
        if max(counts) > 1:
            seen.append(f"{NAMES[separator]} gives {min(counts)}-{max(counts)} fields per line")
    found = "; ".join(seen) or f"none of {', '.join(NAMES.values())} appears"
    return (
        f"the first line is {lines[0].strip()[:120]!r} ({found}). Save it with one header "
        "line and the same number of fields on every line, or as Parquet"
    )


def decimal_of(lines: list[str], separator: str) -> tuple[str, str | None]:
    """Decimal comma (and '.' grouping thousands) when the numbers are written that way."""
    if separator == ",":
        return ".", None
    fields = [f.strip() for row in csv.reader(lines[1:], delimiter=separator) for f in row]
    comma = any(DECIMAL_COMMA.match(f) for f in fields)
    point = any(DECIMAL_POINT.match(f) and not GROUPED_POINT.match(f) for f in fields)
    if not comma or point:
        return ".", None
    return ",", "." if any(GROUPED_POINT.match(f) for f in fields) else None


def sniff(path: str | os.PathLike[str]) -> Dialect:
    """The dialect of a CSV file, from its first megabyte.

    Raises:
        DataValidationError: the file is empty, not text, or its separator cannot be told.
    """
    path = Path(path)
    with open(path, "rb") as raw:
        sample = raw.read(SAMPLE_BYTES)
    if not sample.strip():
        raise DataValidationError(f"{path} is empty (no header, no rows)")
    encoding = encoding_of(path, sample, CSV)
    lines = sample_rows(path, encoding)
    separator = separator_of(path, lines)
    return Dialect(encoding, separator, *decimal_of(lines, separator))


def _read(path: str | os.PathLike[str], dialect: Dialect, chunksize: int | None = None):
    return pd.read_csv(
        path,
        sep=dialect.separator,
        decimal=dialect.decimal,
        thousands=dialect.thousands,
        encoding=dialect.encoding,
        chunksize=chunksize,
    )


def unreadable(
    path: str | os.PathLike[str], dialect: Dialect, err: Exception
) -> DataValidationError:
    """The error for a CSV file pandas cannot parse or decode: the file, dialect and cause."""
    reason = str(err).strip().splitlines()[-1]
    return DataValidationError(f"{path}: cannot be read as CSV ({dialect.describe()}): {reason}")


def read_csv_chunks(path: str | os.PathLike[str], rows: int) -> Iterator[pd.DataFrame]:
    """A CSV file `rows` at a time, in the dialect `sniff` finds; parse errors name the file.

    Each chunk's column types are inferred from its own rows, and a model's inputs are cast
    by the model's signature (`tasks.model.inputs.table_inputs`), so the values it sees are
    those of a whole read.
    """
    dialect = sniff(path)
    try:
        with _read(path, dialect, chunksize=rows) as chunks:
            yield from chunks
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise unreadable(path, dialect, err) from None


def read_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A CSV file as a frame, in the dialect `sniff` finds (described in
    `frame.attrs["csv_dialect"]`); parse errors name the file.

    Text that is UTF-8 in the first megabyte but not after it is read again in the encoding
    charset-normalizer finds for the whole file.
    """
    dialect = sniff(path)
    try:
        try:
            frame = _read(path, dialect)
        except UnicodeDecodeError:
            best = best_encoding(Path(path).read_bytes())
            if best is None or not dialect.encoding.startswith("utf-8"):
                raise
            dialect = Dialect(best, dialect.separator, dialect.decimal, dialect.thousands)
            frame = _read(path, dialect)
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise unreadable(path, dialect, err) from None
    frame.attrs["csv_dialect"] = dialect.describe()
    return frame
