"""The gate: may this challenger replace the champion? Pure functions over metrics.

Like TFX's Evaluator "blessing": absolute thresholds on the test split, no regression against
the champion beyond a margin on any gated metric, optionally a significant improvement by
McNemar's test on the paired predictions, and per-slice thresholds. A champion of another
signature (other data, classes or inputs) is not scored at all: the gate says what differs.
"""

from __future__ import annotations

import numpy as np

from tasks.common.brief import capped, clip
from tasks.common.params import GateParams, SliceGate

GATE = "all in reports/gate.json"

# metric, absolute-threshold key, direction (+1: higher is better)
GATED = (
    ("accuracy", "min_accuracy", 1),
    ("macro_f1", "min_macro_f1", 1),
    ("log_loss", "max_log_loss", -1),
)


def check(
    name: str, metric: str, value: float, op: str, threshold: float, champion: float | None = None
) -> dict:
    passed = value >= threshold if op == ">=" else value <= threshold
    return {
        "check": name,
        "metric": metric,
        "value": value,
        "champion": champion,
        "op": op,
        "threshold": threshold,
        "passed": bool(passed),
    }


def absolute_checks(scores: dict, p: GateParams) -> list[dict]:
    found = []
    for metric, key, direction in GATED:
        threshold = getattr(p, key)
        if threshold is not None:
            found.append(
                check(key, metric, scores[metric], ">=" if direction > 0 else "<=", threshold)
            )
    return found


def relative_checks(scores: dict, champion: dict, p: GateParams) -> list[dict]:
    """On each gated metric (one with an absolute threshold), the challenger may be worse than
    the champion by at most `max_regression`."""
    found = []
    for metric, key, direction in GATED:
        if getattr(p, key) is None:
            continue
        best, margin = champion[metric], p.max_regression
        threshold = best - margin if direction > 0 else best + margin
        found.append(
            check(
                f"no_regression_{metric}",
                metric,
                scores[metric],
                ">=" if direction > 0 else "<=",
                threshold,
                champion=best,
            )
        )
    return found


def mcnemar(challenger_right: np.ndarray, champion_right: np.ndarray) -> tuple[float, int, int]:
    """Exact McNemar test: p-value that the challenger is better, and the discordant counts."""
    from scipy.stats import binomtest

    wins = int(np.sum(challenger_right & ~champion_right))
    losses = int(np.sum(~challenger_right & champion_right))
    if wins + losses == 0:
        return 1.0, wins, losses
    return float(binomtest(wins, wins + losses, 0.5, alternative="greater").pvalue), wins, losses


def significance_check(
    y_true: np.ndarray, challenger_pred: np.ndarray, champion_pred: np.ndarray, alpha: float
) -> dict:
    p_value, wins, losses = mcnemar(challenger_pred == y_true, champion_pred == y_true)
    found = check("significantly_better", "mcnemar_p_value", p_value, "<=", alpha)
    return found | {"wins": wins, "losses": losses}


def slice_checks(slices: dict[str, dict], gates: list[SliceGate]) -> list[dict]:
    found = []
    for gate in gates:
        if gate.min_accuracy is None:
            continue
        for name, scores in slices.items():
            if name.startswith(f"{gate.column}="):
                found.append(
                    check(f"slice {name}", "accuracy", scores["accuracy"], ">=", gate.min_accuracy)
                )
    return found


def mismatch(artifact: str, version: str, differences: list[str]) -> dict:
    """Why a champion could not be compared: its signature differs from the challenger's."""
    return {"artifact": artifact, "champion": version, "differences": differences}


def decide(
    scores: dict,
    p: GateParams,
    champion: dict | None = None,
    significance: dict | None = None,
    slices: list[dict] | None = None,
    other_signature: dict | None = None,
) -> dict:
    """Every check with its verdict; blessed only if all passed.

    `other_signature` (from `mismatch`) refuses the model with one check, `same_signature`:
    a comparison with a champion trained on other data would be meaningless.
    """
    checks = absolute_checks(scores, p)
    if champion is not None and p.max_regression is not None:
        checks += relative_checks(scores, champion, p)
    if champion is not None and p.require_significant and significance is not None:
        checks.append(significance)
    checks += slices or []
    verdict = {"champion": champion.get("version") if champion else None}
    if other_signature:
        found = other_signature["differences"]
        checks.append(
            check("same_signature", "signature", len(found), "<=", 0) | {"differences": found}
        )
        verdict = {"champion": other_signature["champion"], "signature": other_signature}
    return {"blessed": all(c["passed"] for c in checks), "checks": checks, **verdict}


def refusal(gate: dict) -> str:
    """Why the gate refused, in words: each failed check, or what differs from the champion
    and the two ways forward."""
    if other := gate.get("signature"):
        name = f"{other['artifact']}@{other['champion']}"
        lines = [f"cannot compare with champion {name}: it was trained on other data:"]
        lines += [f"  - {line}" for line in capped(other["differences"], "differences", GATE)]
        lines += [
            "Either register this model under a new name (register.artifact, e.g. "
            "--set register.artifact=my-model), or make it the next version of "
            f"'{other['artifact']}' without a comparison (--set evaluate.compare_champion=false)."
        ]
        return "the gate refused the model: " + "\n".join(lines)
    failed = [c for c in gate["checks"] if not c["passed"]]
    lines = [
        f"{clip(c['check'], 80)}: {c['metric']} {c['value']:.4f} (needs {c['op']} "
        f"{c['threshold']:.4f})"
        for c in failed
    ]
    return "the gate refused the model:\n" + "\n".join(
        f"  - {line}" for line in capped(lines, "failed checks", GATE)
    )
