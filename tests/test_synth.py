"""The synth stage: seeded synthetic voices from Debian's TTS engines, byte-reproducible, refusing clearly."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from digits import DigitsError
from digits.layouts import parse
from digits.params import SynthParams
from digits.synth import draw_voices, finish
from stages.synth import run
from tests.conftest import params_of


def small(**changes: object) -> SynthParams:
    """The project's synth params with one or two voices per engine and one take."""
    return params_of(SynthParams, **{"voices": {"espeak-ng": 2, "flite": 1, "festival": 1}, "takes": 1, **changes})


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "synth"
    run(small(), out)
    return out


def test_every_voice_says_every_digit_in_the_audiomnist_layout(corpus: Path) -> None:
    card = json.loads((corpus / "corpus.json").read_text())
    assert set(card["engines"]) == {"espeak-ng", "flite", "festival"} and all(card["engines"].values())
    names = [voice["name"] for voice in card["voices"]]
    assert names == ["espeak000", "espeak001", "flite000", "festival000"] and card["clips"] == 40
    files = sorted(p.relative_to(corpus).as_posix() for p in corpus.rglob("*.wav"))
    assert len(files) == 40
    labels = {parse(f, "audiomnist") for f in files}
    assert {(label.digit, label.speaker) for label in labels} == {(d, n) for d in range(10) for n in names}
    for path in corpus.rglob("*.wav"):
        y, sr = sf.read(path)
        assert sr == 8000 and 0.2 < len(y) / sr < 2.5 and 0.15 < np.abs(y).max() <= 0.96, path


def test_two_runs_write_the_same_bytes(corpus: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    run(small(), again)
    files = sorted(p.relative_to(corpus) for p in corpus.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert all((corpus / f).read_bytes() == (again / f).read_bytes() for f in files)


def test_the_seed_draws_other_voices() -> None:
    variants = ["m1", "m2", "f1", "f2"]
    assert draw_voices(small(), variants) == draw_voices(small(), variants)
    assert draw_voices(small(), variants) != draw_voices(small(seed=7), variants)


def test_a_longer_vocal_tract_lowers_the_spectrum() -> None:
    t = np.arange(8000) / 16000
    y = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    for tract, expected in ((1.0, 1000), (0.8, 800), (1.25, 1250)):
        clip = finish(y, 16000, tract, 0.5, 8000)
        peak = np.argmax(np.abs(np.fft.rfft(clip))) * 8000 / len(clip)
        assert abs(peak - expected) < 10 and np.abs(clip).max() == pytest.approx(0.5, abs=1e-3)


def test_a_missing_engine_is_one_line_naming_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no engine on PATH
    with pytest.raises(DigitsError) as caught:
        run(small(), tmp_path / "out")
    message = str(caught.value)
    assert "not installed: espeak-ng, flite, festival" in message and "\n" not in message
    assert "apt-get install espeak-ng flite festival festvox-kallpc16k festvox-us-slt-hts" in message
    assert not (tmp_path / "out").exists()


def test_no_voices_is_an_empty_corpus(tmp_path: Path) -> None:
    run(small(voices={"espeak-ng": 0, "flite": 0, "festival": 0}), tmp_path / "none")
    assert os.listdir(tmp_path / "none") == ["corpus.json"]
