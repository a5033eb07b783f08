"""The split rule: train, val or test by a stable hash of each sample's identity.

A sample's split depends on its identity (`tasks.common.samples`) and `prepare.seed` alone,
never on which other rows exist today or on their labels, so adding, removing or reordering
rows (or files) never moves a sample to another split, and identical samples share one. This
is TFX's hash-based split: class shares come out close to stratified by themselves.

The rule is recorded in the prepared meta, the model's meta and the lineage. Evaluate trusts a
champion prepared under the same rule never to have trained on a test row of today; for any
other rule (or none recorded: a random split from before rules were), it finds the champion's
training rows instead (`tasks.evaluate.champion`).
"""

from __future__ import annotations

import numpy as np

from tasks.common.params import PrepareParams

SPLITS = ("train", "val", "test")
METHOD, VERSION = "hash", 1
# What identifies a sample, by data kind (see tasks.common.samples).
IDENTITIES = {"key": "the key columns", "features": "its feature values", "pixels": "its pixels"}
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def rule_of(p: PrepareParams, identity: str) -> dict:
    """The rule as recorded: method, what identifies a sample, key, seed and fractions."""
    return {
        "method": METHOD,
        "version": VERSION,
        "identity": identity,
        "key": p.split_key,
        "seed": p.seed,
        "val_size": p.val_size,
        "test_size": p.test_size,
    }


def describe(rule: dict | None) -> str:
    """`a hash of its feature values (seed 42; val 0.15, test 0.15)`, or the legacy rule."""
    if not rule:
        return "a random stratified split (recorded before stable splits)"
    what = IDENTITIES.get(rule["identity"], rule["identity"])
    if rule.get("key"):
        what += f" {rule['key']}"
    return (
        f"a hash of {what} (seed {rule['seed']}; val {rule['val_size']:g}, "
        f"test {rule['test_size']:g})"
    )


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: every input bit moves about half the output bits."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def draws(identities: np.ndarray, seed: int) -> np.ndarray:
    """A number in [0, 1) per identity, uniform over identities, salted by `seed`."""
    salt = _mix(np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))[0]
    with np.errstate(over="ignore"):
        mixed = _mix(identities.astype(np.uint64) ^ (salt + _GOLDEN))
    return (mixed >> np.uint64(11)).astype(np.float64) * 2.0**-53


def assign(identities: np.ndarray, p: PrepareParams) -> dict[str, np.ndarray]:
    """Row positions of train, val and test, each in row order.

    Test takes the draws below `test_size`, val the next `val_size`, train the rest, so
    raising `test_size` moves rows from val into test, never from test back to train.
    """
    u = draws(identities, p.seed)
    test = u < p.test_size
    val = ~test & (u < p.test_size + p.val_size)
    return {
        "train": np.flatnonzero(~test & ~val),
        "val": np.flatnonzero(val),
        "test": np.flatnonzero(test),
    }
