"""A quick end for a process that imported TensorFlow, Great Expectations, Prefect or DVC.

When the interpreter exits it tears down every module, running full garbage collections over
every object their imports created: after TensorFlow, 1.0-1.3 s on 2 cores, after Great
Expectations 0.5-0.9 s, paid by each stage after its outputs are written. `quick_exit_at_end`
makes the exit run one collection (every unreachable object is finalised, as the teardown
would) and then `gc.freeze()`, so the teardown's collections skip what is left. Everything
else about the exit is unchanged: every atexit handler, the flush of stdout and stderr, the
exit code.
"""

from __future__ import annotations

import atexit
import gc

_registered = False


def _collect_then_freeze() -> None:
    gc.collect()
    gc.freeze()


def quick_exit_at_end() -> None:
    """Register the collection and freeze as an atexit handler, once per process."""
    global _registered
    if not _registered:
        atexit.register(_collect_then_freeze)
        _registered = True
