import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from digits.cli import STAGES
from digits.summary import summarise
from tests.conftest import PROJECT

DIGITS = str(Path(sys.executable).parent / "digits")


def test_help_lists_every_stage_of_the_pipeline_and_the_other_commands() -> None:
    out = subprocess.run([DIGITS, "--help"], capture_output=True, text=True, check=True).stdout
    listed = {line.split()[1] for line in out.splitlines() if line.startswith("│ ") and line[2] != " "}
    listed -= {"--help"}
    pipeline = set(yaml.safe_load((PROJECT / "dvc.yaml").read_text())["stages"])
    assert set(STAGES) == pipeline and listed == pipeline | {"predict", "serve", "summary"}


def test_a_stage_command_shows_its_paths() -> None:
    out = subprocess.run([DIGITS, "evaluate", "--help"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("usage: digits evaluate [-h] [--params PARAMS]")
    assert "features models eval_json predictions report confusion" in " ".join(out.split())


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [DIGITS, "ingest", "--params", str(tmp_path / "none.yaml"), "m.parquet", "r.parquet", "report.json"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: params file not found: {tmp_path / 'none.yaml'}"


def test_the_summary_fits_100_columns() -> None:
    text = summarise(PROJECT / "metrics")
    crossval = json.loads((PROJECT / "metrics" / "crossval.json").read_text())
    assert max(len(line) for line in text.splitlines()) <= 100
    assert f"{crossval['mean_accuracy']:.4f} ± {crossval['std_accuracy']:.4f}" in text
    assert all(speaker in text for speaker in crossval["folds"])


def test_an_unexpected_error_in_a_stage_is_one_line_and_a_log(capsys: pytest.CaptureFixture) -> None:
    from digits import stage

    def run(path: Path) -> None:
        """A stage with a bug."""
        raise KeyError("boom\tbang")

    with pytest.raises(SystemExit) as exit_info:
        stage.main(run, ["x"], prog="digits buggy")
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("error: unexpected KeyError: 'boom\\\\tbang' (a bug in stage ")
    log = Path(err.rsplit("traceback in ", 1)[1].rstrip(")\n"))
    assert "Traceback" in log.read_text() and "boom" in log.read_text()
    log.unlink()
