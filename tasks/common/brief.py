"""Messages that list values (classes, columns, files, rows, checks): a few, and how many more.

A message is read on a terminal, so a table with 214 labels or 300 columns must not turn one
into a wall; the full lists stay in the reports (reports/validation.json, gate.json) and the
Data Docs, which every such message points to.
"""

from __future__ import annotations

from collections.abc import Iterable

SHOWN = 6  # values a list in a message names at most
WIDTH = 40  # characters of one value in a list
LIST_WIDTH = 150  # characters of the values a list names
LINES = 12  # lines a message lists (failed checks, warnings, columns)
LINE = 500  # characters of one message line


def clip(text: object, width: int = WIDTH) -> str:
    """`text` as a string of at most `width` characters, cut short with '...'."""
    text = str(text)
    return text if len(text) <= width else text[: max(width - 3, 1)] + "..."


def listing(
    values: Iterable,
    sep: str = ", ",
    shown: int = SHOWN,
    width: int = LIST_WIDTH,
    each: int = WIDTH,
) -> str:
    """`a, b, c and 211 more`: the first values that fit in `width` characters (at least one,
    at most `shown`, each clipped to `each`), and how many are left out."""
    values = [clip(value, each) for value in values]
    named: list[str] = []
    for value in values[:shown]:
        if named and len(sep.join([*named, value])) > width:
            break
        named.append(value)
    more = len(values) - len(named)
    return sep.join(named) + (f" and {more} more" if more else "")


def few(values: Iterable) -> str:
    """`[a, b, c and 211 more]`: a short list for a message (`listing`, in brackets)."""
    return f"[{listing(values)}]"


def some(value: object, width: int = LIST_WIDTH, each: int = WIDTH) -> str:
    """Any value a check observed, for a message: a list or a mapping as a few of its items
    (written as Python writes them), other values clipped."""
    if isinstance(value, dict):
        items = (f"{clip(repr(k), each)}: {clip(repr(v), each)}" for k, v in value.items())
        return "{" + listing(items, width=width, each=2 * each + 2) + "}"
    if isinstance(value, list | tuple | set):
        return f"[{listing(map(repr, value), width=width, each=each)}]"
    return clip(value, width)


def capped(lines: list[str], what: str, where: str = "", limit: int = LINES) -> list[str]:
    """`lines`, or the first `limit - 1` of them and one saying how many more `what` there
    are (and `where` they all are)."""
    if len(lines) <= limit:
        return lines
    more = f"... and {len(lines) - limit + 1} more {what}"
    return [*lines[: limit - 1], more + (f" ({where})" if where else "")]
