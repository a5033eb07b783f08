"""Where the validate stage's time goes, phase by phase, and what runs beside what.

Importing Great Expectations costs seconds (more than reading a million rows), so it starts in
a background thread as the stage begins while the first batch is read; the stage's last line
says how long each phase took (`python -m bench.validate_scale` prints the same profile).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class Phases:
    """Wall seconds per named phase; a phase entered again adds up."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.started = time.perf_counter()

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def line(self) -> str:
        """`4.12 s (import great_expectations 2.71, read 0.40, ...)`."""
        total = time.perf_counter() - self.started
        parts = ", ".join(f"{name} {seconds:.2f}" for name, seconds in self.seconds.items())
        return f"{total:.2f} s ({parts})"


def import_in_background(importer: Callable[[], object]) -> threading.Thread:
    """Start an import (`importer`) in a thread; joining it (or importing it) waits for it."""
    thread = threading.Thread(target=importer, daemon=True)
    thread.start()
    return thread


def prefetched(items: Iterable[T], phases: Phases, name: str = "read") -> Iterator[T]:
    """`items`, the next one produced in a thread while the caller works on this one.

    The first item is started at once. Parquet decoding releases the GIL, so reading overlaps
    Great Expectations' work; at most two items are alive at a time. Time the caller spends
    waiting for an item counts as phase `name`.
    """
    source = iter(items)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch")
    pending = pool.submit(next, source, None)

    def drain() -> Iterator[T]:
        nonlocal pending
        try:
            while True:
                with phases(name):
                    item = pending.result()
                if item is None:
                    return
                pending = pool.submit(next, source, None)
                yield item
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    return drain()
