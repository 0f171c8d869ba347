"""Integration: the whole pipeline on the real Free Spoken Digit Dataset (the shared local copy)."""

import json

import pytest

from tests.conftest import FSDD, Project

pytestmark = pytest.mark.skipif(not FSDD.is_dir(), reason=f"no FSDD copy at {FSDD} (shared/ is not beside the project)")


def test_pipeline_on_fsdd_random_split(tmp_path) -> None:
    project = Project(tmp_path)
    project.set_params(fetch={"local_copy": str(FSDD), "url": "http://127.0.0.1:9/offline"})
    ran, output = project.repro()
    assert ran == ["fetch", "ingest", "features", "train", "evaluate", "gallery"]
    assert "3000 files verified against the lock, from local copy" in output
    report = json.loads((tmp_path / "metrics" / "data_report.json").read_text())
    assert report["accepted"] == 3000 and report["speakers"] == 6
    scores = json.loads((tmp_path / "metrics" / "eval.json").read_text())
    print(f"FSDD random split, mlp: test accuracy {scores['accuracy']:.4f} on {scores['test_clips']} clips")
    assert scores["test_clips"] == 600
    assert scores["accuracy"] >= 0.98
