"""The docs cannot lie: generated references are current, commands parse, keys exist."""

from __future__ import annotations

import re

import pytest

from flows.reference import params_keys, stale
from tests.docs_pages import ROOT, WRITTEN, commands, params_keys_named, parse_error

KNOWN_KEYS = {key.name.replace("[]", "") for key in params_keys()}


def test_reference_pages_are_generated_from_the_current_code():
    assert stale(ROOT / "docs" / "reference") == [], "run `make reference`"


def test_every_params_key_has_a_description():
    assert [key.name for key in params_keys() if not key.description] == []


@pytest.mark.parametrize("page", WRITTEN, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_trainflow_command_in_the_docs_parses(page):
    errors = [f"trainflow {' '.join(argv)}: {parse_error(argv)}" for argv in commands(page)]
    assert [error for error in errors if not error.endswith(": None")] == []


@pytest.mark.parametrize("page", WRITTEN, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_params_key_the_docs_name_exists(page):
    assert sorted(params_keys_named(page) - KNOWN_KEYS) == []


def test_the_checks_catch_a_wrong_command_and_a_wrong_key(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "Set `train.epoch: 5`.\n\n```\n$ trainflow run --set data.sorce=x.csv\n"
        "trainflow: exit code 3 (bad params)\ntrainflow run --sett train.epochs=5  # typo\n```\n"
    )
    assert params_keys_named(page) - KNOWN_KEYS == {"train.epoch", "data.sorce"}
    assert commands(page) == [
        ["run", "--set", "data.sorce=x.csv"],
        ["run", "--sett", "train.epochs=5"],
    ]
    assert "--sett" in parse_error(commands(page)[1])
    assert parse_error(["run", "--set", "train.epochs=5"]) is None
    assert parse_error(["models", "shw", "prod"]) is not None


def test_the_docs_name_many_keys_and_commands():
    """The checks above read something: the pages name keys and commands."""
    assert len(set().union(*(params_keys_named(page) for page in WRITTEN))) > 40
    assert sum(len(commands(page)) for page in WRITTEN) > 15


def test_the_readme_links_only_to_files_that_exist():
    """The site's own links are checked by `mkdocs build --strict`; the README's here."""
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    assert targets, "the README links into the docs"
    assert [t for t in targets if "://" not in t and not (ROOT / t).exists()] == []
