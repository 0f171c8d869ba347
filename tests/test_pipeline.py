"""End to end: the DVC pipeline in a fresh git + DVC repository, on a synthetic corpus."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from stages.frontend import resample
from tests.conftest import Project, synth_clip, write_lock

ALL_STAGES = ["fetch", "ingest", "features", "train", "evaluate", "gallery"]


@pytest.fixture(scope="module")
def project(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A project pointed at the synthetic corpus (through its own lock), after one `dvc repro`."""
    project = Project(tmp_path_factory.mktemp("project"))
    write_lock(corpus, project.root / "corpus.sha256")
    project.set_params(
        fetch={"local_copy": str(corpus), "lock": "corpus.sha256", "url": "http://127.0.0.1:9/offline"},
        train={"epochs": 60, "patience": 10},
    )
    project.run("git", "add", "-A")
    project.run("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "synthetic corpus")
    project.first_run, project.first_output = project.repro()
    return project


def test_first_repro_runs_every_stage_and_writes_metrics(project: Project) -> None:
    assert project.first_run == ALL_STAGES
    scores = json.loads((project.root / "metrics" / "eval.json").read_text())
    assert scores["test_clips"] == 36  # 20 % of 180 clips
    assert scores["accuracy"] >= 0.9, scores
    assert set(scores["per_class"]) == {str(d) for d in range(10)}
    assert {"precision", "recall", "f1"} <= set(scores["macro"]) and "f1" in scores["weighted"]
    report = json.loads((project.root / "metrics" / "data_report.json").read_text())
    assert report["accepted"] == 180 and report["rejected"] == 0 and report["speakers"] == 3
    predictions = pd.read_csv(project.root / "metrics" / "predictions.csv")
    assert len(predictions) == 36 and {"actual", "predicted"} <= set(predictions.columns)
    for png in ("confusion.png", "gallery.png"):
        assert (project.root / "metrics" / png).read_bytes()[:4] == b"\x89PNG"
    assert (project.root / "metrics" / "train" / "plots" / "metrics" / "train" / "loss.tsv").is_file()
    meta = json.loads((project.root / "models" / "model.json").read_text())
    assert meta["kind"] == "mlp" and meta["feature_params"]["n_mfcc"] == 20


def test_features_are_parquet_readable_by_pandas(project: Project) -> None:
    table = pd.read_parquet(project.root / "data" / "features")
    assert len(table) == 180
    assert len(table["mfcc"].iloc[0]) == 20 * 64 and len(table["summary"].iloc[0]) == 140


def test_second_repro_does_nothing(project: Project) -> None:
    ran, _ = project.repro()
    assert ran == []
    assert "up to date" in project.run("dvc", "status")


def test_train_param_reruns_only_train_and_evaluate(project: Project) -> None:
    project.set_params(train={"epochs": 50})
    ran, _ = project.repro()
    assert ran == ["train", "evaluate"]
    assert project.repro()[0] == []


def test_features_param_reruns_features_onward(project: Project) -> None:
    project.set_params(features={"n_mfcc": 16})
    ran, _ = project.repro()
    assert ran == ["features", "train", "evaluate", "gallery"]
    meta = json.loads((project.root / "models" / "model.json").read_text())
    assert meta["feature_params"]["n_mfcc"] == 16
    assert "metrics/eval.json" in project.run("dvc", "metrics", "show")


def _mkdir(path: Path) -> Path:
    path.mkdir(exist_ok=True)
    return path


def test_predict_cli_reads_any_format_and_reports_bad_files(project: Project, tmp_path: Path) -> None:
    """New takes at 8 kHz mono and as 44.1 kHz stereo 24-bit give the same digits; junk gets a line."""
    for digit in range(10):
        y = synth_clip(digit, 1, 7)  # a take the corpus does not have
        sf.write(_mkdir(tmp_path / "orig") / f"{digit}.wav", y, 8000)
        y44 = resample(y, 8000, 44100)
        sf.write(_mkdir(tmp_path / "hifi") / f"{digit}.wav", np.stack([y44, y44], 1), 44100, "PCM_24")
    (tmp_path / "junk.wav").write_text("not audio")

    def digits(folder: Path) -> list[int]:
        output = project.run("digits", "predict", str(folder))
        return [int(line.split("\t")[1]) for line in output.splitlines() if "\t" in line]

    original = digits(tmp_path / "orig")
    assert original == digits(tmp_path / "hifi")
    assert sum(d == p for d, p in enumerate(original)) >= 9, original

    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "digits"),
            "predict",
            str(tmp_path / "junk.wav"),
            str(tmp_path / "orig" / "3.wav"),
        ],
        cwd=project.root,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"{tmp_path / 'junk.wav'}: cannot read audio")
    assert "Traceback" not in result.stderr
    assert result.stdout.startswith(f"{tmp_path / 'orig' / '3.wav'}\t")
