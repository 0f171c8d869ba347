"""Every benchmark of `make bench` runs, at a tiny size (`DIGITS_BENCH=smoke`), on the synthetic project: a smoke
test, so that a benchmark cannot break unseen. No figure is asserted; `make bench` itself stays outside CI."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Project

pytestmark = pytest.mark.slow  # end-to-end: `make check` leaves it out

# module: (its arguments at the smoke size, what it prints once it has measured, how many times)
BENCHMARKS = {
    "features": (["run", "--clips", "20", "--rounds", "1", "--scale", "200"], "synthetic clips:", 1),
    "throughput": ([], "examples/s", 5),
    "predict": ([], "peak RSS of digits predict", 1),
    "hostile": ([], "\n| 0_", 4),  # a row for each of its 4 inputs
    "embedding": (["--clips", "20"], " s\n", 2),  # cold predict of each model
    "whisper": (["--clips", "20", "--rounds", "1"], " s\n", 2),
    "serve": ([], "requests/s", 6),  # 3 runs of each front end
}


@pytest.fixture(scope="module")
def project(pipeline_run: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    return pipeline_run.copy(tmp_path_factory.mktemp("bench") / "project")


@pytest.mark.parametrize("name", BENCHMARKS)
def test_the_benchmark_runs_and_prints_its_lines(project: Project, name: str, tmp_path: Path) -> None:
    args, line, times = BENCHMARKS[name]
    if name == "features":
        args = [*args, "--corpus-dir", str(tmp_path)]
    env = {
        **os.environ,
        "DIGITS_BENCH": "smoke",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    result = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", *args],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(result.stdout)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert result.stdout.count(line) == times, result.stdout
