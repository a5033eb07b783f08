"""Slabs: every cell of the raw table read once, in row order, within the memory budget."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tasks.data.slabs import column_groups, table_slabs, units
from tasks.data.tables import table_rows
from tests.unit.test_tables import raw, wide


def reassembled(slabs) -> pd.DataFrame:
    """The table back from slabs: each span's column groups side by side, spans stacked."""
    spans, current = [], []
    for slab in slabs:
        if slab.first and current:
            spans.append(pd.concat(current, axis=1))
            current = []
        current.append(slab.frame)
    spans.append(pd.concat(current, axis=1))
    return pd.concat(spans)


@pytest.mark.parametrize("huge_groups", [False, True], ids=["row groups", "one huge group"])
def test_slabs_hold_every_cell_once_in_row_order(tmp_path, huge_groups):
    frames = [wide(7_000), wide(0), wide(3_000)]
    folder = raw(tmp_path, frames, huge_groups)
    slabs = list(table_slabs(folder, 0.2, together=[{"a", "b"}], lead=["label"]))
    expected = pd.concat([f for f in frames if len(f)], ignore_index=True)
    got = reassembled(s for s in slabs if len(s.frame))
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_index_type=False)
    assert (got.index == np.arange(len(expected))).all()
    assert all(max(s.frame.memory_usage(index=False).sum(), 1) <= 0.25 * 2**20 for s in slabs)
    assert all("label" in s.frame.columns for s in slabs if s.first and len(s.frame))
    assert all({"a", "b"} <= set(s.frame.columns) for s in slabs if "a" in s.frame.columns)
    assert sum(s.opens_part for s in slabs) == 3 and table_rows(folder) == 10_000


def test_column_groups_keep_linked_columns_and_lead_first():
    widths = {"x": 8.0, "y": 8.0, "label": 16.0, "text": 100.0, "a": 8.0, "b": 8.0}
    groups, cap = column_groups(widths, [{"a", "x"}], ["label"])
    assert groups[0][0] == "label" and cap == 100.0
    assert any({"a", "x"} <= set(g) for g in groups)
    assert sorted(c for g in groups for c in g) == sorted(widths)


def test_linked_columns_form_one_unit_even_through_a_chain():
    found = units(["a", "b", "c", "d"], [{"a", "c"}, {"c", "d"}])
    assert found == [["a", "c", "d"], ["b"]]
