"""Phases and overlap: the next batch is read while this one is checked, in order."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from tasks.validate.timing import Phases, prefetched


def test_prefetched_keeps_order_and_reads_ahead_one_item():
    produced: list[int] = []

    def items():
        for i in range(5):
            produced.append(i)
            yield i

    phases = Phases()
    seen = []
    for item in prefetched(items(), phases):
        time.sleep(0.02)
        seen.append((item, len(produced)))
    assert [item for item, _ in seen] == [0, 1, 2, 3, 4]
    assert all(made <= item + 2 for item, made in seen)  # never more than one ahead
    assert "read" in phases.seconds and phases.line().endswith(")")


def test_prefetched_passes_errors_on():
    def broken():
        yield 1
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        list(prefetched(broken(), Phases()))
    assert not [t for t in threading.enumerate() if t.name.startswith("prefetch")]


def test_runs_that_skip_validate_never_import_great_expectations():
    import subprocess

    code = (
        "import sys, tasks.train, tasks.prepare, tasks.ingest, tasks.evaluate, flows.cli, "
        "flows.retrain, flows.predict; print('great_expectations' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_great_expectations_is_imported_lean_and_its_statistics_still_work():
    import subprocess

    code = (
        "import sys; from tasks.validate.lean import import_great_expectations as imp; imp(); "
        "lean = [n for n in ('scipy.spatial', 'sqlalchemy', 'boto3') if n in sys.modules]; "
        "import sqlalchemy, great_expectations.expectations as gxe, pandas as pd; "
        "from tasks.validate.runner import Runner; "
        "e = gxe.ExpectColumnKLDivergenceToBeLessThan(column='x', threshold=0.5, "
        "partition_object={'values': [1, 2], 'weights': [0.5, 0.5]}); "
        "(r,) = Runner().run(pd.DataFrame({'x': [1, 2] * 50}), [e]); print(lean, r.success)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "[] True", done.stderr[-2000:]
