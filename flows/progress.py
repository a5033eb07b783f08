"""A progress bar for long commands on a terminal (`trainflow predict`), silent otherwise.

It goes to stderr, and only when stderr is a terminal, so piped or logged output, CSV written
to stdout and scheduled runs carry no bar. It shows what is done of the total (rows or files),
the rate and the time left; where the total is only an estimate (a CSV's lines), the bar stops
at what was really done.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

Advance = Callable[[int], None]


def shown(stdout_is_output: bool = False) -> bool:
    """Whether a bar shows: stderr is a terminal, and stdout (when the output goes there) is
    not the same terminal, whose lines the bar would break."""
    if not sys.stderr.isatty():
        return False
    return not (stdout_is_output and sys.stdout.isatty())


@contextlib.contextmanager
def progress_bar(
    what: str, total: int | None, unit: str, show: bool | None = None
) -> Iterator[Advance]:
    """`advance(n)` for the block: n more of `unit` done out of `total` (None: unknown).

    `show` defaults to `shown()`; a bar not shown costs nothing.
    """
    if not (shown() if show is None else show):
        yield lambda done: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task) -> Text:
            speed = task.speed  # recent
            if task.finished and task.elapsed:  # done: over the whole command
                speed = task.completed / task.elapsed
            return Text(f"{speed:,.0f} {unit}/s" if speed else f"- {unit}/s")

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    columns += [TextColumn(unit), Rate(), TimeRemainingColumn()]
    bar = Progress(*columns, console=Console(stderr=True), transient=False)
    with bar:
        task = bar.add_task(what, total=total)

        def advance(done: int) -> None:
            bar.advance(task, done)

        yield advance
        state = bar.tasks[0]
        bar.update(task, total=state.completed)  # an estimated total ends at what was done
