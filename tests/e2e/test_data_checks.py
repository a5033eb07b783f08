"""Data checks as a user meets them: real processes, exit code 4, nothing after validate runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BIN, on_terminal, run
from tests.unit.test_validate import clean_table, write_images, write_table

pytestmark = pytest.mark.e2e
GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]


@pytest.fixture
def plain_env(tmp_path: Path) -> dict[str, str]:
    """Our venv first on PATH; no Prefect needed for DVC and the stages."""
    return os.environ | {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}


def stage(workspace: Path, env: dict[str, str], name: str) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", f"tasks.{name}"], workspace, env)


def test_bad_table_exits_4_names_the_problem_and_prepare_refuses(tmp_path, plain_env):
    (tmp_path / "params.yaml").write_text("data:\n  source: tiny\nvalidate:\n  suite: tiny\n")
    write_table(tmp_path, clean_table())
    drafted = run(
        [
            sys.executable,
            "-c",
            "from flows.suite import init_suite; from tasks.common.params import "
            "load_params; print(init_suite(load_params()))",
        ],
        tmp_path,
        plain_env,
    )
    assert drafted.stdout.strip() == "gx/expectations/tiny.json", drafted.stderr
    frame = clean_table().drop(columns="x2")
    frame.loc[:9, "color"] = "purple"
    write_table(tmp_path, frame)
    failed = stage(tmp_path, plain_env, "validate")
    assert failed.returncode == 4, failed.stderr
    assert "trainflow: stage 'validate' failed: tiny: " in failed.stderr
    assert "expect_column_to_exist on column 'x2': column missing" in failed.stderr
    assert "expect_column_values_to_be_in_set on column 'color'" in failed.stderr
    assert "row 0 (purple)" in failed.stderr
    page = Path(failed.stderr.rsplit("Data Docs: ", 1)[1].strip())
    assert page.is_file() and "purple" in page.read_text()
    report = json.loads((tmp_path / "reports/validation.json").read_text())
    assert report["success"] is False and report["data_docs"].endswith("index.html")
    refused = stage(tmp_path, plain_env, "prepare")
    assert refused.returncode == 4 and "failed validation" in refused.stderr
    assert not (tmp_path / "data/prepared").exists()


def test_truncated_image_exits_4_naming_the_file(tmp_path, plain_env):
    (tmp_path / "params.yaml").write_text("data:\n  source: my-images\n")
    images = write_images(tmp_path)
    path = images / "fox" / "007.png"
    path.write_bytes(path.read_bytes()[:25])
    failed = stage(tmp_path, plain_env, "validate")
    assert failed.returncode == 4, failed.stderr
    assert "expect_column_values_to_be_in_set on column 'decodable'" in failed.stderr
    assert "fox/007.png" in failed.stderr


def commit(workspace: Path, env: dict[str, str], *overrides: str) -> None:
    from tasks.common.params import write_overrides

    write_overrides(workspace / "params.yaml", overrides)
    subprocess.run([*GIT, "add", "-A"], cwd=workspace, env=env, check=True)
    subprocess.run([*GIT, "commit", "-qm", "data"], cwd=workspace, env=env, check=True)


def test_dvc_repro_stops_at_validate_on_bad_data(workspace, plain_env):
    clean_table().query("label == 'yes'").to_csv(workspace / "one-class.csv", index=False)
    commit(workspace, plain_env, "data.source=one-class.csv")
    result = run([str(BIN / "dvc"), "repro", "prepare"], workspace, plain_env)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "expect_column_unique_value_count_to_be_between on column 'label'" in output
    assert "exited with 4" in output
    assert "Running stage 'prepare'" not in output
    assert not (workspace / "data/prepared").exists()


def test_breast_cancer_passes_its_drafted_suite_under_dvc(workspace, plain_env):
    commit(workspace, plain_env, "data.source=sklearn:breast_cancer", "validate.suite=cancer")
    assert stage(workspace, plain_env, "ingest").returncode == 0
    drafted = run(
        [
            sys.executable,
            "-c",
            "from flows.suite import init_suite; from tasks.common.params import "
            "load_params; init_suite(load_params())",
        ],
        workspace,
        plain_env,
    )
    assert drafted.returncode == 0, drafted.stderr
    shutil.rmtree(workspace / "data")
    commit(workspace, plain_env)
    result = run([str(BIN / "dvc"), "repro", "prepare"], workspace, plain_env)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((workspace / "reports/validation.json").read_text())
    assert report["success"] and report["rows"] == 569 and len(report["checks"]) > 100
    assert (workspace / report["data_docs"]).is_file()
    reference = json.loads((workspace / "data/prepared/reference.json").read_text())
    assert reference["kind"] == "table" and len(reference["columns"]) == 31
    status = subprocess.run(
        ["git", "status", "--porcelain", "gx"], cwd=workspace, text=True, capture_output=True
    ).stdout
    assert status == "", "validate must not rewrite committed gx/ files"


def messy_export(path: Path, rows: int = 400) -> None:
    """The table from the issue, as a European spreadsheet exports it: ';' between columns,
    decimal commas, Windows-1252 text, an order number per row, an empty column, and labels
    written several ways."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(11)
    animal = rng.choice(["cat", "dog"], rows)
    written = {"cat": ["cat", "Cat ", "CAT"], "dog": ["dog", " Dog"]}
    label = [rng.choice(written[a]) for a in animal]
    weight = np.where(animal == "cat", 4.0, 20.0) + rng.normal(0, 2, rows)
    frame = pd.DataFrame(
        {
            "Bestellnummer": np.arange(70_001, 70_001 + rows),
            "Gewicht": weight.round(2),
            "Farbe": rng.choice(["weiß", "schwarz", "braun"], rows),
            "Notiz": [""] * rows,
            "Tier": label,
        }
    )
    text = frame.to_csv(sep=";", decimal=",", index=False)
    path.write_bytes(text.encode("cp1252"))


def test_a_messy_export_fails_on_spellings_then_trains_on_the_real_classes(workspace, env):
    from tests.conftest import FAST, trainflow

    messy_export(workspace / "tiere.csv")
    overrides = ["data.source=tiere.csv", "data.target=Tier", *FAST]
    commit(workspace, env, *overrides)
    ingested = stage(workspace, env, "ingest")
    assert "tiere.csv: read with separator ';', decimal mark ','" in ingested.stdout
    failed = stage(workspace, env, "validate")
    assert failed.returncode == 4, failed.stdout + failed.stderr
    assert "expect_no_case_or_space_variants on column 'Tier'" in failed.stderr
    assert "'Cat '" in failed.stderr and "' Dog'" in failed.stderr
    assert "data.normalize_labels: true" in failed.stderr
    shutil.rmtree(workspace / "data")  # outputs of the stages run by hand belong to DVC
    shutil.rmtree(workspace / "reports")
    commit(workspace, env, "data.normalize_labels=true")
    done = trainflow(workspace, env, "run")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((workspace / "reports/validation.json").read_text())
    assert report["excluded_columns"] == ["Bestellnummer", "Notiz"]
    meta = json.loads((workspace / "models/model/meta.json").read_text())
    assert meta["signature"]["classes"] == ["cat", "dog"]
    reference = json.loads((workspace / "data/prepared/reference.json").read_text())
    assert set(reference["columns"]["Farbe"]["shares"]) == {"weiß", "schwarz", "braun"}
    assert [s["column"] for s in meta["signature"]["inputs"]] == ["Gewicht", "Farbe"]
    predict = [str(BIN / "trainflow"), "predict", "tiere.csv", "--model", "v0.1.0"]
    code, stdout, terminal = on_terminal([*predict, "--out", "served.csv"], workspace, env)
    assert code == 0, stdout + terminal
    # Typed in a terminal: a bar with rows done out of the CSV's (counted), rate, time left.
    assert re.search(r"predict .*400/400 rows .*rows/s", terminal), terminal
    import pandas as pd

    predictions = pd.read_csv(workspace / "served.csv")
    assert len(predictions) == 400 and {"p_cat", "p_dog"} <= set(predictions.columns)
    truth = predictions["actual"].str.strip().str.lower()
    assert (predictions["predicted"] == truth).mean() > 0.9
