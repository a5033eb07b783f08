"""The benchmark runner's own logic: discovery, collecting results, figures and the table."""

from __future__ import annotations

import sys

import pytest

from bench.__main__ import arguments, discover, printed_json, selected
from bench.common import env_int, figure, measure, rotated
from bench.table import markdown


def test_every_module_with_a_main_is_a_benchmark_and_scale_runs_last():
    found = discover()
    assert {"orchestration", "noop", "scale"} <= set(found)
    assert not {"common", "table", "__main__"} & set(found)
    assert found[-1] == "scale"


def test_scale_runs_only_when_asked_for(monkeypatch):
    monkeypatch.delenv("BENCH_SCALE_ROWS", raising=False)
    known = ["noop", "scale"]
    assert selected(arguments([]), known) == ["noop"]
    assert selected(arguments(["--scale-rows", "1000"]), known) == known
    assert selected(arguments(["scale"]), known) == ["scale"]
    monkeypatch.setenv("BENCH_SCALE_ROWS", "1000")
    assert selected(arguments([]), known) == known


def test_printed_json_takes_the_last_object_after_other_output():
    output = 'a table\n| x | 1 |\n{"old": 1}\n{\n  "ratio": 0.97,\n  "rows": 3\n}\n'
    assert printed_json(output) == {"ratio": 0.97, "rows": 3}
    assert printed_json("no json here\n") is None


def test_figure_summarises_repeats_and_checks_the_median_against_its_goal():
    row = figure("flow / bare", [1.3, 1.05, 1.08], 1.10, {"seconds": {"median": 40.0}})
    assert (row["min"], row["median"], row["max"]) == (1.05, 1.08, 1.3)
    assert row["met"] is True and row["goal"] == "<= 1.1" and row["repeats"] == 3


def test_order_rotates_each_repeat():
    assert [rotated(["a", "b", "c"], turn) for turn in range(3)] == [
        ["a", "b", "c"],
        ["b", "c", "a"],
        ["c", "a", "b"],
    ]


def test_bad_repeat_setting_is_refused(monkeypatch):
    monkeypatch.setenv("BENCH_REPEATS", "0")
    with pytest.raises(ValueError, match="BENCH_REPEATS=0"):
        env_int("BENCH_REPEATS", 3)


def test_peak_memory_is_the_child_process_own(tmp_path):
    grab = "x = bytearray(200 * 2**20); x[::4096] = b'1' * len(x[::4096])"
    done = measure([sys.executable, "-c", grab], tmp_path, {})
    assert 200 <= done.peak_mb < 400


def test_table_shows_figures_and_the_numbers_of_other_shapes():
    results = {
        "benchmarks": {
            "noop": {"figures": [figure("flow / dvc", [1.5], 2.0)]},
            "train_throughput": {"throughput": {"ratio": 0.97, "rows": 9}, "ok": True},
            "validate_scale": {"rows": 9, "seconds": 2.5},
            "broken": {"error": "exit code 1"},
        },
        "skipped": ["scale"],
    }
    table = markdown(results)
    assert "| noop | flow / dvc | 1.5 | 1.5 | 1.5 | <= 2 | yes |" in table
    assert "| train_throughput | throughput.ratio |  | 0.97 |" in table
    assert "throughput.rows" not in table
    assert "| validate_scale | rows |  | 9 |" in table
    assert "| broken | FAILED: exit code 1 |" in table
    assert table.endswith("not run: scale")
