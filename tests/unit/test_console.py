"""What a run shows on the terminal: TRAINFLOW_VERBOSE read like the `--verbose` flag."""

from __future__ import annotations

import pytest

from flows.console import TRACEBACK, VERBOSE, StageLines


@pytest.mark.parametrize("value", ["", "0", "false", "False", "no", "OFF", " off "])
def test_off_values_keep_a_stages_traceback_off_the_terminal(monkeypatch, value):
    monkeypatch.setenv(VERBOSE, value)
    assert not StageLines().shown(TRACEBACK)


@pytest.mark.parametrize("value", ["1", "true", "yes", "on"])
def test_on_values_show_everything(monkeypatch, value):
    monkeypatch.setenv(VERBOSE, value)
    assert StageLines().shown(TRACEBACK)
