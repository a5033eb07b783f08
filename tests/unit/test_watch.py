"""The watcher's fingerprint and its one look, with the event on a real Prefect server."""

from __future__ import annotations

import os

import pytest

from flows.events import DATA_ARRIVED
from flows.watch import check, fingerprint
from tasks.common.errors import ParamsError
from tasks.common.params import validate
from tests.conftest import client, wait_until


def test_the_fingerprint_sees_names_sizes_and_times_but_not_hidden_files(tmp_path):
    folder = tmp_path / "incoming"
    (folder / "2024").mkdir(parents=True)
    (folder / "2024/a.csv").write_text("x\n1\n")
    before = fingerprint("incoming", tmp_path)
    assert (before.files, before.bytes) == (1, 4)
    (folder / ".a.csv.swp").write_text("editor")
    assert fingerprint("incoming", tmp_path) == before
    os.utime(folder / "2024/a.csv", ns=(1, 1))
    touched = fingerprint("incoming", tmp_path)
    assert touched.digest != before.digest
    (folder / "b.csv").write_text("x\n2\n")
    assert fingerprint("incoming", tmp_path).files == 2


def test_nothing_to_watch_is_said_with_the_key(tmp_path):
    with pytest.raises(ParamsError, match="data.source: sklearn:digits is bundled data"):
        fingerprint("sklearn:digits", tmp_path)
    with pytest.raises(ParamsError, match="data.source: .*gone.csv does not exist"):
        fingerprint("gone.csv", tmp_path)


def arrived(digest: str) -> list:
    from prefect.events.filters import EventFilter, EventNameFilter
    from prefect.events.worker import EventsWorker

    EventsWorker.drain_all()
    with client() as prefect:
        found = prefect.read_events(EventFilter(event=EventNameFilter(name=[DATA_ARRIVED])), 50)
    return [e for e in found.events if e.payload["digest"] == digest]


def test_a_look_sends_data_arrived_only_when_the_source_changed(prefect_api, tmp_path):
    params = validate({"data": {"source": "table.csv"}, "register": {"artifact": "churn"}})
    (tmp_path / "table.csv").write_text("x,label\n1,yes\n")
    assert check(params, tmp_path) is None  # the first look only records
    assert check(params, tmp_path) is None
    (tmp_path / "table.csv").write_text("x,label\n1,yes\n2,no\n")
    found = check(params, tmp_path)
    assert found is not None and check(params, tmp_path) is None
    (event,) = wait_until(lambda: arrived(found.digest), 30, "the data.arrived event")
    assert event.resource.id == "trainflow.model.churn"
    assert event.payload["summary"] == "table.csv: 1 file, 19 bytes"
