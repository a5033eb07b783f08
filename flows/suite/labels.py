"""The label part of a drafted suite: known labels, and each class keeping half its share."""

from __future__ import annotations

from collections import Counter

from flows.suite.profile import MAX_CATEGORIES
from tasks.data.columns import ASCII_SPACE

NOTE = "trainflow suite init: the labels seen; each class keeps half its share."


def classes_of(labels: Counter, merged: bool) -> dict[str, list]:
    """Each class with the label values that write it: itself, or (`data.normalize_labels`)
    every spelling of it, under the name prepare gives it."""
    if not merged:
        return {str(label): [label] for label in sorted(labels, key=str)}
    groups: dict[str, list] = {}
    for label in sorted(labels, key=str):
        groups.setdefault(str(label).strip(ASCII_SPACE).lower(), []).append(label)
    return dict(sorted(groups.items()))


def label_expectations(target: str, labels: Counter, merged: bool = False) -> list:
    """Known labels only; each class present with at least half of today's share (with many
    classes, only present: that check needs the whole column)."""
    import great_expectations.expectations as gxe

    known = sorted(labels, key=str)
    found = [gxe.ExpectColumnValuesToBeInSet(column=target, value_set=known, notes=NOTE)]
    classes = classes_of(labels, merged)
    if len(classes) > MAX_CATEGORIES:
        return found + [
            gxe.ExpectColumnDistinctValuesToContainSet(column=target, value_set=known, notes=NOTE)
        ]
    total = sum(labels.values())
    found += [
        gxe.ExpectColumnValuesToBeInSet(
            column=target,
            value_set=spelled,
            mostly=round(sum(labels[v] for v in spelled) / total / 2, 4),
            description=f"At least {sum(labels[v] for v in spelled) / total / 2:.1%} of rows "
            f"are class {name}"
            + (f" (written {', '.join(map(repr, spelled))})." if len(spelled) > 1 else "."),
            notes=NOTE,
        )
        for name, spelled in classes.items()
    ]
    return found
