"""Atomic file writes shared by every stage: a killed stage never leaves a half-written file."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write JSON to a temp file next to `path`, then rename: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)


def read_json(path: str | os.PathLike[str]) -> Any:
    return json.loads(Path(path).read_text())


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str], sweep: bool = True) -> Iterator[Path]:
    """Yield a fresh temp directory that replaces `path` only if the block succeeds.

    `sweep`: first delete what a killed run left beside `path` (`.<name>.*`); only for
    outputs in folders of ours, never beside a folder the user named.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*") if sweep else []:  # no `except` ran
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield tmp
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if err.filename is None:  # a failed write() names no file: name the output it was for
            raise OSError(err.errno, err.strerror, str(path)) from err
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)
