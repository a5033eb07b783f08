import numpy as np
import pytest

from tasks.common.params import GateParams, SliceGate
from tasks.evaluate.gate import decide, refusal, slice_checks
from tasks.problems import problem

CLASSIFY, REGRESS = problem("classification"), problem("regression")

SCORES = {"accuracy": 0.9, "macro_f1": 0.85, "log_loss": 0.3}


def test_absolute_thresholds_bless_only_when_every_check_passes():
    passed = decide(
        CLASSIFY, SCORES, GateParams(min_accuracy=0.9, min_macro_f1=0.8, max_log_loss=0.5)
    )
    assert passed["blessed"] and len(passed["checks"]) == 3
    refused = decide(
        CLASSIFY, SCORES, GateParams(min_accuracy=0.95, min_macro_f1=None, max_log_loss=0.1)
    )
    assert not refused["blessed"]
    assert [(c["metric"], c["passed"]) for c in refused["checks"]] == [
        ("accuracy", False),
        ("log_loss", False),
    ]


def test_challenger_may_not_regress_beyond_the_margin_on_gated_metrics():
    params = GateParams(min_accuracy=0.5, min_macro_f1=None, max_log_loss=1.0, max_regression=0.02)
    champion = {"version": "v0.1.0", "accuracy": 0.91, "macro_f1": 0.95, "log_loss": 0.25}
    verdict = decide(CLASSIFY, SCORES, params, champion)
    relative = {c["metric"]: c for c in verdict["checks"] if c["check"].startswith("no_")}
    assert set(relative) == {"accuracy", "log_loss"}  # macro-F1 has no threshold: not gated
    assert relative["accuracy"]["passed"]  # 0.90 >= 0.91 - 0.02
    assert relative["accuracy"]["champion"] == 0.91
    assert not relative["log_loss"]["passed"]  # 0.30 > 0.25 + 0.02
    assert not verdict["blessed"] and verdict["champion"] == "v0.1.0"


def test_on_fewer_rows_the_challenger_meets_the_champion_on_those_rows_only():
    params = GateParams(min_accuracy=0.5, min_macro_f1=None, max_regression=0.0)
    champion = {"version": "v0.1.0", "accuracy": 0.88, "macro_f1": 0.8, "log_loss": 0.3}
    champion |= {"rows": 40, "left_out": 20, "challenger": {"accuracy": 0.87}}
    comparison = {"rows": 40, "left_out": 20, "min_rows": 30, "reason": "r", "champion": "v0.1.0"}
    verdict = decide(CLASSIFY, SCORES, params, champion, comparison=comparison)
    checks = {c["check"]: c for c in verdict["checks"]}
    assert checks["comparison_rows"]["passed"] and checks["comparison_rows"]["value"] == 40
    assert checks["no_regression_accuracy"]["value"] == 0.87  # not the whole split's 0.90
    assert not verdict["blessed"] and verdict["comparison"] == comparison


def test_too_few_comparison_rows_refuse_and_say_the_ways_forward():
    comparison = {"rows": 9, "left_out": 51, "min_rows": 30, "champion": "v0.2.0"}
    comparison["reason"] = "v0.2.0 was split by a hash of its feature values (seed 42...)"
    verdict = decide(CLASSIFY, SCORES, GateParams(min_accuracy=0.5), comparison=comparison)
    assert not verdict["blessed"] and verdict["champion"] == "v0.2.0"
    message = refusal(verdict)
    assert "comparison_rows: rows 9 (needs >= 30)" in message
    assert "can be compared on 9 of 60 test rows" in message and "seed 42" in message
    assert "--set evaluate.compare_champion=false" in message


def test_first_run_has_no_relative_checks():
    verdict = decide(CLASSIFY, SCORES, GateParams(min_accuracy=0.5, min_macro_f1=None))
    assert [c["check"] for c in verdict["checks"]] == ["min_accuracy"]


def test_significance_is_required_only_when_asked():
    y = np.array([0, 1, 0, 1])
    same = CLASSIFY.significance(y, np.eye(2)[y], np.eye(2)[y], alpha=0.05)
    assert not same["passed"]
    champion = {"version": "v1.0.0", **SCORES}
    lenient = GateParams(min_accuracy=0.5, min_macro_f1=None, max_regression=0.5)
    assert decide(CLASSIFY, SCORES, lenient, champion, same)["blessed"]
    strict = lenient.model_copy(update={"require_significant": True})
    assert not decide(CLASSIFY, SCORES, strict, champion, same)["blessed"]


def test_slice_thresholds_apply_to_their_column_only():
    slices = {
        "color=red": {"accuracy": 0.6},
        "color=blue": {"accuracy": 0.95},
        "size=big": {"accuracy": 0.1},
    }
    checks = slice_checks(CLASSIFY, slices, [SliceGate(column="color", min_accuracy=0.8)])
    assert [(c["check"], c["passed"]) for c in checks] == [
        ("slice color=red", False),
        ("slice color=blue", True),
    ]


def test_regression_gates_r2_and_errors_and_errors_may_grow_by_a_share():
    scores = {"rmse": 10.5, "mae": 8.0, "r2": 0.52}
    params = GateParams(min_r2=0.5, max_rmse=12.0, max_mae=None, max_regression=0.1)
    champion = {"version": "v0.1.0", "rmse": 9.9, "mae": 7.0, "r2": 0.55}
    verdict = decide(REGRESS, scores, params, champion)
    checks = {c["check"]: c for c in verdict["checks"]}
    assert set(checks) == {"min_r2", "max_rmse", "no_regression_r2", "no_regression_rmse"}
    assert checks["no_regression_rmse"]["threshold"] == pytest.approx(9.9 * 1.1)  # relative
    assert checks["no_regression_r2"]["threshold"] == pytest.approx(0.45)  # absolute
    assert verdict["blessed"]
    assert not decide(REGRESS, scores | {"rmse": 11.0}, params, champion)["blessed"]
