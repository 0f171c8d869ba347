"""The ingest stage: every file becomes a manifest row or a reject row with its reason."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from digits import DigitsError
from tests.badfiles import make_bad_corpus
from tests.conftest import ingest_into
from tests.corpus import make_corpus, synth_clip

PARAMS = {"split": "random", "test_size": 0.2, "val_size": 0.1, "test_speakers": [], "seed": 0}
PARAMS |= {"min_seconds": 0.05, "max_seconds": 10.0}


def ingest(root: Path, tmp_path: Path, **params) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    where = {} if "sources" in params else {"data_dir": str(root)}  # one corpus, `rec`, unless sources are given
    ingest_into(tmp_path / "data", **{**PARAMS, **where, **params})
    return (
        pd.read_parquet(tmp_path / "data" / "manifest.parquet"),
        pd.read_parquet(tmp_path / "data" / "rejects.parquet"),
        json.loads((tmp_path / "data" / "data_report.json").read_text()),
    )


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    """20 good clips, stereo and 16 kHz ones among them, plus junk of several kinds."""
    root = tmp_path / "rec"
    root.mkdir()
    for digit in range(10):
        for take in range(2):
            y = synth_clip(digit, 0, take)
            if take == 1 and digit % 2:
                sf.write(root / f"{digit}_ann_{take}.wav", np.stack([y, y], 1), 8000, "PCM_24")
            else:
                sf.write(root / f"{digit}_ann_{take}.wav", y, 8000)
    shutil.copy(root / "3_ann_0.wav", root / "3_ann_9.wav")  # byte-identical duplicate
    (root / "4_ann_5.wav").write_bytes(b"")
    (root / "5_ann_5.wav").write_text("this is text, not audio")
    (root / "x_ann_1.wav").write_bytes((root / "1_ann_0.wav").read_bytes()[:-2] + b"zz")
    (root / "notes.txt").write_text("hello")
    return root


def test_every_file_is_accepted_or_rejected_with_a_reason(messy: Path, tmp_path: Path) -> None:
    manifest, rejects, report = ingest(messy, tmp_path)
    assert len(manifest) == 20
    reasons = dict(zip(rejects["path"].map(lambda p: Path(p).name), rejects["reason"], strict=True))
    assert reasons["3_ann_9.wav"] == f"duplicate of {messy / '3_ann_0.wav'}"
    assert reasons["4_ann_5.wav"] == "empty file"
    assert reasons["5_ann_5.wav"].startswith("not audio")
    assert reasons["x_ann_1.wav"].startswith("unlabelled")
    assert reasons["notes.txt"].startswith("not an audio file name")
    assert report["found"] == 25 and report["accepted"] == 20 and report["rejected"] == 5
    assert report["rejected_by_reason"]["duplicate of"] == 1
    assert set(manifest["channels"]) == {1, 2}
    assert (
        manifest["speaker"].eq("rec/ann").all()
        and manifest["corpus"].eq("rec").all()
        and manifest["take"].isin([0, 1]).all()
    )
    assert manifest["split"].value_counts().to_dict() == {"train": 14, "test": 4, "val": 2}
    assert manifest["sha256"].is_unique


def test_nothing_usable_is_a_clear_error(tmp_path: Path) -> None:
    root = tmp_path / "junk"
    root.mkdir()
    (root / "a.wav").write_bytes(b"")
    with pytest.raises(DigitsError, match=r"no usable recordings .* 1 files found, none accepted"):
        ingest(root, tmp_path)


def test_split_that_does_not_fit_the_data_is_a_clear_error(messy: Path, tmp_path: Path) -> None:
    with pytest.raises(DigitsError, match=r"cannot split .*not in the dataset: bob"):
        ingest(messy, tmp_path, split="speaker", test_speakers=["bob"])


def test_a_corpus_of_bad_files_is_accounted_for_file_by_file(tmp_path: Path) -> None:
    root = make_corpus(tmp_path / "rec", speakers=2, takes=3)  # 60 good clips
    verdicts = make_bad_corpus(root, sorted(root.glob("*.wav")))
    manifest, rejects, report = ingest(root, tmp_path)
    assert report["found"] == 60 + len(verdicts) == report["accepted"] + report["rejected"]
    reasons = {Path(p).relative_to(root).as_posix(): r for p, r in zip(rejects["path"], rejects["reason"], strict=True)}
    accepted = {Path(p).relative_to(root).as_posix() for p in manifest["path"]}
    for name, expected in verdicts.items():
        if expected is None:
            assert name in accepted, (name, reasons.get(name))
        else:
            assert reasons.get(name, "").startswith(expected), (name, reasons.get(name))
    assert len(accepted) == 60 + sum(v is None for v in verdicts.values())
    assert report["rejected_by_reason"]["duplicate of"] == 2
    assert {"too short", "too long", "silent", "NaN or infinite samples", "cannot open"} <= set(
        report["rejected_by_reason"]
    )


def test_corpora_are_namespaced_and_a_training_only_one_is_all_train(tmp_path: Path) -> None:
    real = make_corpus(tmp_path / "real", speakers=2, takes=3)  # 60 clips, speakers s0 and s1
    extra = tmp_path / "extra"
    (extra / "s0").mkdir(parents=True)  # another corpus's s0: not the same speaker
    for digit in range(10):
        for take in range(2):
            sf.write(extra / "s0" / f"{digit}_s0_{take}.wav", synth_clip(digit, 5, take), 8000, "PCM_16")
    (extra / "corpus.json").write_text(json.dumps({"engines": {"espeak-ng": "1.51"}}))  # its card, not a file
    sources = {
        "real": {"data_dir": str(real), "layout": "auto", "use": "all"},
        "tts": {"data_dir": str(extra), "layout": "audiomnist", "use": "train"},
        "gone": {"data_dir": str(tmp_path / "nowhere"), "layout": "auto", "use": "off"},  # not even looked for
    }
    manifest, rejects, report = ingest(real, tmp_path, sources=sources)
    assert rejects.empty and manifest["corpus"].value_counts().to_dict() == {"real": 60, "tts": 20}
    assert sorted(manifest["speaker"].unique()) == ["real/s0", "real/s1", "tts/s0"]
    tts = manifest[manifest["corpus"] == "tts"]
    assert tts["training_only"].all() and (tts["split"] == "train").all()
    assert not manifest.loc[manifest["corpus"] == "real", "training_only"].any()
    assert set(manifest.loc[manifest["corpus"] == "real", "split"]) == {"train", "val", "test"}
    assert list(report["corpora"]) == ["real", "tts"] and report["found"] == 80 == report["accepted"]
    assert report["corpora"]["tts"] == {
        "use": "train",
        "found": 20,
        "accepted": 20,
        "rejected": 0,
        "rejected_by_reason": {},
        "splits": {"train": 20},
        "speakers": 1,
        "labels": 10,
        "engines": {"espeak-ng": "1.51"},
    }


def test_a_copy_in_another_corpus_is_a_duplicate(tmp_path: Path) -> None:
    real = make_corpus(tmp_path / "real", speakers=1, takes=2)
    (tmp_path / "again" / "s0").mkdir(parents=True)
    shutil.copy(real / "3_s0_1.wav", tmp_path / "again" / "s0" / "3_s0_1.wav")
    sources = {
        "real": {"data_dir": str(real), "layout": "auto", "use": "all"},
        "again": {"data_dir": str(tmp_path / "again"), "layout": "audiomnist", "use": "train"},
    }
    manifest, rejects, _ = ingest(real, tmp_path, sources=sources)
    assert len(manifest) == 20 and rejects["reason"].tolist() == [f"duplicate of {real / '3_s0_1.wav'}"]
    assert rejects["corpus"].tolist() == ["again"]
