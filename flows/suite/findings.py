"""What validate will say about the data a suite is drafted from: the quiet killers.

`trainflow suite init` counts today's data with validate's own `Tally`, so the columns it calls
suspect and the spellings it finds are exactly those validate will report; the draft leaves a
suspect column's values free and, with `data.normalize_labels`, states each class as all of
its spellings.
"""

from __future__ import annotations

from dataclasses import dataclass

from tasks.common.brief import capped, clip, listing
from tasks.common.params import DataParams
from tasks.data.columns import describe_spellings, spellings
from tasks.validate.columns import CONSEQUENCE
from tasks.validate.tally import Tally


@dataclass
class Findings:
    """What validate will say about today's data, from the same counts (`Tally`)."""

    suspects: dict[str, str]
    spellings: dict[str, list[str]]
    merged: bool  # data.normalize_labels: the label's spellings are one class
    texts: dict[str, dict]  # free-text columns: blank share and lengths in words

    @classmethod
    def of(cls, tally: Tally, data: DataParams) -> Findings:
        groups = {c: spellings(counts) for c, counts in tally.spellings().items()}
        return cls(
            suspects=tally.suspects(),
            spellings={c: [describe_spellings(g) for g in gs] for c, gs in groups.items() if gs},
            merged=data.normalize_labels,
            texts=tally.texts(),
        )

    def lines(self, data: DataParams) -> list[str]:
        """The quiet killers in today's data, and what validate will do about them."""
        found = [
            f"column '{column}' {reason}: no values drafted; validate "
            f"{CONSEQUENCE[data.suspect_columns]} (data.suspect_columns)"
            for column, reason in self.suspects.items()
        ]
        for column, groups in self.spellings.items():
            key = "labels" if column == data.target else "categories"
            merged = getattr(data, f"normalize_{key}")
            what = "merges them" if merged else f"fails until data.normalize_{key}: true"
            spelled = listing(groups, sep="; ", shown=3)
            found.append(f"'{clip(column, 60)}' written several ways ({spelled}): validate {what}")
        return capped(found, "warnings", "validate lists them all in reports/validation.json")
