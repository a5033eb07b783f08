"""Which encoding a text file is written in: UTF-8 (with or without BOM), UTF-16, or a code page.

CSV files (`tasks.data.csvfile`) and text files (`tasks.data.textfiles`) are decoded through
here, at training time (ingest) and at serving time (`trainflow predict`) alike, so a file
written on Windows in Windows-1252 reads as the same words on both sides.
"""

from __future__ import annotations

from pathlib import Path

from tasks.common.errors import DataValidationError

BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
CODE_PAGES = (  # what spreadsheets and editors write text in when not UTF-8 (Windows, East Asian)
    *(f"cp{n}" for n in range(1250, 1259)),
    *("cp932", "cp936", "gb18030", "cp949", "cp950", "utf_16"),
)


def encoding_of(path: Path, sample: bytes, expected: str) -> str:
    """UTF-8 (with or without BOM) when the bytes decode so, else charset-normalizer's guess
    among the code pages spreadsheets export in (Windows-1252 when it fits as well as any).

    Telling one single-byte code page from another is a guess from letter statistics; the
    callers say which one was used, and UTF-8 files need no guess.

    Args:
        path: the file, for the message.
        sample: its first bytes (a line cut by the sample's end does not count).
        expected: what the file should have been, for the message.

    Raises:
        DataValidationError: the bytes are text in none of these encodings.
    """
    for bom, name in BOMS:
        if sample.startswith(bom):
            return name
    try:
        sample[: sample.rfind(b"\n") + 1 or len(sample)].decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = list(from_bytes(sample, cp_isolation=list(CODE_PAGES)))
    if not matches:
        raise DataValidationError(
            f"{path}: does not look like a text file (first bytes {sample[:24]!r}); "
            f"expected {expected}"
        )
    least = min(match.percent_chaos for match in matches)
    calm = [match.encoding for match in matches if match.percent_chaos <= least]
    return "cp1252" if "cp1252" in calm else calm[0]


def best_encoding(data: bytes) -> str | None:
    """charset-normalizer's encoding for all of `data`, among CODE_PAGES (None: not text)."""
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=list(CODE_PAGES)).best()
    return None if best is None else best.encoding
