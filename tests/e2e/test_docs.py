"""The get-started page's commands, run as written in a fresh clone."""

from __future__ import annotations

import re
import shlex

import pytest

from tests.conftest import BIN, run
from tests.docs_pages import ROOT

pytestmark = pytest.mark.e2e
MARKER = "<!-- the e2e suite runs this block's commands as written, in a fresh clone -->"


def get_started_commands() -> list[str]:
    page = (ROOT / "docs" / "get-started.md").read_text()
    block = re.search(re.escape(MARKER) + r"\n```\n(.*?)```", page, re.S)
    assert block, f"docs/get-started.md lost its marked block ({MARKER})"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_get_started_commands_run_as_written(workspace, env):
    lines = get_started_commands()
    assert lines[0] == "source .venv/bin/activate"  # the env's PATH has the venv's bin first
    outputs = {}
    for line in lines[1:]:
        argv = shlex.split(line)
        done = run([str(BIN / argv[0]), *argv[1:]], workspace, env)
        assert done.returncode == 0, f"{line}: {done.stdout[-1500:]}\n{done.stderr[-1500:]}"
        outputs[line] = done.stdout
    # what the page promises a new user sees after those commands
    assert "version: model@v0.1.0 (new version)" in outputs["trainflow run"]
    assert re.search(r"^v0\.1\.0\s+staging", outputs["trainflow models list"], re.M)
    assert re.search(r"^reports/metrics\.json\s+0\.9\d", outputs["dvc metrics show"], re.M)
