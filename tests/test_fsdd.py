"""Integration: the whole pipeline on the real Free Spoken Digit Dataset (the shared local copy)."""

import json

import pytest

from tests.conftest import FSDD, Project

pytestmark = pytest.mark.skipif(not FSDD.is_dir(), reason=f"no FSDD copy at {FSDD} (shared/ is not beside the project)")


def test_pipeline_on_fsdd_random_split(tmp_path) -> None:
    """The default recipe; leave-one-speaker-out on one speaker only, to keep CI short (`make run` does all six)."""
    project = Project(tmp_path)
    project.set_params(
        fetch={"local_copy": str(FSDD), "url": "http://127.0.0.1:9/offline"}, crossval={"speakers": ["nicolas"]}
    )
    ran, output = project.repro()
    assert len(ran) == 9 and {"crossval", "noise"} <= set(ran)
    assert "3000 files verified against the lock, from local copy" in output
    report = json.loads((tmp_path / "metrics" / "data_report.json").read_text())
    assert report["accepted"] == 3000 and report["speakers"] == 6
    scores = json.loads((tmp_path / "metrics" / "eval.json").read_text())
    crossval = json.loads((tmp_path / "metrics" / "crossval.json").read_text())
    noise = json.loads((tmp_path / "metrics" / "noise.json").read_text())
    print(
        f"FSDD, cnn: random-split test accuracy {scores['accuracy']:.4f} on {scores['test_clips']} clips; "
        f"nicolas never heard: {crossval['mean_accuracy']:.4f}; white noise 0 dB {noise['white']['snr_0db']:.4f}"
    )
    assert scores["test_clips"] == 600
    assert scores["accuracy"] >= 0.99
    assert crossval["folds"]["nicolas"]["clips"] == 500
    assert crossval["mean_accuracy"] >= 0.75  # the hardest FSDD voice; 0.65 without augmentation
    assert noise["white"]["snr_0db"] >= 0.7
