"""Great Expectations imported with only what validation uses: a pandas frame and core checks.

`import great_expectations` imports every core expectation, and with them SciPy's statistics
(for the KL-divergence and KS expectations) and, when installed, SQLAlchemy and boto3 (for SQL
and S3 data sources), about a second in all before any check runs. Validation reads pandas
frames: SQLAlchemy and boto3 are GE's optional extras, so GE is imported as if they were not
installed (only when nothing imported them before; they stay importable afterwards), and
`scipy.stats` loads at its first use (`importlib.util.LazyLoader`), so a suite with a KL or KS
expectation still gets the real module.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

UNUSED_EXTRAS = ("sqlalchemy", "boto3", "botocore")
ON_FIRST_USE = "scipy.stats"


def defer(name: str) -> None:
    """Put a module in sys.modules that executes at its first attribute access."""
    if name in sys.modules:
        return
    parent, _, child = name.rpartition(".")
    spec = importlib.util.find_spec(name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    setattr(sys.modules[parent], child, module)  # `from scipy import stats` takes it as is


def import_great_expectations() -> None:
    """Import great_expectations lean (see the module docstring)."""
    if "great_expectations" in sys.modules:
        return
    blocked = [name for name in UNUSED_EXTRAS if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # what `import` then raises ImportError for
    try:
        defer(ON_FIRST_USE)
        importlib.import_module("great_expectations")
    finally:
        for name in blocked:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]
