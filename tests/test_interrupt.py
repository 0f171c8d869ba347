"""Safe reruns: a stage killed with SIGKILL leaves nothing half-written behind, and runs are deterministic,
down to the model's bytes."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import Project

pytestmark = pytest.mark.slow  # end-to-end: `make check` leaves it out


def metrics(project: Project) -> dict[str, str]:
    """Every `metrics/**/*.json` but the wall-clock timings, by path."""
    root = project.root / "metrics"
    files = sorted(p for p in root.rglob("*.json") if "timing" not in p.parts)
    return {p.relative_to(root).as_posix(): p.read_text() for p in files}


def models(project: Project) -> dict[str, bytes]:
    """The bytes of every file directly in `models/`, by name."""
    return {p.name: p.read_bytes() for p in sorted((project.root / "models").iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def project(pipeline_run: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A copy of the shared project after its one `dvc repro` (training long enough to be interrupted)."""
    project = pipeline_run.copy(tmp_path_factory.mktemp("interrupt") / "project")
    project.first_metrics, project.first_models = metrics(project), models(project)
    return project


def test_two_forced_runs_from_scratch_give_identical_metrics(project: Project) -> None:
    """Every stage but two whose reruns other tests compare byte for byte: `train` (below, the same run twice) and
    `crossval` (tests/test_pipeline.py, on other cores)."""
    stages = set(yaml.safe_load((project.root / "dvc.yaml").read_text())["stages"])
    assert set(project.first_run) == stages and len(project.first_metrics) >= 10  # Whisper's metrics among them
    dvc_yaml = project.root / "dvc.yaml"
    before = dvc_yaml.read_text()
    frozen = before  # a frozen stage is not run, even with --force (`dvc freeze` refuses a stage with ${...} in it)
    for name in ("train", "crossval"):
        frozen = frozen.replace(f"\n  {name}:\n", f"\n  {name}:\n    frozen: true\n", 1)
    try:
        dvc_yaml.write_text(frozen)
        ran, _ = project.repro("--force")
    finally:
        dvc_yaml.write_text(before)
    assert sorted(ran) == sorted(stages - {"train", "crossval"})
    assert metrics(project) == project.first_metrics
    assert models(project) == project.first_models and set(project.first_models) == {
        "model.keras",
        "model.json",
        "model.onnx",
        "detector.onnx",
    }


def test_train_killed_mid_run_then_rerun_gives_the_uninterrupted_outputs(project: Project) -> None:
    project.set_params(train={"epochs": 6})  # a run DVC has no cached result for
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env["PYTHONUNBUFFERED"] = "1"
    run = subprocess.Popen(
        ["dvc", "repro"],
        cwd=project.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen = []
    for line in run.stdout:
        seen.append(line)
        if line.startswith("epoch 1/6"):
            os.killpg(run.pid, signal.SIGKILL)  # dvc and the training process, mid-epoch
            break
    run.wait(60)
    assert run.returncode == -signal.SIGKILL, "".join(seen[-20:])
    models = project.root / "models"
    assert not (models / "model.keras").exists()  # DVC removed the old model; no half-written one took its place
    assert "train" in project.run("dvc", "status")

    ran, _ = project.repro("evaluate")  # the model and its scores (export, noise, crossval would rerun as well)
    assert ran == ["train", "evaluate"]
    recovered = metrics(project)
    assert recovered != project.first_metrics  # 6 epochs, not 20
    keras_file = (models / "model.keras").read_bytes()
    ran, _ = project.repro("--force", "--single-item", "train")  # the same run, uninterrupted
    assert ran == ["train"] and (models / "model.keras").read_bytes() == keras_file
    assert project.repro("evaluate")[0] == []  # the same model to the byte: nothing after train reruns
    assert metrics(project) == recovered
    assert "Data and pipelines are up to date" in project.run("dvc", "status", "evaluate")


# `stages.train` run as DVC runs it, but with a `keras.Model.save` that dies (SIGKILL) half-way through the file.
DIES_WHILE_SAVING = """
import os, runpy, signal, sys
import keras

def save(self, path, *args, **kwargs):
    with open(path, "wb") as file:
        file.write(b"half a model")
    os.kill(os.getpid(), signal.SIGKILL)

keras.Model.save = save
sys.argv[0] = "stages.train"
runpy.run_module("stages.train", run_name="__main__")
"""


def test_train_killed_while_writing_the_model_leaves_the_old_model_whole(project: Project) -> None:
    keras_file = project.root / "models" / "model.keras"
    before = keras_file.read_bytes()
    paths = ["data/features", "data/augmented", "models/model.keras", "models/model.json", "metrics/train"]
    result = subprocess.run(
        [sys.executable, "-c", DIES_WHILE_SAVING, *paths], cwd=project.root, capture_output=True, timeout=600
    )
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    assert keras_file.read_bytes() == before  # the old model, whole: never half a new one under its name


# `stages.evaluate` run as DVC runs it, but dying (SIGKILL) half-way through the first file it writes: its metrics.
DIES_WHILE_WRITING = """
import os, pathlib, runpy, signal, sys

def write_text(self, text, *args, **kwargs):
    with open(self, "w") as file:
        file.write(text[: len(text) // 2])
    os.kill(os.getpid(), signal.SIGKILL)

pathlib.Path.write_text = write_text
sys.argv[0] = "stages.evaluate"
runpy.run_module("stages.evaluate", run_name="__main__")
"""


def test_evaluate_killed_while_writing_its_metrics_leaves_the_old_ones_whole(project: Project) -> None:
    eval_json = project.root / "metrics" / "eval.json"
    before = eval_json.read_text()
    outs = ["eval.json", "predictions.csv", "classification_report.txt", "confusion.png"]
    result = subprocess.run(
        [sys.executable, "-c", DIES_WHILE_WRITING, "data/features", "models", *(f"metrics/{out}" for out in outs)],
        cwd=project.root,
        capture_output=True,
        timeout=600,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    assert eval_json.read_text() == before  # never half a file under its name
    assert (project.root / "metrics" / ".eval.partial.json").is_file()  # the kill came while writing it
