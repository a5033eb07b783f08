"""A team's setup, for real: a bare git remote, a local-directory DVC remote, a process worker
started in an empty directory, consumers on fresh clones, two workers racing, an unreachable
remote, and an S3 remote served by moto on 127.0.0.1 (dvc-s3 as the client).

The tests of this module build on each other, in order, like a team's first days.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tasks.common.errors import ExitCode
from tasks.common.params import write_overrides
from tasks.registry.versions import out_hash
from tests.conftest import (
    BIN,
    FAST,
    client,
    finished,
    free_port,
    fresh_env,
    make_workspace,
    run,
    wait_until,
)
from tests.registry_team import git, remote_tags, stored

pytestmark = pytest.mark.e2e
POOL = "trainflow-team"
# The racers differ in their seed only; any regression against the champion is let through,
# so both are blessed and both register the same next version.
RACE = [*FAST, "evaluate.gate.max_regression=1", "register.auto_promote=true"]


@dataclass(frozen=True)
class Team:
    root: Path
    origin: Path  # the bare git remote
    store: Path  # the DVC remote, a local directory
    lead: Path  # the checkout the team was set up from


def sets(*items: str) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def clone(team: Team, name: str) -> Path:
    target = team.root / name
    git(team.root, "clone", "-q", str(team.origin), str(target))
    return target


def task_names(flow_run_id) -> set[str]:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    found = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
    with client() as prefect:
        return {t.name for t in prefect.read_task_runs(flow_run_filter=found)}


@pytest.fixture(scope="module")
def env(prefect_api: str, tmp_path_factory) -> dict[str, str]:
    """A fresh machine for the whole module (its workers poll the test server every second)."""
    home = tmp_path_factory.mktemp("home")
    return fresh_env(home, prefect_api, PREFECT_RUNNER_POLL_FREQUENCY="1")


@pytest.fixture(scope="module")
def team(tmp_path_factory, env) -> Team:
    """What docs/team.md does once: remotes, `register.push: true`, committed."""
    root = tmp_path_factory.mktemp("team")
    origin, store = root / "origin.git", root / "dvc-store"
    git(root, "init", "-q", "--bare", "-b", "main", str(origin))
    lead = make_workspace(root / "lead")
    write_overrides(lead / "params.yaml", [*FAST, "register.push=true"])
    added = run([str(BIN / "dvc"), "remote", "add", "-d", "store", str(store)], lead, env)
    assert added.returncode == 0, added.stderr
    git(lead, "add", "params.yaml", ".dvc/config")
    git(lead, "commit", "-q", "-m", "Team setup: publish registrations")
    git(lead, "remote", "add", "origin", str(origin))
    git(lead, "push", "-q", "-u", "origin", "main")
    return Team(root, origin, store, lead)


def run_worker(team: Team, env: dict[str, str], empty: Path):
    """One scheduled run of `retrain/nightly-remote`, picked up by a worker in `empty`."""
    with client() as prefect:
        nightly = prefect.read_deployment_by_name("retrain/nightly-remote")
        flow_run = prefect.create_flow_run_from_deployment(nightly.id)
    worker = run(
        [str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--run-once", "--limit", "1"],
        empty,
        env | {"TRAINFLOW_REPOSITORY": str(team.origin)},
        timeout=500,
    )
    assert worker.returncode == 0, worker.stdout + worker.stderr
    return wait_until(lambda: finished(flow_run.id), 60, "the worker's run"), worker


def test_a_worker_started_in_an_empty_directory_trains_registers_and_publishes(team, env):
    created = run(
        [str(BIN / "prefect"), "work-pool", "create", POOL, "--type", "process"], team.lead, env
    )
    assert created.returncode == 0, created.stdout + created.stderr
    deploy = [str(BIN / "prefect"), "--no-prompt", "deploy", "--name", "nightly-remote"]
    deployed = run(
        [*deploy, "--pool", POOL], team.lead, env | {"TRAINFLOW_REPOSITORY": str(team.origin)}
    )
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    empty = team.root / "worker"
    empty.mkdir()

    done, worker = run_worker(team, env, empty)
    assert done.state.is_completed(), worker.stdout[-3000:]
    assert {"train", "register", "publish"} <= task_names(done.id)
    tags = remote_tags(team.origin)
    assert set(tags) == {"model@v0.1.0", "model#staging#1"}
    assert git(team.origin, "rev-parse", "main") == tags["model@v0.1.0"]  # the branch too
    lock = git(team.origin, "show", "main:dvc.lock")
    for stage, path in (
        ("ingest", "data/raw"),
        ("prepare", "data/prepared"),
        ("train", "models/model"),
    ):
        assert stored(team.store, out_hash(lock, stage, path)), f"{path} is not in the DVC remote"
    assert any((team.store / "runs").rglob("*")), "the run-cache was not pushed"
    assert list(empty.iterdir()) == []  # the run had its own directory, and left nothing here

    again, _ = run_worker(team, env, empty)
    assert again.state.is_completed() and again.state.name == "Skipped", again.state
    assert task_names(again.id) == {"ingest", "publish"}
    assert set(remote_tags(team.origin)) == set(tags)


def test_a_fresh_clone_lists_shows_fetches_and_predicts_from_the_remotes(team, env, tmp_path):
    consumer = clone(team, "consumer")
    assert not (consumer / ".dvc" / "cache").exists()

    def tf(*args: str) -> subprocess.CompletedProcess:
        return run([str(BIN / "trainflow"), *args], consumer, env)

    listed = tf("models", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)[0]["version"] == "v0.1.0"
    card = tf("models", "show", "v0.1.0")
    assert card.returncode == 0 and card.stdout.startswith("# model v0.1.0"), card.stderr

    promoted = tf("models", "promote", "v0.1.0")  # published at once: register.push is on
    assert promoted.returncode == 0, promoted.stderr
    (prod,) = [name for name in git(consumer, "tag", "-l", "model#prod#*").split()]
    assert f"published {prod}:" in promoted.stdout
    assert prod in remote_tags(team.origin)

    fetched = tf("models", "get", "prod", "--out", str(tmp_path / "prod"))
    assert fetched.returncode == 0, fetched.stderr
    images = digit_images(tmp_path / "images", 30)
    predicted = tf("predict", str(images), "--model", "prod", "--out", str(tmp_path / "p.csv"))
    assert predicted.returncode == 0, predicted.stderr
    import pandas as pd

    table = pd.read_csv(tmp_path / "p.csv")
    truth = table["id"].str.split("/").str[0].astype(int)
    assert len(table) == 30 and (table["predicted"] == truth).mean() >= 0.5

    shown = run([str(BIN / "gto"), "show"], consumer, env)
    assert "v0.1.0" in shown.stdout and shown.returncode == 0, shown.stderr
    dvc_get = [str(BIN / "dvc"), "artifacts", "get", str(team.origin), "model", "--stage", "prod"]
    got = run([*dvc_get, "-o", str(tmp_path / "dvc-get")], tmp_path, env)
    assert got.returncode == 0, got.stderr
    ours, theirs = tmp_path / "prod/model.keras", tmp_path / "dvc-get/model.keras"
    assert ours.read_bytes() == theirs.read_bytes()


def digit_images(folder: Path, count: int) -> Path:
    """Raw input as a user has it: PNGs of scikit-learn's digits, one folder per label."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    data = load_digits()
    for i in range(count):
        target = folder / str(data.target[i]) / f"{i}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        pixels = np.clip(data.images[i] * 16, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(target)
    return folder


@dataclass(frozen=True)
class Racer:
    folder: Path
    seed: str
    code: int
    stderr: str


def race(team: Team, env: dict[str, str]) -> list[Racer]:
    """Two workers, fresh clones that fetched from the DVC remote, train with other seeds and
    register at the same time."""
    seeds = ["train.seed=1", "train.seed=2"]
    folders = [clone(team, f"racer-{n}") for n in (1, 2)]
    for folder in folders:
        pulled = run([str(BIN / "dvc"), "pull", "--run-cache"], folder, env)
        assert pulled.returncode == 0, pulled.stderr
    command = [str(BIN / "trainflow"), "run", *sets(*RACE)]
    runs = [
        subprocess.Popen(
            [*command, "--set", seed],
            cwd=folder,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for seed, folder in zip(seeds, folders, strict=True)
    ]
    outputs = [process.communicate(timeout=600) for process in runs]
    return [
        Racer(folder, seed, process.returncode, err)
        for folder, seed, process, (_, err) in zip(folders, seeds, runs, outputs, strict=True)
    ]


def test_two_racing_workers_publish_one_model_per_version_and_the_loser_reruns(team, env):
    racers = race(team, env)
    assert sorted(r.code for r in racers) == [ExitCode.OK, ExitCode.REMOTE_MOVED], racers
    winner, loser = sorted(racers, key=lambda racer: racer.code)
    assert re.search(
        r"moved on: it already has model#prod#\d+, model#staging#\d+, model@v0.2.0 ", loser.stderr
    ), loser.stderr
    assert "Rerun to evaluate it against the new champion" in loser.stderr

    tags = remote_tags(team.origin)
    assert tags["model@v0.2.0"] == git(winner.folder, "rev-parse", "model@v0.2.0^{commit}")
    lock = git(team.origin, "show", "model@v0.2.0:dvc.lock")
    assert stored(team.store, out_hash(lock, "train", "models/model"))
    # The loser withdrew its registration and follows the remote: its tags, its branch.
    assert git(loser.folder, "rev-parse", "model@v0.2.0^{commit}") == tags["model@v0.2.0"]
    assert git(loser.folder, "rev-parse", "HEAD") == git(team.origin, "rev-parse", "main")
    assert git(loser.folder, "status", "--porcelain", "registry", "dvc.lock") == ""

    rerun_while_unreachable_then_push(team, env, loser)


def rerun_while_unreachable_then_push(team: Team, env, loser: Racer) -> None:
    """The loser reruns while the git remote is down: it re-evaluates against the new
    champion and registers locally; `trainflow models push` publishes it later."""
    folder, away = loser.folder, team.origin.with_name("origin-down.git")
    team.origin.rename(away)
    try:
        rerun = run([str(BIN / "trainflow"), "run", *sets(*RACE, loser.seed)], folder, env)
    finally:
        away.rename(team.origin)
    assert rerun.returncode == ExitCode.NOT_PUBLISHED, rerun.stdout + rerun.stderr
    assert "git remote 'origin'" in rerun.stderr and "unreachable" in rerun.stderr
    gate = json.loads((folder / "reports/gate.json").read_text())
    assert gate["champion"] == "v0.2.0"  # the winner's model, now in prod
    assert "model@v0.3.0" in git(folder, "tag", "-l")  # kept here
    assert "model@v0.3.0" not in remote_tags(team.origin)

    pushed = run([str(BIN / "trainflow"), "models", "push"], folder, env)
    assert pushed.returncode == 0, pushed.stderr
    assert re.search(r"published model#prod#\d+, model#staging#\d+, model@v0.3.0:", pushed.stdout)
    lock = git(team.origin, "show", "model@v0.3.0:dvc.lock")
    assert stored(team.store, out_hash(lock, "train", "models/model"))
    assert git(team.origin, "rev-parse", "main") == remote_tags(team.origin)["model@v0.3.0"]
    again = run([str(BIN / "trainflow"), "models", "push"], folder, env)
    assert again.returncode == 0 and "nothing to publish" in again.stdout, again.stderr


@pytest.fixture
def s3(env, tmp_path) -> Iterator[dict]:
    """moto's S3 server on a loopback port (start/stop as the tests need) and its settings."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    keys = {"AWS_ACCESS_KEY_ID": "team", "AWS_SECRET_ACCESS_KEY": "secret"}
    server: dict = {"endpoint": endpoint, "keys": keys, "process": None}

    def start():
        with open(tmp_path / "moto.log", "a") as log:
            server["process"] = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(lambda: _bucket(endpoint, keys), 60, "moto's S3 server")

    def stop():
        server["process"].terminate()
        server["process"].wait(30)

    server |= {"start": start, "stop": stop}
    start()
    try:
        yield server
    finally:
        stop()


def _bucket(endpoint: str, keys: dict) -> bool:
    """Create the team's bucket (a fresh moto server has none); False while it is not up."""
    import boto3
    from botocore.exceptions import EndpointConnectionError

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
    )
    try:
        s3.create_bucket(Bucket="trainflow")
    except EndpointConnectionError:
        return False
    return True


def test_an_s3_remote_gets_what_was_registered_before_it_once_reachable(team, env, s3):
    """The team moves its DVC remote to S3 and a new git remote: `models push` publishes
    everything registered so far; while S3 is down nothing reaches git."""
    moved = clone(team, "to-s3")
    fetched = run([str(BIN / "dvc"), "fetch", "--all-tags"], moved, env)  # every version's
    assert fetched.returncode == 0, fetched.stderr
    origin = team.root / "origin-s3.git"
    git(team.root, "init", "-q", "--bare", "-b", "main", str(origin))
    git(moved, "remote", "set-url", "origin", str(origin))
    dvc = [str(BIN / "dvc"), "remote"]
    for args in (
        ["add", "-d", "s3", "s3://trainflow/store"],
        ["modify", "s3", "endpointurl", s3["endpoint"]],
        ["modify", "--local", "s3", "access_key_id", s3["keys"]["AWS_ACCESS_KEY_ID"]],
        ["modify", "--local", "s3", "secret_access_key", s3["keys"]["AWS_SECRET_ACCESS_KEY"]],
    ):
        assert run([*dvc, *args], moved, env).returncode == 0
    git(moved, "commit", "-q", "-am", "DVC remote on S3")
    assert "secret" not in git(moved, "show", "HEAD:.dvc/config")

    s3["stop"]()
    down = run([str(BIN / "trainflow"), "models", "push"], moved, env)
    assert down.returncode == ExitCode.NOT_PUBLISHED, down.stdout + down.stderr
    assert "DVC remote 's3'" in down.stderr and "connect" in down.stderr, down.stderr
    assert git(origin, "for-each-ref", "refs/") == ""  # git got nothing: files come first
    s3["start"]()
    up = run([str(BIN / "trainflow"), "models", "push"], moved, env)
    assert up.returncode == 0, up.stderr
    assert remote_tags(origin) == remote_tags(team.origin)

    reader = team.root / "s3-reader"
    git(team.root, "clone", "-q", str(origin), str(reader))
    reader_env = env | s3["keys"]  # credentials from the environment this time
    got = run([str(BIN / "trainflow"), "models", "get", "v0.1.0", "--out", "m"], reader, reader_env)
    assert got.returncode == 0, got.stderr
    assert (reader / "m/model.keras").exists()
    pulled = run([str(BIN / "dvc"), "pull", "models/model"], reader, reader_env)
    assert pulled.returncode == 0, pulled.stderr
