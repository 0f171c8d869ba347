import subprocess
import sys
from pathlib import Path

DIGITS = str(Path(sys.executable).parent / "digits")


def test_help_lists_every_stage() -> None:
    out = subprocess.run([DIGITS, "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("fetch", "ingest", "features", "augment", "train", "evaluate", "export", "crossval", "predict"):
        assert command in out


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    result = subprocess.run([DIGITS, "ingest", "--params", str(tmp_path / "none.yaml")], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: params file not found: {tmp_path / 'none.yaml'}"
