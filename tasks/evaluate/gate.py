"""The gate: may this challenger replace the champion? Pure functions over metrics.

Like TFX's Evaluator "blessing": absolute thresholds on the test split, no regression against
the champion beyond a margin on any gated metric, optionally a significant improvement on the
paired test rows, and per-slice thresholds. Which metrics, margins and test: the problem kind
(`tasks.problems`: accuracy and McNemar for classes, r2/rmse/mae and Wilcoxon for numbers). A
champion of another signature (other data, task, classes or inputs) is not scored at all: the
gate says what differs.
"""

from __future__ import annotations

from tasks.common.brief import capped, clip
from tasks.common.params import GateParams, SliceGate
from tasks.problems import Problem
from tasks.problems.base import check

GATE = "all in reports/gate.json"


def absolute_checks(problem: Problem, scores: dict, p: GateParams) -> list[dict]:
    """The problem kind's thresholds that are set, on the whole test split."""
    return [
        check(key, metric, scores[metric], ">=" if direction > 0 else "<=", threshold)
        for metric, key, direction, threshold in problem.gated(p)
        if threshold is not None and metric in scores
    ]


def relative_checks(problem: Problem, scores: dict, champion: dict, p: GateParams) -> list[dict]:
    """On each gated metric (one with an absolute threshold), the challenger may be worse than
    the champion by at most `max_regression` (`Problem.worst_allowed` says how it counts)."""
    found = []
    for metric, _, direction, threshold in problem.gated(p):
        if threshold is None or metric not in champion or metric not in scores:
            continue
        best = champion[metric]
        found.append(
            check(
                f"no_regression_{metric}",
                metric,
                scores[metric],
                ">=" if direction > 0 else "<=",
                problem.worst_allowed(best, p.max_regression, direction),
                champion=best,
            )
        )
    return found


def slice_checks(problem: Problem, slices: dict[str, dict], gates: list[SliceGate]) -> list[dict]:
    found = []
    for gate in gates:
        threshold = problem.slice_threshold(gate)
        if threshold is None:
            continue
        metric, op, value = threshold
        for name, scores in slices.items():
            if name.startswith(f"{gate.column}="):
                found.append(check(f"slice {name}", metric, scores[metric], op, value))
    return found


def comparison_check(comparison: dict) -> dict:
    """Enough test rows the champion never trained or validated on (`min_comparison_rows`)."""
    found = check("comparison_rows", "rows", comparison["rows"], ">=", comparison["min_rows"])
    return found | {"left_out": comparison["left_out"], "reason": comparison["reason"]}


def mismatch(artifact: str, version: str, differences: list[str]) -> dict:
    """Why a champion could not be compared: its signature differs from the challenger's."""
    return {"artifact": artifact, "champion": version, "differences": differences}


def decide(
    problem: Problem,
    scores: dict,
    p: GateParams,
    champion: dict | None = None,
    significance: dict | None = None,
    slices: list[dict] | None = None,
    other_signature: dict | None = None,
    comparison: dict | None = None,
) -> dict:
    """Every check with its verdict; blessed only if all passed.

    `other_signature` (from `mismatch`) refuses the model with one check, `same_signature`:
    a comparison with a champion trained on other data would be meaningless. `comparison`
    (the test rows the champion never saw, `tasks.evaluate.champion.Comparison.report`) adds
    the check `comparison_rows`; the challenger meets the champion on those rows only
    (`champion["challenger"]` when some were left out).
    """
    checks = absolute_checks(problem, scores, p)
    if comparison is not None:
        checks.append(comparison_check(comparison))
    if champion is not None and p.max_regression is not None:
        checks += relative_checks(problem, champion.get("challenger", scores), champion, p)
    if champion is not None and p.require_significant and significance is not None:
        checks.append(significance)
    checks += slices or []
    version = champion.get("version") if champion else None
    verdict = {"champion": version or (comparison or {}).get("champion")}
    if comparison is not None:
        verdict["comparison"] = comparison
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
        f"{clip(c['check'], 80)}: {c['error']}"
        if c.get("error")
        else f"{clip(c['check'], 80)}: {c['metric']} {_number(c['value'])} "
        f"(needs {c['op']} {_number(c['threshold'])})"
        for c in failed
    ]
    lines = [f"  - {line}" for line in capped(lines, "failed checks", GATE)]
    if any(c["check"] == "comparison_rows" for c in failed):
        lines.append(_too_few_rows(gate))
    return "the gate refused the model:\n" + "\n".join(lines)


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    return f"{value:.4f}" if value == 0 or abs(value) >= 1e-3 else f"{value:.2e}"


def _too_few_rows(gate: dict) -> str:
    """Why the champion cannot be compared on enough rows, and the ways forward."""
    found = gate["comparison"]
    total = found["rows"] + found["left_out"]
    return (
        f"The champion {gate['champion']} can be compared on {found['rows']} of {total} test "
        f"rows, fewer than evaluate.min_comparison_rows ({found['min_rows']}):\n"
        f"  {clip(found['reason'], 400)}.\n"
        "Either split as the champion was (its prepare params are in its "
        "lineage: trainflow models show --json), add data, lower "
        "evaluate.min_comparison_rows, or register this model without a comparison "
        "(--set evaluate.compare_champion=false)."
    )
