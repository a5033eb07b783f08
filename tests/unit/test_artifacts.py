from flows.artifacts import failure_markdown, gate_markdown, metrics_rows, validation_rows
from flows.stages import stage_error
from tasks.common.errors import RunBusy

SCORES = {"accuracy": 0.9512345, "macro_f1": 0.94, "log_loss": 0.2, "per_class": {"0": 1.0}}


def test_validation_table_has_one_row_per_check_with_nested_values_shortened():
    report = {
        "checks": [
            {"expectation": "expect_column_to_exist", "column": "label", "success": True},
            {
                "expectation": "expect_column_values_to_be_in_set",
                "column": "color",
                "success": False,
                "observed": {"unexpected": ["purple"] * 40},
                "unexpected_percent": 12.345678,
                "examples": ["purple"],
            },
        ]
    }
    first, second = validation_rows(report)
    assert first == {
        "expectation": "expect_column_to_exist",
        "column": "label",
        "success": True,
        "observed": None,
        "unexpected_percent": None,
    }
    assert second["success"] is False and second["unexpected_percent"] == 12.3457
    observed = second["observed"]
    assert observed.startswith('{"unexpected": ["purple"') and len(observed) == 80


def test_metrics_table_puts_the_champion_beside_the_challenger_when_scored():
    alone = metrics_rows(SCORES)
    assert alone == [
        {"metric": "accuracy", "challenger": 0.9512},
        {"metric": "macro_f1", "challenger": 0.94},
        {"metric": "log_loss", "challenger": 0.2},
    ]
    champion = {"accuracy": 0.9, "macro_f1": 0.95}  # its version is in gate.json
    rows = metrics_rows(SCORES | {"champion": champion})
    assert rows[0] == {"metric": "accuracy", "challenger": 0.9512, "champion": 0.9} | {
        "change": 0.0512
    }
    assert rows[2] == {"metric": "log_loss", "challenger": 0.2, "champion": None, "change": None}


def test_gate_markdown_names_the_verdict_and_the_champion():
    check = {"check": "no_regression_accuracy", "value": 0.9, "champion": 0.95, "op": ">="}
    gate = {
        "blessed": False,
        "champion": "v0.1.0",
        "checks": [check | {"threshold": 0.94, "passed": False}],
    }
    text = gate_markdown(gate)
    assert text.startswith("# Gate: refused against champion v0.1.0")
    assert "| no_regression_accuracy | 0.9 | 0.95 | >= 0.94 | FAIL |" in text


def test_failure_report_names_the_stage_its_exit_code_and_its_last_output():
    tail = ["Running stage 'train':", "> python -m tasks.train", "Killed"]
    text = failure_markdown(stage_error("train", -9, tail, []))
    assert text.startswith("# Run failed: stage `train`")
    assert "| trainflow exit code | 5 (STAGE_FAILED) |" in text
    assert "| stage exit code | -9 |" in text
    assert "Last 3 lines of its output:" in text and "\nKilled\n" in text

    busy = failure_markdown(RunBusy("another retraining run is using this workspace"))
    assert busy.startswith("# Run failed: `RunBusy`")
    assert "| trainflow exit code | 8 (BUSY) |" in busy and "stage exit code" not in busy
    assert "| trainflow exit code | 1 (INTERNAL) |" in failure_markdown(KeyError("x"))
