import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.serve import check_schedule
from tests.conftest import ROOT


def test_schedules_prefect_would_reject_fail_before_serving():
    check_schedule("0 3 * * *", None)
    check_schedule(None, 3600)
    with pytest.raises(ValueError, match="--cron '61 3 \\* \\* \\*': not a cron expression"):
        check_schedule("61 3 * * *", None)
    with pytest.raises(ValueError, match="--interval 0: must be more than 0 seconds"):
        check_schedule(None, 0)
    with pytest.raises(ValueError, match="--cron and --interval: give one schedule, not both"):
        check_schedule("0 3 * * *", 3600)


def test_serve_with_a_bad_cron_exits_with_a_usage_error():
    result = CliRunner().invoke(app, ["serve", "--cron", "every night", "-w", str(ROOT)])
    assert result.exit_code == 2
    assert "not a cron expression" in result.output


def test_serve_with_two_schedules_exits_with_a_usage_error_naming_both():
    result = CliRunner().invoke(
        app, ["serve", "--cron", "0 3 * * *", "--interval", "60", "-w", str(ROOT)]
    )
    assert result.exit_code == 2
    assert "--cron and --interval: give one schedule, not both" in result.output
