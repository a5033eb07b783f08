"""`trainflow watch`: a cheap look at the data source; `trainflow.data.arrived` when it changed.

A check reads no data: for a local file or folder it lists names, sizes and modification
times; for a URL (s3://, gs://, ...), what the storage's filesystem reports for each object
(its ETag or checksum, size, modification time), through the same fsspec filesystems DVC
uses. The last fingerprint seen is kept in `.dvc/tmp/`, so a restarted watcher still sees data
that arrived while it was down; the very first check only records one. The event starts
whatever reacts to it: the `on-new-data` deployment in prefect.yaml retrains, one run at a
time (docs/events.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from flows import events
from tasks.common.errors import ParamsError
from tasks.common.params import Params

STATE = Path(".dvc/tmp/trainflow-watch.json")
STAMPS = ("ETag", "etag", "md5", "checksum", "mtime", "LastModified", "last_modified", "updated")


@dataclass(frozen=True)
class Fingerprint:
    digest: str
    files: int
    bytes: int


def local_entries(path: Path) -> Iterator[tuple[str, int, int]]:
    """(name, size, mtime in ns) of every file under `path` (hidden ones left out)."""
    if path.is_file():
        stat = path.stat()
        yield path.name, stat.st_size, stat.st_mtime_ns
        return
    with os.scandir(path) as found:
        for entry in found:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=True):
                for name, size, mtime in local_entries(Path(entry.path)):
                    yield f"{entry.name}/{name}", size, mtime
            else:
                stat = entry.stat()
                yield entry.name, stat.st_size, stat.st_mtime_ns


def remote_entries(url: str) -> Iterator[tuple[str, int, str]]:
    """(name, size, stamp) of every object under `url`, as its filesystem lists them."""
    from fsspec.core import url_to_fs

    fs, root = url_to_fs(url)
    for name, info in sorted(fs.find(root, detail=True).items()):
        stamp = next((str(info[key]) for key in STAMPS if info.get(key) is not None), "")
        yield name, int(info.get("size") or 0), stamp


def fingerprint(source: str, repo: Path) -> Fingerprint:
    """What the source looks like now, without reading its contents."""
    if source.startswith("sklearn:"):
        raise ParamsError(f"data.source: {source} is bundled data, nothing arrives to watch")
    if "://" in source:
        entries = list(remote_entries(source))
    else:
        path = repo / source
        if not path.exists():
            raise ParamsError(f"data.source: {path} does not exist")
        entries = sorted(local_entries(path))
    digest = hashlib.sha256(json.dumps(entries).encode()).hexdigest()
    return Fingerprint(digest, len(entries), sum(size for _, size, _ in entries))


def last_seen(repo: Path, source: str) -> str | None:
    state = repo / STATE
    if not state.exists():
        return None
    seen = json.loads(state.read_text())
    return seen["digest"] if seen.get("source") == source else None


def remember(repo: Path, source: str, found: Fingerprint) -> None:
    state = repo / STATE
    state.parent.mkdir(parents=True, exist_ok=True)
    tmp = state.with_suffix(".tmp")
    tmp.write_text(json.dumps({"source": source, **asdict(found)}))
    os.replace(tmp, state)


def check(params: Params, repo: Path) -> Fingerprint | None:
    """One look: the new fingerprint if the source changed since the last look (and the event
    sent), else None."""
    source = params.data.source
    found, before = fingerprint(source, repo), last_seen(repo, source)
    if found.digest == before:
        return None
    remember(repo, source, found)
    if before is None:
        return None
    payload = {"source": source, "previous": before, **asdict(found)}
    summary = f"{source}: {found.files} file{'s' * (found.files != 1)}, {found.bytes} bytes"
    events.emit(events.DATA_ARRIVED, params, repo, payload | {"summary": summary})
    return found


def watch(params: Params, repo: Path, interval: float) -> None:
    """Look every `interval` seconds until stopped; one line per change."""
    source = params.data.source
    if last_seen(repo, source) is None:
        remember(repo, source, fingerprint(source, repo))
        print(f"trainflow: watching {source} from now (every {interval:g} s)", flush=True)
    else:
        print(f"trainflow: watching {source} (every {interval:g} s)", flush=True)
    while True:
        started = time.monotonic()
        try:
            if found := check(params, repo):
                print(f"trainflow: new data in {source} ({found.files} files): sent", flush=True)
        except (ParamsError, OSError) as err:  # e.g. the folder is being replaced: look again
            print(f"trainflow: cannot look at {source} now: {err}", file=sys.stderr, flush=True)
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
