import subprocess

import pytest

from flows.registry.gitrepo import author
from tasks.common.errors import RegistryError
from tasks.registry.versions import check_version, next_version, out_hash

LOCK = """schema: '2.0'
stages:
  train:
    cmd: python -m tasks.train
    outs:
    - path: models/model
      hash: md5
      md5: abc.dir
"""


@pytest.mark.parametrize(
    ("known", "bump", "expected"),
    [
        ([], "minor", "v0.1.0"),
        ([], "patch", "v0.0.1"),
        ([], "major", "v1.0.0"),
        (["v0.1.0", "v0.2.0"], "minor", "v0.3.0"),
        (["v0.10.0", "v0.9.0"], "minor", "v0.11.0"),
        (["v0.2.0"], "patch", "v0.2.1"),
        (["v0.2.3"], "major", "v1.0.0"),
    ],
)
def test_next_version(known, bump, expected):
    assert next_version(known, bump) == expected


@pytest.mark.parametrize("bad", ["0.1.0", "v1", "v1.0.0/../x", "latest"])
def test_version_names_are_checked(bad):
    with pytest.raises(RegistryError):
        check_version(bad)


def test_out_hash_reads_dvc_lock():
    assert out_hash(LOCK, "train", "models/model") == "abc.dir"
    assert out_hash(LOCK, "train", "other") is None
    assert out_hash("", "train", "models/model") is None


def test_fallback_author_without_git_identity(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    assert author(tmp_path) == ("trainflow", "trainflow@localhost")
    subprocess.run(["git", "config", "user.name", "Ada"], cwd=tmp_path, check=True)
    subprocess.run(["git", "config", "user.email", "ada@example.com"], cwd=tmp_path, check=True)
    assert author(tmp_path) == ("Ada", "ada@example.com")
