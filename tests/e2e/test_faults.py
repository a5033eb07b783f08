"""Fault injection: kill, interrupt or starve `trainflow run`, then check that nothing was lost.

Kill points are hit in two ways. A watcher reads the run's streamed output and sends SIGKILL to
its whole process group when a line appears ("Running stage 'train'" is a stage's start, its own
last line such as "train: 3 epochs in ..." its end, before DVC records it in dvc.lock). Moments
no line marks (a stage's output written to a temp folder but not yet renamed; a registration
between its commit and its tags) are hit exactly by a `sitecustomize` hook that the killed run
loads through PYTHONPATH and that SIGKILLs the process group from inside.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tasks.common.errors import ExitCode
from tests.conftest import BIN, FAST, git_tags, make_workspace, run, trainflow

pytestmark = pytest.mark.e2e
TEMP_LEFTOVERS = ("data/.raw.*", "data/.prepared.*", "models/.model.*", "reports/.*.tmp")
HOOK = '''"""Test-only fault injection: SIGKILL this process group when TRAINFLOW_FAULT says.

rename:TEXT            when a file or folder is renamed onto a path containing TEXT
call:MODULE.FUNC:TEXT  when MODULE.FUNC is called with an argument containing TEXT
"""
import importlib.abc
import importlib.util
import os
import signal
import sys

kind, _, what = os.environ.get("TRAINFLOW_FAULT", "").partition(":")


def die():
    os.killpg(0, signal.SIGKILL)


def guard(move):
    def moved(src, dst, *args, **kwargs):
        if what in os.fsdecode(dst):
            die()
        return move(src, dst, *args, **kwargs)

    return moved


class Wrap(importlib.abc.MetaPathFinder):
    """Wrap MODULE.FUNC as soon as MODULE is imported (C code gives no Python hook)."""

    def __init__(self, target, text):
        (self.module, _, self.func), self.text = target.rpartition("."), text

    def find_spec(self, name, path, target=None):
        if name != self.module:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        load = spec.loader.exec_module

        def exec_module(module):
            load(module)
            func = getattr(module, self.func)

            def called(*args, **kwargs):
                if any(self.text in str(arg) for arg in (*args, *kwargs.values())):
                    die()
                return func(*args, **kwargs)

            setattr(module, self.func, called)

        spec.loader.exec_module = exec_module
        return spec


if kind == "rename":
    os.rename, os.replace = guard(os.rename), guard(os.replace)
if kind == "call":
    sys.meta_path.insert(0, Wrap(*what.split(":", 1)))
'''


@dataclass(frozen=True)
class Kill:
    """Where to kill a run: after a line appears (plus a delay), or at a hooked fault."""

    name: str
    line: str | None = None
    delay: float = 0.0
    fault: str | None = None


# Start, middle and end of train; the atomic-rename window of ingest and prepare; the end of
# ingest and validate (stage done, dvc.lock not yet written); middle and end of evaluate; and
# registration before its commit, before its version tag and before its stage tag. Starts of
# the other stages are the same moment as train's start (DVC about to spawn the command).
KILLS = (
    Kill("ingest: output written, not renamed", fault="rename:data/raw"),
    Kill("ingest: end", line="ingest: "),
    Kill("validate: end", line="checks passed on"),
    Kill("prepare: output written, not renamed", fault="rename:data/prepared"),
    Kill("train: start", line="Running stage 'train'"),
    Kill("train: middle (after epoch 2 of 3)", line="train: epoch 2/3"),
    Kill("train: end", line=" epochs in "),
    Kill("evaluate: middle", line="Running stage 'evaluate'", delay=2.5),
    Kill("evaluate: end", line="evaluate: accuracy"),
    Kill("register: before commit", fault="call:flows.registry.gitrepo.commit_paths:Register"),
    Kill("register: committed, before version tag", fault="call:gto.tag.create_tag:model@"),
    Kill("register: version tagged, before stage tag", fault="call:gto.tag.create_tag:model#"),
)


def sets(*items: str) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def start(workspace: Path, env: dict[str, str], args: list[str]) -> subprocess.Popen:
    """`trainflow ARGS` in its own process group (as a shell job is), output merged."""
    return subprocess.Popen(
        [str(BIN / "trainflow"), *args],
        cwd=workspace,
        env=env | {"PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=default_sigint,
    )


def default_sigint() -> None:
    """Ctrl-C as in a terminal's foreground job, even when these tests run as a background job
    (whose commands inherit SIGINT ignored, so Python would never raise KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def watch(process: subprocess.Popen, line: str | None, delay: float, sig: int) -> str:
    """Read the run's output; send `sig` to its group `delay` s after `line` first appears."""
    watchdog = threading.Timer(300, signal_group, (process, signal.SIGKILL))
    watchdog.start()
    seen = []
    try:
        for text in process.stdout:
            seen.append(text)
            if line and line in text:
                time.sleep(delay)
                signal_group(process, sig)
                line = None
        process.wait()
    finally:
        watchdog.cancel()
    return "".join(seen)


def killed_run(workspace: Path, env: dict[str, str], kill: Kill, args: list[str]) -> None:
    """Run `trainflow run ARGS` and kill its whole process group at `kill`."""
    if kill.fault:
        hooks = workspace.parent / "hooks"
        hooks.mkdir(exist_ok=True)
        (hooks / "sitecustomize.py").write_text(HOOK)
        path = os.pathsep.join(p for p in (str(hooks), env.get("PYTHONPATH")) if p)
        env = env | {"PYTHONPATH": path, "TRAINFLOW_FAULT": kill.fault}
    process = start(workspace, env, ["run", *args])
    output = watch(process, kill.line, kill.delay, signal.SIGKILL)
    assert process.returncode == -signal.SIGKILL, f"{kill.name}: never hit\n{output[-3000:]}"


def git_out(workspace: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=workspace, capture_output=True, text=True).stdout


def assert_nothing_half_made(workspace: Path, where: str) -> None:
    """The model is whole if present; every version tag points at a commit with its lineage."""
    model = workspace / "models/model/model.keras"
    if model.exists():
        with zipfile.ZipFile(model) as archive:
            assert archive.testzip() is None, f"{where}: {model} is corrupt"
    for tag in git_tags(workspace):
        name, _, version = tag.partition("@")
        if version:
            path = f"{tag}:registry/{name}/{version}/lineage.json"
            shown = subprocess.run(["git", "cat-file", "-e", path], cwd=workspace)
            assert shown.returncode == 0, f"{where}: {tag} has no lineage.json in its commit"
    for tag in (t for t in git_tags(workspace) if "#" in t):
        commit = git_out(workspace, "rev-parse", f"{tag}^{{commit}}").strip()
        versions = git_out(workspace, "tag", "--points-at", commit).split()
        assert any("@v" in v for v in versions), f"{where}: {tag} has no version tag"


def registered(workspace: Path, env: dict[str, str]) -> dict[str, list[str]]:
    listed = trainflow(workspace, env, "models", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return {item["version"]: item["stages"] for item in json.loads(listed.stdout)}


def test_killed_anywhere_a_plain_rerun_completes_and_nothing_is_lost(tmp_path, env):
    workspace = make_workspace(tmp_path / "repo")
    first = trainflow(workspace, env, "run", *sets(*FAST, "evaluate.gate.max_regression=null"))
    assert first.returncode == 0, first.stdout + first.stderr
    before = registered(workspace, env)
    # New seeds and a new validation rule: every stage has work to do again.
    retrain = sets("validate.min_rows_per_class=11", "prepare.seed=7", "train.seed=7")
    for kill in KILLS:
        killed_run(workspace, env, kill, retrain)
        assert_nothing_half_made(workspace, kill.name)
        retrain = []

    rerun = trainflow(workspace, env, "run")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "version: model@v0.2.0" in rerun.stdout
    assert_nothing_half_made(workspace, "after the rerun")
    assert still_wrong(workspace, env, list(before)) == []


def still_wrong(workspace: Path, env: dict[str, str], before: list[str]) -> list[str]:
    """What a completed rerun should have put right and did not (all of it, not the first)."""
    found = []
    status = json.loads(run([str(BIN / "dvc"), "status", "--json"], workspace, env).stdout)
    if status != {"ingest": ["always changed"]}:
        found.append(f"dvc status is not clean: {status}")
    load = "import sys, keras; keras.saving.load_model(sys.argv[1])"
    loaded = run([str(BIN / "python"), "-c", load, "models/model/model.keras"], workspace, env)
    if loaded.returncode:
        found.append(f"models/model/model.keras does not load: {loaded.stderr[-500:]}")
    leftovers = [str(p.relative_to(workspace)) for g in TEMP_LEFTOVERS for p in workspace.glob(g)]
    if leftovers:
        found.append(f"temp files left behind: {leftovers}")
    after = registered(workspace, env)
    if list(after) != [*before, "v0.2.0"]:
        found.append(f"versions were {before}, now {list(after)}")
    if "staging" not in after.get("v0.2.0", []):
        found.append(f"v0.2.0 lost its stage in the killed registration: {after.get('v0.2.0')}")
    return found


def test_ctrl_c_stops_with_one_line_and_exit_code_130(workspace, env):
    process = start(workspace, env, ["run", *sets(*FAST)])
    output = watch(process, "Running stage 'validate'", 1.0, signal.SIGINT)
    assert process.returncode == ExitCode.INTERRUPTED, output[-3000:]
    assert "trainflow: interrupted" in output
    assert "Traceback" not in output
    assert git_tags(workspace) == []


def in_mount(options: str, folder: str, command: list[str]) -> list[str]:
    """`command` in a private mount namespace where `folder` is a tmpfs with `options`."""
    script = f'mount -t tmpfs -o {options} tmpfs {folder} && exec "$@"'
    return ["unshare", "--mount", "sh", "-c", script, "sh", *command]


def can_mount(tmp_path: Path) -> bool:
    probe = tmp_path / "probe"
    probe.mkdir()
    return subprocess.run(in_mount("size=4k", str(probe), ["true"])).returncode == 0


@pytest.mark.parametrize(
    ("how", "stage", "reason", "path"),
    [
        ("not a directory", "validate", "Not a directory", "reports/validation.json"),
        ("read-only", "validate", "Read-only file system", "reports/"),
        ("full", "ingest", "No space left on device", "data/raw"),
    ],
)
def test_unwritable_output_names_the_stage_and_the_path(
    tmp_path, workspace, env, how, stage, reason, path
):
    command = [str(BIN / "trainflow"), "run", *sets(*FAST)]
    folder = path.split("/")[0]
    if how == "not a directory":
        subprocess.run(["rm", "-rf", folder], cwd=workspace, check=True)
        (workspace / folder).write_text("a file where the outputs' folder should be\n")
    elif not can_mount(tmp_path):
        pytest.skip("needs `unshare --mount` and tmpfs mounts (root with CAP_SYS_ADMIN)")
    else:
        (workspace / folder).mkdir(exist_ok=True)
        options = "ro" if how == "read-only" else "size=256k"
        command = in_mount(options, folder, command)
    result = run(command, workspace, env)
    assert result.returncode == ExitCode.STAGE_FAILED, result.stdout + result.stderr
    message = result.stderr.splitlines()[-3:]
    assert any(f"stage '{stage}'" in line for line in message), result.stderr[-2000:]
    assert any(reason in line and path in line for line in message), result.stderr[-2000:]
    assert git_tags(workspace) == []


def edited(text: str, key: str, value: object) -> str:
    """params.yaml text with the dotted `key` set to `value` (comments kept)."""
    from ruamel.yaml import YAML

    yaml = YAML()
    raw = yaml.load(text)
    *parents, leaf = key.split(".")
    node = raw
    for part in parents:
        node = node[part]
    node[leaf] = value
    buffer = io.StringIO()
    yaml.dump(raw, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("key", "value"),
    [("train.optimizer", "adamm"), ("train.epochs", -1), ("data.image_size", "square")],
)
def test_invalid_params_file_exits_3_before_any_stage(workspace, env, key, value):
    params, lock = workspace / "params.yaml", workspace / "dvc.lock"
    lock_before = lock.read_bytes() if lock.exists() else None
    params.write_text(edited(params.read_text(), key, value))
    result = trainflow(workspace, env, "run")
    assert result.returncode == ExitCode.BAD_PARAMS, result.stdout + result.stderr
    assert f"params.yaml: {key}" in result.stderr
    assert not (workspace / "data/raw").exists()
    assert (lock.read_bytes() if lock.exists() else None) == lock_before
