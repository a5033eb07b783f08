"""The results table of `python -m bench`, as Markdown (pasted as is into docs/benchmarks.md).

Benchmarks that report `figures` (see bench/common.py `figure`) get one row per figure; any
other dict a benchmark returns is shown as its ratios (values whose key says ratio or growth;
all its numbers if none do), so a module with its own shape of results still appears; the
whole of it is in bench/results.json.
"""

from __future__ import annotations

# Of a result without figures, the table shows these values (all numbers if it has none).
SUMMARY = ("ratio", "growth")
HEADER = ("benchmark", "figure", "min", "median", "max", "goal", "met", "detail")


def brief(detail: dict) -> str:
    """`seconds 41.2, baseline_seconds 37.5`: medians of spreads, other values as they are."""
    parts = []
    for key, value in detail.items():
        shown = value.get("median") if isinstance(value, dict) else value
        parts.append(f"{key} {shown}")
    return ", ".join(parts)


def numbers(value: object, prefix: str = "") -> list[tuple[str, float]]:
    """Numeric leaves of a nested dict, with dotted keys."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [(prefix, value)]
    if isinstance(value, dict):
        return [
            leaf
            for key, item in value.items()
            for leaf in numbers(item, f"{prefix}.{key}" if prefix else str(key))
        ]
    return []


def rows(name: str, result: dict) -> list[tuple]:
    if "error" in result:
        return [(name, f"FAILED: {result['error']}", "", "", "", "", "", "")]
    figures = result.get("figures")
    if isinstance(figures, list) and all(isinstance(f, dict) for f in figures):
        return [
            (
                name,
                f.get("figure", ""),
                f.get("min", ""),
                f.get("median", ""),
                f.get("max", ""),
                f.get("goal", ""),
                {True: "yes", False: "NO"}.get(f.get("met"), ""),
                brief(f.get("detail", {})),
            )
            for f in figures
        ]
    found = numbers(result)
    ratios = [(k, v) for k, v in found if any(word in k for word in SUMMARY)]
    return [(name, key, "", value, "", "", "", "") for key, value in ratios or found]


def markdown(results: dict) -> str:
    body = [row for name, found in results["benchmarks"].items() for row in rows(name, found)]
    lines = [HEADER, ("---",) * len(HEADER), *body]
    text = "\n".join("| " + " | ".join(str(cell) for cell in line) + " |" for line in lines)
    skipped = results.get("skipped")
    return text + (f"\n\nnot run: {', '.join(skipped)}" if skipped else "")
